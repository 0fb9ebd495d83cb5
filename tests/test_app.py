"""Service-level endpoints and request guards."""

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.db.engine import create_engine
from spendlimits.settings import Settings


async def test_healthz_is_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_fails_when_the_database_is_unreachable(settings: Settings) -> None:
    # A port nothing listens on: the database "cannot be reached".
    engine: AsyncEngine = create_engine("postgresql://postgres@127.0.0.1:1/none", settings)
    app = create_app(engine, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/healthz")
    await engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
