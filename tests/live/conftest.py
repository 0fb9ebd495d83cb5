"""An in-process uvicorn (a real HTTP and WebSocket server on a free port) for the live tests."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.settings import LiveSettings, Settings


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server


@pytest.fixture
async def serve(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """Starts the app on 127.0.0.1, port 0, with live settings changed as asked."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**live: Any) -> RunningServer:
        app = create_app(engine, replace(settings, live=replace(LiveSettings(), **live)))
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        return RunningServer(f"http://127.0.0.1:{port}", server)

    yield start
    for server, task in running:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 15)
        except TimeoutError:
            server.force_exit = True
            await task
            raise AssertionError("the server did not shut down within 15 s") from None
