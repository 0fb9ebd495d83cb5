"""The GraphiQL page, served with its scripts from this package so that it works with no internet.

The page loads GraphiQL 3's standalone build and React 18 from ``static/graphiql/vendor/`` (put there
by scripts/vendor_graphiql.sh, versions in its VERSIONS.txt), and its Content-Security-Policy keeps
the browser from fetching anything from another origin. It opens with example operations in tabs
and a headers editor that asks for the bearer token.
"""

import json
from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
EXAMPLES_DIR = STATIC_DIR / "examples"
#: Where the page finds its scripts; the page links them relative to /graphql.
ASSETS_PATH = "/graphiql-assets"
AUTHORIZATION_PLACEHOLDER = "Bearer <paste your token>"

#: Example tabs in the order shown: (operation file, variables or None).
EXAMPLE_TABS: tuple[tuple[str, dict[str, str] | None], ...] = (
    ("my-usage.graphql", None),
    ("my-status-live.graphql", None),
    ("admin-config.graphql", None),
    ("daemon-check.graphql", {"userId": "<a user's id, e.g. viewer.id from the MyUsage tab>"}),
)

# Only this origin: GraphiQL inlines its fonts as data: URLs and sets inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _json_in_script(value: object) -> str:
    # "</" would end the <script> element early; "<\/" means the same to a JSON parser.
    return json.dumps(value, indent=2).replace("</", "<\\/")


@cache
def page_html() -> str:
    headers = json.dumps({"Authorization": AUTHORIZATION_PLACEHOLDER}, indent=2)
    config = {
        "authorizationPlaceholder": AUTHORIZATION_PLACEHOLDER,
        "missingTokenMessage": (
            'Paste your API token into the Headers editor below, in place of "<paste your token>". '
            "`spendlimits tokens create --username NAME` prints one; `make run ARGS=--demo` prints "
            "an owner's."
        ),
        "headers": headers,
        "tabs": [
            {
                "query": (EXAMPLES_DIR / name).read_text(),
                "variables": json.dumps(variables, indent=2) if variables else "",
                "headers": headers,
            }
            for name, variables in EXAMPLE_TABS
        ],
    }
    template = (STATIC_DIR / "index.html").read_text()
    return template.replace("__CONFIG__", _json_in_script(config))


def page() -> HTMLResponse:
    return HTMLResponse(
        page_html(),
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"},
    )


def assets_app() -> ASGIApp:
    """The page's scripts and styles (1.5 MB, about 400 kB compressed)."""
    return GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=1024)
