"""Trusted documents: operations registered by hash at build time, sent by hash at run time.

The registry is ``static/trusted-documents.json``, an object {sha256 hex of the document text:
the text}, written at build time from the client's operations (GraphQL Code Generator's
persisted documents, `make client`). Every key is checked against its text
and every document parsed and validated against the schema when the registry loads, so a bad
registry stops the server at start-up instead of failing requests.

A request names a document in one of two ways:

- ``{"documentId": "sha256:<hex>"}`` (or bare ``<hex>``), as GraphQL-over-HTTP's persisted
  documents propose;
- ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}``, Apollo's
  automatic persisted queries (APQ). Nothing is registered at run time: only build-time documents.

Either is replaced by the registered text before strawberry sees the request. The text is the
registry's own string object every time, so strawberry's parser and validation caches find it at
once (hash cached on the string, identity of the parsed document): a registered document is parsed
and validated once per process. An unknown hash is answered as APQ clients expect:
``PERSISTED_QUERY_NOT_FOUND`` in ``errors`` with HTTP 200.

``SPENDLIMITS_TRUSTED_DOCUMENTS_ONLY=true`` refuses any document text that is not registered
(``TRUSTED_DOCUMENT_REQUIRED``), as production GraphQL deployments do so that clients can run
only the operations that were reviewed and built.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError, GraphQLSchema, parse, specified_rules, validate
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.types import QueryParams
from strawberry.types import ExecutionResult

from spendlimits.graphql.context import Context
from spendlimits.settings import Settings

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "static" / "trusted-documents.json"
_HEX = re.compile(r"[0-9a-f]{64}")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"


class RegistryError(ValueError):
    """The registry file cannot be used: a key that is not its text's hash, or an invalid document."""


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request's document was not found or not accepted; answered instead of executing it."""

    code: str
    message: str

    def as_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


#: The extensions key that carries a Refusal from the request body to execution. Its value is a
#: Python object, which no JSON body can produce.
REFUSAL_KEY = "spendlimits.trustedDocumentRefusal"


class Registry:
    """Registered documents by hash, and the set of registered texts for the only-registered mode."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self._by_hash = dict(documents)
        self._texts = set(self._by_hash.values())

    def __len__(self) -> int:
        return len(self._by_hash)

    @classmethod
    def load(cls, path: Path, schema: GraphQLSchema, extra_rules: tuple[Any, ...] = ()) -> "Registry":
        """Reads and checks a registry file; a missing file is an empty registry."""
        if not path.exists():
            return cls({})
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise RegistryError(f"{path}: expected a JSON object of sha256 hex to document text.")
        rules = (*specified_rules, *extra_rules)
        for key, text in raw.items():
            if not isinstance(text, str) or not _HEX.fullmatch(key) or document_hash(text) != key:
                raise RegistryError(f"{path}: the key {key!r} is not the sha256 of its document's text.")
            errors = validate(schema, parse(text), rules)
            if errors:
                raise RegistryError(f"{path}: document {key} does not validate: {errors[0].message}")
        return cls(raw)

    def lookup(self, document_id: object) -> str | None:
        """The text for "sha256:<hex>" or a bare hex hash; None when unknown or malformed."""
        if not isinstance(document_id, str):
            return None
        digest = document_id.removeprefix("sha256:").lower()
        return self._by_hash.get(digest)

    def expand(self, data: object, only_registered: bool) -> object:
        """The request with a document id replaced by its registered text, or marked refused."""
        if not isinstance(data, dict):
            return data
        extensions = data.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        query = data.get("query")
        if "documentId" in data:
            text = self.lookup(data["documentId"])
            if text is None:
                return _refused(data, NOT_FOUND, "Unknown documentId: no registered document has this hash.")
            return {**data, "query": text}
        if isinstance(persisted, dict) and not query:
            text = self.lookup(persisted.get("sha256Hash"))
            if text is None:
                # APQ clients retry with the text on exactly this message and code.
                return _refused(data, NOT_FOUND, "PersistedQueryNotFound")
            return {**data, "query": text}
        if only_registered and query is not None and query not in self._texts:
            return _refused(
                data, REQUIRED, "This server runs registered (trusted) documents only: send a documentId."
            )
        return data


def _refused(data: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    given = data.get("extensions")
    extensions: dict[str, Any] = given if isinstance(given, dict) else {}
    # A query is kept so strawberry does not answer "no query" first; it never runs.
    return {
        **data,
        "query": "{ __typename }",
        "extensions": {**extensions, REFUSAL_KEY: Refusal(code, message)},
    }


@cache
def default_registry() -> Registry:
    """The package's registry, loaded and checked once per process."""
    from spendlimits.graphql.hardening import LIMIT_RULES
    from spendlimits.graphql.schema import schema

    return Registry.load(REGISTRY_PATH, schema._schema, LIMIT_RULES)


def refusal_of(extensions: Mapping[str, Any] | None) -> Refusal | None:
    found = extensions.get(REFUSAL_KEY) if extensions else None
    return found if isinstance(found, Refusal) else None


class TrustedDocumentsView(GraphQL[Context, None]):
    """strawberry's ASGI view, reading documentId and APQ hashes (the hook: subclass this)."""

    settings: Settings
    #: parse_query_params decodes its variables and extensions with parse_json; those are not
    #: requests and must not be expanded. Set around a synchronous call, so safe under asyncio.
    _in_query_params = False

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET that names its document by hash has no query= but is a request, not a browser.
        params = request.query_params
        if params.get("documentId") is not None or "persistedQuery" in (params.get("extensions") or ""):
            return False
        return super().should_render_graphql_ide(request)

    def parse_json(self, data: str | bytes) -> Any:
        decoded = super().parse_json(data)
        if self._in_query_params:
            return decoded
        return default_registry().expand(decoded, self.settings.trusted_documents_only)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        self._in_query_params = True
        try:
            data = super().parse_query_params(params)
        finally:
            self._in_query_params = False
        expanded = default_registry().expand(data, self.settings.trusted_documents_only)
        assert isinstance(expanded, dict)
        return expanded

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        refusal = refusal_of(request_data.extensions)
        if refusal is not None:
            return ExecutionResult(data=None, errors=[refusal.as_error()])
        return await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )
