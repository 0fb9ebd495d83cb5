"""Limits on what one GraphQL document may ask for, and the caches that keep checking it cheap.

Validation is most of the CPU a small query costs, so its result is cached per document. The cache
key includes the validation rule classes, so the limit rules are built once, here, at import: the
stock ``QueryDepthLimiter(...)`` and ``MaxAliasesLimiter(...)`` extensions, passed as factories as
strawberry 0.341 asks, build new rule classes per request and the cache never hits (measured: 0 hits
in 50). Every extension here is a class or a factory, so no state is shared between requests except
the module-level LRU caches strawberry keeps for ParserCache and ValidationCache, and the cost
shapes of cost.py.
"""

from collections.abc import Iterator
from contextlib import suppress

from graphql import GraphQLSyntaxError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
)

from spendlimits.graphql.cost import DEFAULT_MAX_COST, CostTooHigh, ShapeCache
from spendlimits.graphql.document_cache import DocumentCache

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


class CachedParser(ParserCache):
    """ParserCache that leaves documents it cannot parse to strawberry's own parse step.

    A syntax error (an oversized document included) raised from this hook would escape the
    operation and reach the client without an error code; raised by strawberry's parse step it is
    reported like any other error. Bad documents are parsed twice, which the token limit bounds.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with suppress(GraphQLSyntaxError):
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        yield


class DocumentLimits(AddValidationRules):
    """Adds the depth and alias rules and the token limit to every operation."""

    def __init__(self) -> None:
        super().__init__(list(LIMIT_RULES))

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
        yield from super().on_operation()


_SHAPES = ShapeCache(CACHE_SIZE)


class CostLimitedDocuments(DocumentCache):
    """DocumentCache, then the cost limit on a valid document, with the request's variables.

    The cost rule is not a graphql-core validation rule because rules never see variables: a
    ``first: $n`` would have to count as the largest page, refusing honest documents. Here the
    document's shape is cached (cost.py) and only the variables are multiplied in per request; no
    extra extension, so the check's hot path pays one dictionary lookup.
    """

    def on_validate(self) -> Iterator[None]:
        cached = super().on_validate()
        next(cached)  # the cached validation, up to its yield
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None and context.query:
            settings = getattr(context.context, "settings", None)
            limit = getattr(settings, "max_query_cost", DEFAULT_MAX_COST)
            shape = _SHAPES.get(
                context.schema._schema, context.query, context.graphql_document, context.operation_name
            )
            estimate = shape.estimate(context.variables)
            if estimate > limit:
                # A new list: the cached one is shared by every request with this document.
                context.pre_execution_errors = [CostTooHigh(estimate, limit)]
        yield
        with suppress(StopIteration):
            next(cached)


EXTENSIONS = (
    DocumentLimits,
    # One lookup by text for parse and validation (graphql/document_cache.py), then the cost limit.
    CostLimitedDocuments,
)
