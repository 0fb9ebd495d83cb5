"""A web page on another localhost port calls the API from a real headless Chromium (CORS).

Run by `make test-browser`. The page's origin is allowed; a page with the same script on a third
port is not, and the browser refuses to hand it the answer.
"""

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role
from tests.chromium import open_page
from tests.conftest import make_token, make_user
from tests.test_graphiql_browser import _answers_healthz, _free_port, chromium  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset="utf-8"><title>web app</title>
<script>
window.result = null;
fetch(new URLSearchParams(location.search).get("api") + "/graphql", {
  method: "POST",
  headers: {"Content-Type": "application/json",
            "Authorization": "Bearer " + new URLSearchParams(location.search).get("token")},
  body: JSON.stringify({query: "{ viewer { username } }"}),
}).then(r => r.json()).then(body => { window.result = JSON.stringify(body); },
                            error => { window.result = "refused: " + error; });
</script>"""


@pytest.fixture
def pages() -> Iterator[tuple[str, str]]:
    """Two static servers of the same page on two free ports: (allowed origin, other origin)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "index.html").write_text(PAGE)
        handler = functools.partial(SimpleHTTPRequestHandler, directory=folder)
        handler.log_message = lambda *_: None  # type: ignore[attr-defined]
        servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            allowed, other = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
            yield allowed, other
        finally:
            for server in servers:
                server.shutdown()
                server.server_close()


@pytest.fixture
def api(database_url: str, pages: tuple[str, str]) -> Iterator[str]:
    """`spendlimits serve` allowing the first page's origin only."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SPENDLIMITS_LOG_LEVEL": "WARNING",
        "SPENDLIMITS_CORS_ORIGINS": pages[0],
    }
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


async def test_a_page_on_an_allowed_origin_calls_the_api_and_another_is_refused(
    chromium: str,  # noqa: F811 - the fixture imported above
    api: str,
    pages: tuple[str, str],
    engine: AsyncEngine,
) -> None:
    token = await make_token(engine, await make_user(engine, Role.OWNER, username="webapp"))
    allowed, other = pages
    async with open_page(chromium, f"{allowed}/index.html?api={api}&token={token}") as page:
        result = await page.wait_for("window.result")
    assert json.loads(result) == {"data": {"viewer": {"username": "webapp"}}}

    async with open_page(chromium, f"{other}/index.html?api={api}&token={token}") as page:
        result = await page.wait_for("window.result")
    assert result.startswith("refused: TypeError")
