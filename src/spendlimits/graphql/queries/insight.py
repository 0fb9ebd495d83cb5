"""The admin views of insight: the spend ranking and the audit log of limit changes. OWNER, AUDITOR.

(Spend history hangs off User, Organization and Group: types/spend_history.py.)
"""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import strawberry

from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import BadUserInput, parse_id
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.pagination import page_request
from spendlimits.graphql.permissions import require_insight_reader
from spendlimits.graphql.types.limit_change import ChatUsageLimitChange, ChatUsageLimitChangeConnection
from spendlimits.graphql.types.limit_status import ChatUsageLimitStatus, parse_scope
from spendlimits.graphql.types.spend_ranking import ChatSpendRank, ChatSpendRankConnection
from spendlimits.graphql.types.user import User
from spendlimits.insight.audit import ChangeKind, list_changes
from spendlimits.insight.ranking import RankingOrder, ranking

First = Annotated[int | None, strawberry.argument(description="Page size, 1 to 500.")]
After = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")]


def _share(spend: int, limit: int | None) -> float | None:
    return None if limit is None or limit <= 0 else spend / limit


@strawberry.type
class InsightQuery:
    @strawberry.field(
        description=(
            "Users ranked by spend in the period that contains `at` (default now), deleted users "
            "left out; only members of organizationId when given (statuses then scoped to it). "
            'minShareOfLimit keeps users at or above that share (0.8 = "at 80% or more"). OWNER, AUDITOR.'
        )
    )
    async def chat_spend_ranking(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this organization's members, with statuses scoped to it."),
        ] = None,
        order_by: Annotated[RankingOrder | None, strawberry.argument(description="What to rank by.")] = (
            RankingOrder.SPEND_DESC
        ),
        min_share_of_limit: Annotated[
            float | None,
            strawberry.argument(
                description="Only users at or above this share of their limit (unlimited users never)."
            ),
        ] = None,
        at: Annotated[
            datetime | None,
            strawberry.argument(description="Picks the period that contains this instant (default: now)."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> ChatSpendRankConnection:
        require_insight_reader(info.context.principal)
        request = page_request(first, after)
        organization, instant = parse_scope(organization_id, at)
        if min_share_of_limit is not None and not min_share_of_limit >= 0:
            raise BadUserInput("minShareOfLimit must be 0 or more.")
        instant = instant or datetime.now(UTC)
        async with info.context.engine.connect() as conn:
            page = await ranking(
                conn,
                order=order_by or RankingOrder.SPEND_DESC,
                organization_id=organization,
                min_share=min_share_of_limit,
                at=instant,
                limit=request.limit,
                offset=request.offset,
            )
        loaders = info.context.loaders
        users, statuses = await asyncio.gather(
            loaders.user.load_many([r.user_id for r in page.items]),
            loaders.limit_status.load_many([(r.user_id, organization, instant) for r in page.items]),
        )
        nodes = []
        for user, found in zip(users, statuses, strict=True):
            status = required(found, "ranked user's status")
            nodes.append(
                ChatSpendRank(
                    user=User(domain=required(user, "ranked user")),
                    status=ChatUsageLimitStatus(domain=status),
                    share_of_limit=_share(status.spend_micros, status.limit.limit_micros),
                )
            )
        return ChatSpendRankConnection(
            nodes=nodes,
            page_info=request.page_info(len(page.items), page.total_count),
            total_count=page.total_count,
        )

    @strawberry.field(
        description=(
            "Every committed change of the configuration and overrides, newest first; a refused "
            "mutation leaves no entry. Filters combine. OWNER, AUDITOR."
        )
    )
    async def chat_usage_limit_changes(
        self,
        info: Info,
        kind: Annotated[
            ChangeKind | None, strawberry.argument(description="Only changes of this kind.")
        ] = None,
        user_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only changes of this user's override.")
        ] = None,
        group_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only changes of this group's override.")
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> ChatUsageLimitChangeConnection:
        require_insight_reader(info.context.principal)
        request = page_request(first, after)
        user = None if user_id is None else parse_id(user_id, "userId")
        group = None if group_id is None else parse_id(group_id, "groupId")
        async with info.context.engine.connect() as conn:
            page = await list_changes(
                conn, kind=kind, user_id=user, group_id=group, limit=request.limit, offset=request.offset
            )
        return ChatUsageLimitChangeConnection(
            nodes=[ChatUsageLimitChange(domain=c) for c in page.items],
            page_info=request.page_info(len(page.items), page.total_count),
            total_count=page.total_count,
        )
