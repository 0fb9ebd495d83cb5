"""/console serves the built single-page app from the package: its page for every screen address,
its hashed assets, a 404 for a missing asset, and a page that may load nothing from elsewhere."""

import re

import httpx

from spendlimits.console import STATIC_DIR


def _asset_paths(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', page)


async def test_console_redirects_to_its_trailing_slash(client: httpx.AsyncClient) -> None:
    response = await client.get("/console")
    assert response.status_code == 308
    assert response.headers["location"].endswith("/console/")


async def test_every_screen_address_answers_the_app_page(client: httpx.AsyncClient) -> None:
    index = (STATIC_DIR / "index.html").read_text()
    for path in (
        "/console/",
        "/console/users",
        "/console/users/3f1c0f3e-0000-4000-8000-000000000000",
        "/console/me",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.text == index
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp


async def test_the_page_names_only_local_assets_and_they_are_served(client: httpx.AsyncClient) -> None:
    page = (await client.get("/console/")).text
    assets = _asset_paths(page)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert "http" not in page
    for asset in assets:
        response = await client.get(asset, headers={"accept-encoding": "gzip"})
        assert response.status_code == 200, asset
        assert "immutable" in response.headers["cache-control"]
        assert response.content == (STATIC_DIR / asset.removeprefix("/console/")).read_bytes()


async def test_a_missing_asset_is_404_not_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/assets/index-missing.js")
    assert response.status_code == 404
    assert '<div id="root">' not in response.text


async def test_the_console_needs_no_token(client: httpx.AsyncClient) -> None:
    # The page asks for the token itself; only /graphql checks it.
    assert (await client.get("/console/overview")).status_code == 200
    assert (await client.post("/graphql", json={"query": "{ viewer { id } }"})).status_code == 401
