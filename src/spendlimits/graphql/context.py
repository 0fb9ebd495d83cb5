"""What every resolver can reach: the engine, the caller and this request's DataLoaders."""

import time
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
    #: time.monotonic() when the request arrived, before its token was verified.
    started_at: float
    #: Fresh per request: DataLoader caches must never outlive the request that filled them.
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine)

    def decision_budget(self) -> float:
        """Seconds left for an admission decision (check or reserve) in this request.

        The caller waits for one SPENDLIMITS_CHECK_TIMEOUT_MS in all, token verification included:
        against a hung database, verification uses up the budget (and is answered from the outage
        cache) and the decision then fails open or closed at once instead of waiting a second time.
        """
        elapsed = time.monotonic() - self.started_at
        return max(self.settings.check_timeout_ms / 1000 - elapsed, 0.0)


Info = _Info[Context, None]
