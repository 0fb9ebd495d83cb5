"""Playwright (Python) on Debian's Chromium, limited to the console's server: every request to any
other address is aborted and recorded, so a test can assert the page needed nothing from elsewhere."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, ViewportSize, expect

from tests.console.conftest import ARTIFACTS, Console

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
#: CONSOLE_DOCS_SCREENSHOTS=docs also writes the two pictures docs/console.md shows.
DOCS_PICTURES = {"users": "console-users.png", "member": "console-member.png"}


@dataclass
class Tab:
    page: Page
    console: Console
    #: Requests the page tried to send anywhere but the console's server (each one aborted).
    blocked: list[str] = field(default_factory=list)
    #: Console errors and uncaught exceptions (CSP violations among them).
    errors: list[str] = field(default_factory=list)

    def open(self, path: str = "/console/") -> None:
        self.page.goto(f"{self.console.base}{path}")

    def sign_in(self, token: str) -> None:
        self.open("/console/")
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()

    def go(self, link: str) -> None:
        self.page.get_by_role("navigation", name="Console").get_by_role("link", name=link).click()

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        docs = os.environ.get("CONSOLE_DOCS_SCREENSHOTS")
        if docs and name in DOCS_PICTURES:
            self.page.screenshot(path=Path(docs) / DOCS_PICTURES[name])

    def assert_stayed_local(self) -> None:
        assert self.blocked == [], f"the page tried to reach other hosts: {self.blocked}"


@contextmanager
def open_tab(browser: Browser, console: Console, viewport: ViewportSize = DESKTOP) -> Iterator[Tab]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    tab = Tab(page, console)

    def only_the_console(route: Route) -> None:
        if route.request.url.startswith(f"{console.base}/"):
            route.continue_()
        else:
            tab.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_console)
    page.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


def users(console: Console) -> list[dict[str, Any]]:
    data = console.graphql(
        console.owner_token,
        """{ users(first: 200) { nodes { id username role isSystem chatSpendLimitMicros
             effectiveChatSpendLimit { source limitMicros group { id } } organizations { id }
             chatUsageLimitStatus { currentSpendMicros } } } }""",
    )
    return list(data["users"]["nodes"])


#: Members a test has changed: each test takes its own, so their order does not matter.
_TAKEN: set[str] = set()


def take_member(console: Console, source: str, spent: bool = False) -> dict[str, Any]:
    """A demo member (no system account) whose limit comes from `source`, not taken by another test."""
    for user in users(console):
        if (
            user["role"] == "MEMBER"
            and not user["isSystem"]
            and user["effectiveChatSpendLimit"]["source"] == source
            and (not spent or user["chatUsageLimitStatus"]["currentSpendMicros"] > 0)
            and user["username"] not in _TAKEN
            and user["username"] != console.member_username
        ):
            _TAKEN.add(user["username"])
            return user
    raise AssertionError(f"the demo has no free member whose limit comes from {source}")


def search(tab: Tab, username: str) -> Locator:
    """Searches the Users table for one user and returns their row."""
    tab.page.get_by_label("Search users").fill(username)
    row = tab.page.locator(f'tr[data-username="{username}"]')
    expect(row).to_be_visible()
    expect(tab.page.locator("tbody tr")).to_have_count(1)
    return row


def record_spend(console: Console, username: str, micros: int) -> None:
    """A priced message in a new chat of the user, recorded through the API as the daemon would."""
    user = next(u for u in users(console) if u["username"] == username)
    chat = console.graphql(
        console.owner_token,
        """mutation($owner: ID!, $org: ID!) { createChat(input: {ownerId: $owner, organizationId: $org,
             title: "console test"}) { chat { id } errors { message } } }""",
        {"owner": user["id"], "org": user["organizations"][0]["id"]},
    )["createChat"]
    assert chat["errors"] == [], chat
    recorded = console.graphql(
        console.owner_token,
        """mutation($chat: ID!, $cost: Micros!, $key: String!) { recordChatMessage(input: {chatId: $chat,
             role: ASSISTANT, totalCostMicros: $cost, idempotencyKey: $key}) { message { id } errors { message } } }""",
        {"chat": chat["chat"]["id"], "cost": micros, "key": uuid.uuid4().hex},
    )["recordChatMessage"]
    assert recorded["errors"] == [], recorded


def require_field(console: Console, type_name: str, field_name: str, work: str) -> None:
    """Skips a test whose screen needs type_name.field_name when this server lacks it.

    The screens light up by themselves once the server has the field, and so do these tests.
    CONSOLE_REQUIRE_INSIGHT=1 (for CI after the merge) makes a missing field a failure instead.
    """
    if console.has_field(type_name, field_name):
        return
    reason = f"this server has no {type_name}.{field_name} yet ({work}); the test runs once it has"
    if os.environ.get("CONSOLE_REQUIRE_INSIGHT") == "1":
        pytest.fail(f"CONSOLE_REQUIRE_INSIGHT=1 but {reason}")
    pytest.skip(reason)
