"""Cross-origin calls from browsers (CORS): the platform's web app runs on an origin of its own.

Off unless SPENDLIMITS_CORS_ORIGINS lists origins. Preflight requests (OPTIONS) are answered before
authentication, as browsers send them without the Authorization header. The API authenticates by
bearer token, not cookies, so credentials stay off unless asked for, and never go with "*"
(Settings refuses that pair).
"""

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from spendlimits.settings import Settings

#: What a client sends: its token, a JSON body, and the client name some GraphQL clients add.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept")
#: How long a browser may reuse a preflight answer: ten minutes saves a round trip per request.
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_middleware(settings: Settings) -> list[Middleware]:
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(ALLOWED_HEADERS),
            allow_credentials=settings.cors_allow_credentials,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )
    ]
