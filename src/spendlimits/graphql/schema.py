"""The schema: every area's Query and Mutation fields merged, with the request-wide extensions."""

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from spendlimits.graphql.errors import ErrorCodes
from spendlimits.graphql.queries.viewer import ViewerQuery
from spendlimits.graphql.scalars import SCALAR_MAP

Query = merge_types("Query", (ViewerQuery,))

schema = strawberry.Schema(
    query=Query,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    extensions=[ErrorCodes],
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
