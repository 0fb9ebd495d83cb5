"""GraphiQL in a real headless Chromium that can reach nothing but 127.0.0.1.

Run by `make test-browser` (which installs Debian's chromium when it is missing), not by `make test`.
GRAPHIQL_SCREENSHOT=docs/graphiql.png also saves the README's screenshot of the working page.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from spendlimits.graphiql import AUTHORIZATION_PLACEHOLDER
from tests.chromium import Page, find_chromium, open_page
from tests.conftest import make_token

pytestmark = pytest.mark.browser

HEADERS_EDITOR = "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')"
RESULT_EDITOR = "document.querySelector('.result-window .CodeMirror')"


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        reason = "no Chromium installed: `make test-browser` installs Debian's chromium with apt-get"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {reason}")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """`spendlimits serve`, as `make run` starts it, on a free port of 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SPENDLIMITS_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
            [sys.executable, "-m", "spendlimits", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not _answers_healthz(base, process):
                output.seek(0)
                pytest.fail(f"the server did not start:\n{output.read().decode(errors='replace')}")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _answers_healthz(base: str, process: "subprocess.Popen[bytes]", attempts: int = 300) -> bool:
    """Polls /healthz until it answers 200, for up to 30 s, unless the server exits first."""
    with httpx.Client(base_url=base, timeout=2) as http:
        for _ in range(attempts):
            try:
                if http.get("/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            return False
    return False


@pytest.fixture
async def token(engine: AsyncEngine, owner: User) -> str:
    return await make_token(engine, owner)


async def _editor_text(page: Page, editor: str) -> str:
    text: str = await page.evaluate(f"{editor}.CodeMirror.getValue()")
    return text


async def test_graphiql_runs_a_saved_query_with_a_pasted_token_and_no_network(
    chromium: str, server: str, token: str
) -> None:
    async with open_page(chromium, f"{server}/graphql") as page:
        await page.wait_for(f"!!{HEADERS_EDITOR}")
        tabs = await page.evaluate(
            "[...document.querySelectorAll('.graphiql-tab-button')].map(t => t.textContent)"
        )
        assert tabs == ["MyUsage", "MyStatusLive", "AdminSpendConfig", "DaemonCheck"]
        assert AUTHORIZATION_PLACEHOLDER in await _editor_text(page, HEADERS_EDITOR)

        headers = json.dumps({"Authorization": f"Bearer {token}"}, indent=2)
        await page.evaluate(f"{HEADERS_EDITOR}.CodeMirror.setValue({json.dumps(headers)})")
        # The schema loads once the headers hold a token: the docs then list the root types.
        await page.evaluate("document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()")
        await page.wait_for(
            "document.querySelector('.graphiql-doc-explorer')?.textContent.includes('mutation: Mutation')"
        )
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        result = json.loads(
            await page.wait_for(
                f"(() => {{ const v = {RESULT_EDITOR}.CodeMirror.getValue(); return v.includes('\"data\"') && v; }})()"
            )
        )

        assert "errors" not in result, result
        assert result["data"]["viewer"]["username"] == "owner"
        assert result["data"]["myChatUsageLimitStatus"]["limitSource"] == "DISABLED"
        fetched = [url for url in page.requests if not url.startswith("data:")]
        assert fetched and all(url.startswith(f"{server}/") for url in fetched), fetched
        assert page.errors == []

        if screenshot := os.environ.get("GRAPHIQL_SCREENSHOT"):
            # The token of this throwaway database still does not belong in a picture.
            masked = json.dumps({"Authorization": f"Bearer {token[:8]}…"}, indent=2, ensure_ascii=False)
            await page.evaluate(f"{HEADERS_EDITOR}.CodeMirror.setValue({json.dumps(masked)})")
            await page.wait_for(f"!{HEADERS_EDITOR}.textContent.includes({json.dumps(token)})")
            await page.screenshot(Path(screenshot))
