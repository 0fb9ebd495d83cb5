"""The schema: every area's Query and Mutation fields merged, with the request-wide extensions."""

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from spendlimits.graphql.budget import SlicedExecution
from spendlimits.graphql.mutations.api_tokens import ApiTokenMutation
from spendlimits.graphql.mutations.chat_models import ChatModelMutation
from spendlimits.graphql.mutations.chats import ChatMutation
from spendlimits.graphql.mutations.groups import GroupMutation
from spendlimits.graphql.mutations.limits import LimitsMutation
from spendlimits.graphql.mutations.messages import MessageMutation
from spendlimits.graphql.mutations.organizations import OrganizationMutation
from spendlimits.graphql.mutations.reservations import ReservationsMutation
from spendlimits.graphql.mutations.users import UserMutation
from spendlimits.graphql.queries.api_tokens import ApiTokensQuery
from spendlimits.graphql.queries.directory import DirectoryQuery
from spendlimits.graphql.queries.insight import InsightQuery
from spendlimits.graphql.queries.limits import LimitsQuery
from spendlimits.graphql.queries.reservations import ReservationsQuery
from spendlimits.graphql.queries.viewer import ViewerQuery
from spendlimits.graphql.request_hooks import RequestHooks
from spendlimits.graphql.scalars import SCALAR_MAP
from spendlimits.graphql.subscriptions import Subscription

Query = merge_types(
    "Query", (ViewerQuery, DirectoryQuery, LimitsQuery, ReservationsQuery, InsightQuery, ApiTokensQuery)
)
Query.__strawberry_definition__.description = "What can be read; each field says who may read it."  # type: ignore[attr-defined] # merge_types takes no description
Mutation = merge_types(
    "Mutation",
    (
        LimitsMutation,
        OrganizationMutation,
        UserMutation,
        GroupMutation,
        ChatModelMutation,
        ApiTokenMutation,
        ChatMutation,
        MessageMutation,
        ReservationsMutation,
    ),
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined] # merge_types takes no description
    "What can be changed. Expected failures come back as data (errors: [UserError!]!) and write nothing."
)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error at ERROR with a traceback, so any client could flood the log
        # with bad documents. errors.assign_codes already logs what is ours: unexpected errors with their
        # trace, database outages as warnings; the rest is the client's and is answered, not logged.
        return


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    # One extension for the document limits and cache, error codes and the operation's record.
    extensions=[RequestHooks],
    # Long lists are completed in slices that hand the event loop back (graphql/budget.py).
    execution_context_class=SlicedExecution,
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
