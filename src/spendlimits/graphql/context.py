"""What every resolver can reach: the engine, the caller and this request's DataLoaders."""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as _Info

from spendlimits.auth.principal import Principal
from spendlimits.graphql.loaders import Loaders
from spendlimits.settings import Settings


@dataclass(slots=True)
class Context:
    request: Request
    response: Response | None
    engine: AsyncEngine
    settings: Settings
    principal: Principal
    #: Fresh per request: DataLoader caches must never outlive the request that filled them.
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine)


Info = _Info[Context, None]
