"""Playwright (Python) on Debian's Chromium, limited to the console's server: every request to any
other address is aborted and recorded, so a test can assert the page needed nothing from elsewhere."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, expect

from tests.console.conftest import ARTIFACTS, Console

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
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
def open_tab(browser: Browser, console: Console, viewport: dict[str, int] = DESKTOP) -> Iterator[Tab]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
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
