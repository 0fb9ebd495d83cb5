"""A time and size budget per GraphQL request, and execution that hands the event loop back often.

Three parts, each cheap where the admission check runs:

- ``SlicedExecution`` completes long lists (more than ``SLICE`` items) one slice at a time: the
  items of a slice, their fields and their DataLoader batches are completed before the next slice
  starts, with a turn of the event loop in between. graphql-core otherwise completes a page of 500
  users, and each DataLoader then processes 500 keys, in stretches that held the loop for 130-240
  ms with the heaviest document the cost limit accepts (bench/loop_lag.py); sliced, about 100 ms.
  The price: a page of 500 runs 5 statements per loader instead of 1 and takes about 25% longer.
  Lists of up to ``SLICE`` items (a page of 100 included) and fields that are not lists are
  completed exactly as before: the check's path never reaches this code.
- ``RequestBudget`` (ASGI) runs the request under ``asyncio.timeout``: past the time budget the
  request is cancelled at its next await (a database round trip, or a slice boundary above) and
  answered with ``QUERY_TIMEOUT``. No extension hooks each field for this, so the per-field path
  pays nothing.
- The same layer holds the response until it is complete, and answers ``RESPONSE_TOO_LARGE``
  instead when the body is over the size budget: a client gets either the whole answer or a clear
  error, never a cut-off body.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterable, Iterable
from functools import cache
from typing import Any, cast

from graphql import GraphQLList, GraphQLOutputType, GraphQLResolveInfo
from graphql.pyutils import Path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

log = logging.getLogger(__name__)

#: Items completed between two yields to the event loop. A page of 100 (the admin pages' size) is
#: still one batch per DataLoader, so its statement count is unchanged.
SLICE = 100


@cache
def _offset_path(offset: int) -> type[Path]:
    """A Path whose list indices start at ``offset``: errors in a later slice keep their true index."""

    class OffsetPath(Path):
        def add_key(self, key: str | int, typename: str | None = None) -> Path:
            return Path(self, key + offset if isinstance(key, int) else key, typename)

    return OffsetPath


class SlicedExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with long lists completed slice after slice, yielding in between."""

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: AsyncIterable[Any] | Iterable[Any],
        position_context: Any,
    ) -> Any:
        if isinstance(result, list) and len(result) > SLICE:
            return self._complete_in_slices(
                return_type.of_type, field_details_list, info, path, result, position_context
            )
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    async def _complete_in_slices(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: list[Any],
        position_context: Any,
    ) -> list[Any]:
        completed: list[Any] = []
        for start in range(0, len(items), SLICE):
            if start:
                # One turn of the loop for other requests; a cancellation by the time budget
                # lands here too.
                await asyncio.sleep(0)
            at = _offset_path(start)(path.prev, path.key, path.typename) if start else path
            part = self.complete_iterable_value(
                item_type, field_details_list, info, at, items[start : start + SLICE], position_context
            )
            # Awaited before the next slice starts: its DataLoader batches and their results are
            # one slice's worth of work, not the whole list's.
            completed.extend(cast(list[Any], await part if self.is_awaitable(part) else part))
        return completed


def _refusal(message: str, code: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return headers, body


class RequestBudget:
    """Stops a request past ``timeout_s`` (0: no limit) or with a response over ``max_bytes``."""

    def __init__(self, app: ASGIApp, timeout_s: float, max_bytes: int) -> None:
        self.app = app
        self.timeout_s = timeout_s or None
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        sent = False

        async def held(message: Message) -> None:
            # The response leaves only once complete: until then, a timeout or an oversized body can
            # still be answered with an error instead.
            nonlocal start, size, sent
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or sent:
                await send(message)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.max_bytes:
                chunks.append(chunk)
            if message.get("more_body", False):
                return
            assert start is not None
            sent = True
            if size > self.max_bytes:
                await self._refuse(
                    send,
                    f"The response would be {size:,} bytes, over the limit of {self.max_bytes:,}: "
                    "ask for smaller pages or fewer fields.",
                    "RESPONSE_TOO_LARGE",
                )
                return
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks)})

        try:
            async with asyncio.timeout(self.timeout_s):
                await self.app(scope, receive, held)
        except TimeoutError:
            if sent:
                raise
            log.warning("a request ran past its time budget of %s s and was stopped", self.timeout_s)
            await self._refuse(
                send,
                f"The request ran past its time budget of {self.timeout_s:g} s and was stopped: ask for "
                "smaller pages or fewer fields.",
                "QUERY_TIMEOUT",
            )

    @staticmethod
    async def _refuse(send: Send, message: str, code: str) -> None:
        headers, body = _refusal(message, code)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
