"""Limits on what one GraphQL document may ask for, and the caches that keep checking it cheap.

Validation is most of the CPU a small query costs, so its result is cached per document. The cache
key includes the validation rule classes, so the limit rules are built once, here, at import: the
stock ``QueryDepthLimiter(...)`` and ``MaxAliasesLimiter(...)`` extensions, passed as factories as
strawberry 0.341 asks, build new rule classes per request and the cache never hits (measured: 0 hits
in 50). The limits are functions the schema's one extension calls (graphql/request_hooks.py); no
state is shared between requests except the caches of document_cache.py and the cost shapes of
cost.py.
"""

from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from spendlimits.graphql.cost import DEFAULT_MAX_COST, CostTooHigh, ShapeCache

#: Levels of fields below an operation's root field; useful paths through the schema need about 7
#: (users > nodes > groups > members > nodes > organizations > everyoneGroup > id).
MAX_DEPTH = 10
#: Aliased fields per document: enough for a dashboard, too few to multiply an expensive field.
MAX_ALIASES = 30
#: Lexical tokens per document; the parser stops counting past it, before building anything.
MAX_TOKENS = 2000
#: Distinct documents whose parse and validation results are kept.
CACHE_SIZE = 256

# Built once so that the same classes reach the validation cache on every request.
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


def limit_document(context: ExecutionContext) -> None:
    """Before parsing: the token limit for the parser, the depth and alias rules for validation."""
    context.parse_options["max_tokens"] = MAX_TOKENS
    context.validation_rules = context.validation_rules + LIMIT_RULES


_SHAPES = ShapeCache(CACHE_SIZE)


def limit_cost(context: ExecutionContext) -> None:
    """After validation: the cost limit on a valid document, with the request's variables.

    The cost rule is not a graphql-core validation rule because rules never see variables: a
    ``first: $n`` would have to count as the largest page, refusing honest documents. Here the
    document's shape is cached (cost.py) and only the variables are multiplied in per request: the
    check's hot path pays one dictionary lookup.
    """
    if context.pre_execution_errors or context.graphql_document is None or not context.query:
        return
    settings = getattr(context.context, "settings", None)
    limit = getattr(settings, "max_query_cost", DEFAULT_MAX_COST)
    shape = _SHAPES.get(
        context.schema._schema, context.query, context.graphql_document, context.operation_name
    )
    estimate = shape.estimate(context.variables)
    if estimate > limit:
        # A new list: the cached one is shared by every request with this document.
        context.pre_execution_errors = [CostTooHigh(estimate, limit)]
