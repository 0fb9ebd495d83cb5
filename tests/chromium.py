"""Headless Chromium driven over the DevTools protocol, for the GraphiQL browser test.

Only what that test needs: start Debian's chromium with no network but localhost, open a page,
evaluate JavaScript, record every request the page makes, take a screenshot. It speaks the
protocol over `websockets` (which uvicorn[standard] brings), so it adds no dependency.
"""

import asyncio
import base64
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import websockets

#: Flags from the machine notes: no sandbox (root), no background traffic to Google's hosts.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    # Every host name but 127.0.0.1 fails to resolve, and nothing goes through a proxy: a page
    # that needed the internet would fail here as it does on an offline machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--no-proxy-server",
    "--remote-debugging-port=0",
    "--window-size=1280,800",
)


def find_chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab, attached through the browser's websocket with a flat session."""

    def __init__(self, socket: Any, session_id: str) -> None:
        self._socket = socket
        self._session = session_id
        self._ids = itertools.count(1000)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        #: Every URL the page requested, in order.
        self.requests: list[str] = []
        #: Console errors, uncaught exceptions and browser log errors (CSP violations among them).
        self.errors: list[str] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self._socket.send(
            json.dumps({"id": message_id, "method": method, "params": params, "sessionId": self._session})
        )
        return await asyncio.wait_for(future, timeout=30)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RuntimeError(f"DevTools error: {message['error']}"))
                else:
                    future.set_result(message.get("result", {}))
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")

    async def read_events(self) -> None:
        with suppress(websockets.ConnectionClosed):
            async for raw in self._socket:
                self._dispatch(json.loads(raw))

    async def start(self, url: str) -> None:
        """Turns on the events recorded above, sets a 1280x800 viewport and navigates to url."""
        for domain in ("Network", "Runtime", "Log", "Page"):
            await self.send(f"{domain}.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1, mobile=False
        )
        await self.send("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        """Polls a JavaScript expression until it is truthy (for up to 20 s); returns its value."""
        async with asyncio.timeout(20):
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await asyncio.sleep(0.1)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


@asynccontextmanager
async def open_page(chromium: str, url: str) -> AsyncIterator[Page]:
    """Starts a fresh Chromium (its own empty profile) and yields a tab that has started loading url."""
    # Chromium's helper processes may still be writing to the profile for a moment after it exits.
    with tempfile.TemporaryDirectory(prefix="spendlimits-chromium-", ignore_cleanup_errors=True) as profile:
        process = await asyncio.create_subprocess_exec(
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            port, path = await _devtools_address(Path(profile), process)
            async with websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None) as socket:
                page = await _attach(socket)
                reader = asyncio.get_running_loop().create_task(page.read_events())
                try:
                    await page.start(url)
                    yield page
                finally:
                    # A browser closed this way waits for its helper processes before it exits.
                    await socket.send(json.dumps({"id": 3, "method": "Browser.close"}))
                    with suppress(TimeoutError):
                        await asyncio.wait_for(process.wait(), timeout=10)
                    reader.cancel()
                    with suppress(asyncio.CancelledError):
                        await reader
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()


async def _devtools_address(profile: Path, process: asyncio.subprocess.Process) -> tuple[str, str]:
    """The port and path Chromium writes to its profile once its DevTools endpoint listens."""
    port_file = profile / "DevToolsActivePort"
    async with asyncio.timeout(30):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"chromium exited with status {process.returncode}")
            lines = port_file.read_text().splitlines() if port_file.exists() else []
            if len(lines) >= 2:
                return lines[0], lines[1]
            await asyncio.sleep(0.05)


async def _attach(socket: Any) -> Page:
    """A new tab with a session of its own; the caller starts reading events next."""
    await socket.send(
        json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}})
    )
    target_id = (await _reply(socket, 1))["targetId"]
    await socket.send(
        json.dumps(
            {"id": 2, "method": "Target.attachToTarget", "params": {"targetId": target_id, "flatten": True}}
        )
    )
    return Page(socket, (await _reply(socket, 2))["sessionId"])


async def _reply(socket: Any, message_id: int) -> dict[str, Any]:
    while True:
        message = json.loads(await socket.recv())
        if message.get("id") == message_id:
            if "error" in message:
                raise RuntimeError(f"DevTools error: {message['error']}")
            result: dict[str, Any] = message["result"]
            return result
