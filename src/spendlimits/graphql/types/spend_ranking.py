"""The ranking's types: ChatSpendRankingOrder, ChatSpendRank and its connection."""

import strawberry

from spendlimits.graphql.descriptions import described_enum
from spendlimits.graphql.pagination import PageInfo
from spendlimits.graphql.types.limit_status import ChatUsageLimitStatus
from spendlimits.graphql.types.user import User
from spendlimits.insight.ranking import RankingOrder

described_enum(
    RankingOrder,
    "ChatSpendRankingOrder",
    "How the ranking orders users. Ties: higher spend, then username.",
    {
        "SPEND_DESC": "Highest currentSpendMicros first.",
        "SHARE_OF_LIMIT_DESC": "Highest share of the effective limit first; unlimited users last.",
    },
)


@strawberry.type(description="One user's place in the ranking.")
class ChatSpendRank:
    user: User = strawberry.field(description="The ranked user.")
    status: ChatUsageLimitStatus = strawberry.field(
        description="The same status chatUsageLimitStatus(organizationId, at) gives."
    )
    share_of_limit: float | None = strawberry.field(
        description="currentSpendMicros / spendLimitMicros (1.0 = at the limit); null when unlimited."
    )


@strawberry.type(description="A page of the ranking.")
class ChatSpendRankConnection:
    nodes: list[ChatSpendRank] = strawberry.field(description="The ranks of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many users the ranking has (after minShareOfLimit).")
