"""GraphQL over HTTP: how /graphql reads a request and shapes every answer (docs/api.md).

Strawberry's view does the work; this subclass mends where it departs from the GraphQL-over-HTTP
draft:
- a document with several operations and no ``operationName`` is a request error and nothing
  runs (strawberry ran the first operation);
- every refusal is JSON of one shape, ``{"errors": [{"message", "extensions": {"code"}}]}``
  (strawberry answered 400 and 405 as text/plain);
- the answer is ``application/graphql-response+json`` when the client's Accept prefers it, and then
  a request error (nothing executed, so no ``data``) has a 4xx status; ``application/json`` keeps
  the statuses legacy clients know (200 for a document that does not validate).
A mutation sent with GET is 405 with ``Allow: POST`` in both media types: the draft says MUST.
"""

import json
from collections.abc import Mapping
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import DocumentNode, GraphQLSyntaxError, OperationDefinitionNode
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.extensions import ParserCache
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from spendlimits import graphiql
from spendlimits.graphql.context import Context
from spendlimits.graphql.hardening import CACHE_SIZE, MAX_TOKENS
from spendlimits.graphql.schema import schema
from spendlimits.graphql.trusted_documents import TrustedDocumentsView
from spendlimits.settings import Settings

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"

# The LRU the schema's parser cache fills (strawberry shares it between instances of one maxsize),
# called with the same options: a document is still parsed once whichever of the two sees it first.
_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document

#: extensions.code of a request error, by HTTP status, when nothing more precise is known.
_CODE_BY_STATUS = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
#: HTTP status of a request error with graphql-response+json, by the code of its first error.
_STATUS_BY_CODE = {"SERVICE_UNAVAILABLE": 503, "INTERNAL_SERVER_ERROR": 500}


class RequestError(HTTPException):
    """A request refused before any operation ran, with the code its JSON answer carries."""

    def __init__(
        self, status: int, message: str, code: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, message)
        self.code = code
        self.headers = dict(headers or {})


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def response_media_type(accept: str | None) -> str:
    """application/graphql-response+json when the client names it with a weight at least that of
    application/json; application/json otherwise (no Accept, ``*/*``, legacy clients)."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media_range, *params = part.split(";")
        weights.setdefault(media_range.strip().lower(), _q(params))
    wanted = weights.get(GRAPHQL_RESPONSE, 0.0)
    plain = max(weights.get(JSON, 0.0), weights.get("application/*", 0.0), weights.get("*/*", 0.0))
    return GRAPHQL_RESPONSE if wanted > 0 and wanted >= plain else JSON


def error_response(error: HTTPException, media_type: str) -> Response:
    """The JSON answer to a refused request: the same shape as a GraphQL error."""
    if isinstance(error, RequestError):
        code, headers = error.code, error.headers
    else:
        code, headers = _CODE_BY_STATUS.get(error.status_code, "BAD_REQUEST"), {}
    if error.status_code == 405 and "Allow" not in headers:
        headers["Allow"] = "GET, POST"
    body = {"errors": [{"message": error.reason, "extensions": {"code": code}}]}
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=error.status_code,
        headers=headers,
        media_type=media_type,
    )


def _refusal(error: HTTPException) -> RequestError:
    """Strawberry's refusals of an operation, with a code and the draft's status."""
    cause = error.__cause__
    if isinstance(cause, CannotGetOperationTypeError):
        return RequestError(400, error.reason, "OPERATION_RESOLUTION_FAILURE")
    if isinstance(cause, InvalidOperationTypeError):
        return RequestError(405, error.reason, "METHOD_NOT_ALLOWED", {"Allow": "POST"})
    return RequestError(
        error.status_code, error.reason, _CODE_BY_STATUS.get(error.status_code, "BAD_REQUEST")
    )


#: Each named operation starts with one of these; a document with an anonymous operation and any
#: other fails validation (LoneAnonymousOperation), so runs nothing.
_OPERATION_KEYWORDS = ("query", "mutation", "subscription")


def _operation_count(query: str) -> int:
    """Operations in the document (0 if it does not parse; the schema reports that itself)."""
    # Most documents name the keyword once: those skip even the cache lookup.
    if sum(query.count(keyword) for keyword in _OPERATION_KEYWORDS) < 2:
        return 1
    try:
        document: DocumentNode = _parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError:
        return 0
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def _is_request_error(data: GraphQLHTTPResponse) -> bool:
    """Nothing executed: no data, and no error has a path (field errors always have one)."""
    errors: list[Any] = data.get("errors") or []
    return data.get("data") is None and bool(errors) and all("path" not in e for e in errors)


class GraphQLView(TrustedDocumentsView):
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.engine = engine
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = error_response(error, response_media_type(request.headers.get("accept")))
        await response(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            request=request,
            response=response,
            engine=self.engine,
            settings=self.settings,
            principal=request.scope["state"]["principal"],
            started_at=request.scope["state"]["started_at"],
        )

    async def get_sub_response(self, request: Any) -> Response:
        # The sub-response carries the negotiated media type to create_response, which is not
        # given the request.
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Strawberry's own page loads GraphiQL from a CDN and never starts without internet.
        return graphiql.page()

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry turns only JSONDecodeError into a 400. Hostile bodies raise more, and each was
        # a 500: RecursionError for deeply nested arrays, UnicodeDecodeError for bytes that are not
        # UTF-8, ValueError for integers longer than 4,300 digits; and a body that is JSON but not
        # an object (null, 42, "x") failed later with AttributeError.
        try:
            decoded = json.loads(data)
        except (RecursionError, ValueError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "Expected a JSON object.")
        return decoded

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Strawberry runs the first operation when no name is given; the draft (and graphql-js)
        # make it a request error, so that a client that forgot the name never runs a mutation.
        if (
            request_data.operation_name is None
            and request_data.query
            and _operation_count(request_data.query) > 1
        ):
            raise RequestError(
                400,
                "The document has several operations: operationName must name the one to run.",
                "OPERATION_RESOLUTION_FAILURE",
            )
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            raise _refusal(error) from error.__cause__

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status = 200
        if (
            media_type == GRAPHQL_RESPONSE
            and isinstance(response_data, dict)
            and _is_request_error(response_data)
        ):
            # The draft: a response without data has a 4xx or 5xx status, and a request error has
            # no data entry at all.
            errors: list[Any] = response_data.get("errors") or []
            code = str((errors[0].get("extensions") or {}).get("code"))
            status = _STATUS_BY_CODE.get(code, 400)
            response_data = GraphQLHTTPResponse(errors=errors)
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or status,
            media_type=media_type,
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response
