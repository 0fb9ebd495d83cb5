"""Limits on what one GraphQL document may ask for, and the caches that keep checking it cheap.

Validation is most of the CPU a small query costs, so its result is cached per document. The cache
key includes the validation rule classes, so the limit rules are built once, here, at import: the
stock ``QueryDepthLimiter(...)`` and ``MaxAliasesLimiter(...)`` extensions, passed as factories as
strawberry 0.341 asks, build new rule classes per request and the cache never hits (measured: 0 hits
in 50). Every extension here is a class or a factory, so no state is shared between requests except
the module-level LRU caches strawberry keeps for ParserCache and ValidationCache.
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


EXTENSIONS = (
    DocumentLimits,
    # Replaces CachedParser and ValidationCache: one lookup by text (graphql/document_cache.py).
    DocumentCache,
)
