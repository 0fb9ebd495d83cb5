"""GraphiQL's MyStatusLive tab runs the subscription over WebSocket in a real browser, offline."""

import json

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from tests.chromium import open_page
from tests.conftest import make_token
from tests.test_graphiql_browser import HEADERS_EDITOR, RESULT_EDITOR, chromium, server

pytestmark = pytest.mark.browser
__all__ = ["chromium", "server"]


async def test_the_live_tab_streams_the_status(
    chromium: str, server: str, engine: AsyncEngine, owner: User
) -> None:
    token = await make_token(engine, owner)
    async with open_page(chromium, f"{server}/graphql") as page:
        await page.wait_for(f"!!{HEADERS_EDITOR}")
        await page.evaluate(
            "[...document.querySelectorAll('.graphiql-tab-button')].find(t => t.textContent === 'MyStatusLive').click()"
        )
        await page.wait_for(
            "document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror.getValue()"
            ".includes('subscription MyStatusLive')"
        )
        headers = json.dumps({"Authorization": f"Bearer {token}"}, indent=2)
        await page.evaluate(f"{HEADERS_EDITOR}.CodeMirror.setValue({json.dumps(headers)})")
        # GraphiQL tells a subscription from a query once it has the schema (loaded when the token is in).
        await page.evaluate("document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()")
        await page.wait_for(
            "document.querySelector('.graphiql-doc-explorer')?.textContent.includes('subscription: Subscription')"
        )
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        result = json.loads(
            await page.wait_for(
                f"(() => {{ const v = {RESULT_EDITOR}.CodeMirror.getValue(); return v.includes('\"data\"') && v; }})()"
            )
        )
        assert "errors" not in result, result
        assert result["data"]["myChatUsageLimitStatus"]["limitSource"] == "DISABLED"
        assert all(
            url.startswith(f"{server}/".replace("http", "ws", 1)) or url.startswith(f"{server}/")
            for url in page.requests
            if not url.startswith("data:")
        )
        assert page.errors == []
