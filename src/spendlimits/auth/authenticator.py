"""Bearer-token authentication for each request, with the outage fallback of spec section 5."""

import asyncio
import logging

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Principal
from spendlimits.auth.tokens import VerifiedTokenCache, verify_secret

log = logging.getLogger(__name__)

#: What "the database cannot be reached" looks like from here.
UNREACHABLE = (OSError, TimeoutError, OperationalError, InterfaceError, DBAPIError)


class DatabaseUnavailable(Exception):
    """The token could not be verified because the database did not answer."""


def bearer_secret(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


class Authenticator:
    def __init__(self, engine: AsyncEngine, timeout_seconds: float) -> None:
        self._engine = engine
        self._timeout = timeout_seconds
        self._cache = VerifiedTokenCache()

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal for a secret; None when unknown or revoked.

        Raises DatabaseUnavailable when the database cannot answer and the secret was not verified
        in the last minute.
        """
        try:
            async with asyncio.timeout(self._timeout):
                async with self._engine.begin() as conn:
                    principal = await verify_secret(conn, secret)
        except UNREACHABLE as exc:
            cached = self._cache.recall(secret)
            if cached is None:
                raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
            log.warning("database unreachable (%s); accepting a recently verified token", type(exc).__name__)
            return cached
        if principal is None:
            self._cache.forget(secret)
        else:
            self._cache.remember(secret, principal)
        return principal
