"""The time and size budget per request, and long lists completed in slices."""

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.auth.principal import Role
from spendlimits.directory.users import User
from spendlimits.graphql import budget
from spendlimits.settings import Settings
from tests.conftest import GraphQLClient, make_token, make_user

USERS = "query Users($n: Int) { users(first: $n) { nodes { username chatUsageLimitStatus { exceeded } } } }"


async def client_with(engine: AsyncEngine, settings: Settings, owner: User) -> AsyncIterator[GraphQLClient]:
    app = create_app(engine, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield GraphQLClient(http, await make_token(engine, owner))


def only_error(response: httpx.Response, code: str) -> str:
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    message: str = error["message"]
    return message


@pytest.fixture
async def users(engine: AsyncEngine) -> list[User]:
    return [await make_user(engine, Role.MEMBER, username=f"u{i:03d}") for i in range(2 * budget.SLICE + 5)]


async def test_a_response_over_the_size_budget_is_replaced_by_a_clear_error(
    engine: AsyncEngine, settings: Settings, owner: User, users: list[User]
) -> None:
    async for small in client_with(engine, replace(settings, max_response_bytes=2048), owner):
        assert "errors" not in await small.execute(USERS, {"n": 5})
        message = only_error(await small.post(USERS, {"n": 200}), "RESPONSE_TOO_LARGE")
        assert "over the limit of 2,048" in message


async def test_a_request_past_its_time_budget_stops_with_a_clear_error_and_the_service_goes_on(
    engine: AsyncEngine, settings: Settings, owner: User, users: list[User]
) -> None:
    async for hurried in client_with(engine, replace(settings, request_timeout_ms=1), owner):
        message = only_error(await hurried.post(USERS, {"n": 200}), "QUERY_TIMEOUT")
        assert "time budget of 0.001 s" in message
    # The cancelled request left the pool usable: the next ones, on the same engine, are answered.
    async for patient in client_with(engine, settings, owner):
        data = await patient.data(USERS, {"n": 200})
        assert len(data["users"]["nodes"]) == 200


async def test_long_lists_are_completed_in_slices_in_order_with_true_indices(
    as_owner: GraphQLClient, users: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    slices: list[tuple[int, list[str | int]]] = []
    complete = budget.SlicedExecution.complete_iterable_value

    def spy(
        self: budget.SlicedExecution, item_type: Any, fields: Any, info: Any, path: Any, items: Any, pc: Any
    ) -> Any:
        if info.field_name == "nodes":
            # Where the slice's first item is reported (in errors): its index in the whole list.
            slices.append((len(items), path.add_key(0).as_list()))
        return complete(self, item_type, fields, info, path, items, pc)

    monkeypatch.setattr(budget.SlicedExecution, "complete_iterable_value", spy)
    count = len(users) + 1  # the owner too
    data = await as_owner.data(USERS, {"n": count})
    names = [n["username"] for n in data["users"]["nodes"]]
    assert names == sorted(names) and len(names) == count
    size = budget.SLICE
    assert slices == [
        (size, ["users", "nodes", 0]),
        (size, ["users", "nodes", size]),
        (count - 2 * size, ["users", "nodes", 2 * size]),
    ]
