"""The web console at /console: a single-page app built from clients/console/ into static/console/.

The build ships in the package, so serving it needs no Node and no network. Files that exist are
served as they are (their names carry a content hash, so they may be cached for good); any other
path under /console without a file extension is a screen of the app, answered with index.html,
whose router then shows it. The page's Content-Security-Policy lets it load and connect to this
origin only.
"""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

STATIC_DIR = Path(__file__).parent / "static" / "console"
PATH = "/console"

# 'self' covers the same origin's ws:// for the live subscription. React sets styles through the
# DOM (element.style), which the CSP allows without 'unsafe-inline'.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The page names the current hashed assets, so it must be asked for again each time.
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


class _ConsoleFiles(StaticFiles):
    """StaticFiles with the single-page fallback: a screen's address answers index.html."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path in ("", ".", "index.html"):
            return self._page()
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            # A missing file stays a 404 (a stale asset must not turn into HTML); a screen does not.
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            return self._page()
        response.headers.update(_ASSET_HEADERS)
        return response

    def _page(self) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS, media_type="text/html")


async def _to_slash(_: Request) -> Response:
    return RedirectResponse(f"{PATH}/", status_code=308)


def routes() -> list[BaseRoute]:
    """/console redirects to /console/, under which the app and its assets live."""
    app: ASGIApp
    if (STATIC_DIR / "index.html").is_file():
        app = GZipMiddleware(_ConsoleFiles(directory=STATIC_DIR), minimum_size=1024)
    else:
        # A Response is an ASGI app: every path under /console answers it.
        app = PlainTextResponse(
            "The console is not built in this installation: run `make console` in a source checkout.",
            status_code=503,
        )
    return [
        Route(PATH, _to_slash, methods=["GET", "HEAD"]),
        Mount(PATH, app=app),
    ]
