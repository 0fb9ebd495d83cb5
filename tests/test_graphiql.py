"""The GraphiQL page and its files, served by the service itself (test_graphiql_browser.py runs it)."""

import json
import re

import httpx
import pytest
from graphql import build_schema, parse, validate

from spendlimits.graphiql import AUTHORIZATION_PLACEHOLDER, EXAMPLE_TABS, EXAMPLES_DIR, STATIC_DIR, page_html
from tests.conftest import ROOT

BROWSER = {"Accept": "text/html,application/xhtml+xml"}


def _page_config() -> dict[str, object]:
    found = re.search(
        r'<script id="spendlimits-graphiql-config" type="application/json">(.*?)</script>', page_html(), re.S
    )
    assert found is not None
    config: dict[str, object] = json.loads(found.group(1))
    return config


async def test_a_browser_gets_the_graphiql_page_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "spendlimits GraphiQL" in response.text
    # The browser itself refuses anything from another origin.
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy


async def test_every_file_the_page_loads_is_served_by_the_service(client: httpx.AsyncClient) -> None:
    html = (await client.get("/graphql", headers=BROWSER)).text
    linked = re.findall(r'(?:src|href)="([^"]+)"', html)
    files = [url for url in linked if not url.startswith("data:")]
    assert len(files) == 6, files
    for url in files:
        assert "//" not in url and not url.startswith("/"), f"{url} is not relative to /graphql"
        response = await client.get(f"/{url}")
        assert response.status_code == 200, url


async def test_graphiql_assets_are_served_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphiql-assets/vendor/graphiql.min.js", headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("text/javascript")


def test_the_page_opens_the_example_operations_with_a_token_template() -> None:
    config = _page_config()
    template = {"Authorization": AUTHORIZATION_PLACEHOLDER}
    assert json.loads(str(config["headers"])) == template
    tabs = config["tabs"]
    assert isinstance(tabs, list)
    assert [tab["query"] for tab in tabs] == [(EXAMPLES_DIR / name).read_text() for name, _ in EXAMPLE_TABS]
    assert all(json.loads(tab["headers"]) == template for tab in tabs)


def test_embedded_operations_cannot_close_the_script_element() -> None:
    html = page_html()
    assert html.count("</script>") == html.count("<script")


@pytest.mark.parametrize("name", [name for name, _ in EXAMPLE_TABS])
def test_example_operation_is_valid_against_schema_graphql(name: str) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    errors = validate(schema, parse((EXAMPLES_DIR / name).read_text()))
    assert errors == [], [error.message for error in errors]


def test_vendored_graphiql_records_its_versions_and_licences() -> None:
    vendor = STATIC_DIR / "vendor"
    versions = (vendor / "VERSIONS.txt").read_text()
    for package in ("graphiql@3.", "react@18.", "react-dom@18."):
        assert package in versions
    licences = (vendor / "LICENSES.txt").read_text()
    assert "graphiql@3." in licences and "MIT License" in licences
    # No source-map comment: the browser would ask for a file that is not shipped.
    assert "sourceMappingURL" not in (vendor / "graphiql.min.js").read_text()[-200:]
