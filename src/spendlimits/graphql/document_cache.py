"""Parse and validation results per document text, kept together: a document is parsed and
validated once per process, and a request that sends it again costs one dictionary lookup.

strawberry's ParserCache and ValidationCache key their LRU caches differently: the parser's by
the text, the validator's by the parsed DocumentNode, whose hash walks the whole tree (graphql-core
3.3's nodes are dataclasses; ~100 hashes per request for the daemon's check). Keyed by the text,
whose hash Python keeps on the string (a trusted document's text is the same string object each
time), the lookup is constant. Documents that do not parse are left to strawberry's own parse step,
which reports them like any other error. Called from the schema's extension
(graphql/request_hooks.py) before strawberry's own parse and validation steps, which then find
the document and its errors in place and skip.
"""

from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, parse
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from spendlimits.graphql.hardening import CACHE_SIZE


@dataclass(frozen=True, slots=True)
class _Entry:
    document: DocumentNode
    #: The rules the errors were computed with; a request with other rules validates afresh.
    rules: tuple[Any, ...] | None
    errors: list[GraphQLError] | None


#: Shared by every request of the process; asyncio runs one hook at a time.
_entries: "OrderedDict[str, _Entry]" = OrderedDict()


def cached_parse(context: ExecutionContext) -> None:
    """Sets the request's parsed document from the cache, parsing (and keeping) it on a miss."""
    query = context.query
    if query is None:
        return
    entry = _entries.get(query)
    if entry is None:
        with suppress(GraphQLSyntaxError):
            document = parse(query, **context.parse_options)
            _store(query, _Entry(document, None, None))
            context.graphql_document = document
    else:
        context.graphql_document = entry.document


def cached_validate(context: ExecutionContext) -> None:
    """Sets the request's validation errors (None or a list) from the cache, validating on a miss."""
    query, document = context.query, context.graphql_document
    rules = tuple(context.validation_rules)
    entry = _entries.get(query) if query is not None else None
    if entry is not None and entry.document is document and entry.rules == rules:
        context.pre_execution_errors = entry.errors
    elif document is not None:
        errors = validate_document(context.schema._schema, document, rules)
        context.pre_execution_errors = errors
        if query is not None and entry is not None and entry.document is document:
            _store(query, _Entry(document, rules, errors))


def _store(query: str, entry: _Entry) -> None:
    _entries[query] = entry
    _entries.move_to_end(query)
    while len(_entries) > CACHE_SIZE:
        _entries.popitem(last=False)
