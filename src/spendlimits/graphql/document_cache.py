"""Parse and validation results per document text, kept together: a document is parsed and
validated once per process, and a request that sends it again costs one dictionary lookup.

strawberry's ParserCache and ValidationCache key their LRU caches differently: the parser's by
the text, the validator's by the parsed DocumentNode, whose hash walks the whole tree (graphql-core
3.3's nodes are dataclasses; ~100 hashes per request for the daemon's check). Keyed by the text,
whose hash Python keeps on the string (a trusted document's text is the same string object each
time), the lookup is constant. Documents that do not parse are left to strawberry's own parse step,
which reports them like any other error.
"""

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document


@dataclass(frozen=True, slots=True)
class _Entry:
    document: DocumentNode
    #: The rules the errors were computed with; a request with other rules validates afresh.
    rules: tuple[Any, ...] | None
    errors: list[GraphQLError] | None


class DocumentCache(SchemaExtension):
    """ParserCache and ValidationCache in one, keyed by the document's text (bounded LRU)."""

    #: Shared by every request of the process; asyncio runs one hook at a time.
    _entries: ClassVar["OrderedDict[str, _Entry]"] = OrderedDict()
    maxsize = 256

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None:
            entry = self._entries.get(query)
            if entry is None:
                with suppress(GraphQLSyntaxError):
                    document = parse(query, **context.parse_options)
                    self._store(query, _Entry(document, None, None))
                    context.graphql_document = document
            else:
                context.graphql_document = entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        rules = tuple(context.validation_rules)
        entry = self._entries.get(query) if query is not None else None
        if entry is not None and entry.document is document and entry.rules == rules:
            context.pre_execution_errors = entry.errors
        elif document is not None:
            errors = validate_document(context.schema._schema, document, rules)
            context.pre_execution_errors = errors
            if query is not None and entry is not None and entry.document is document:
                self._store(query, _Entry(document, rules, errors))
        yield

    @classmethod
    def _store(cls, query: str, entry: _Entry) -> None:
        entries = cls._entries
        entries[query] = entry
        entries.move_to_end(query)
        while len(entries) > cls.maxsize:
            entries.popitem(last=False)
