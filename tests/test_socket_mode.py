"""Socket Mode end to end: ``python -m bot socket`` against a local Socket Mode stand-in.

Slack's side is played by two loopback servers: the Web API stand-in answers
``apps.connections.open`` with the URL of a WebSocket server here, which sends the app a
``/invoices`` envelope exactly as Slack does and records the app's acknowledgement.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.dev.slack_requests import slash_command_body
from bot.dev.slack_standin import SlackStandIn
from tests.conftest import BOT_TOKEN
from tests.servers import ServedApp

ROOT = Path(__file__).resolve().parents[1]


class SocketModeStandIn:
    """A WebSocket server that says hello, sends one envelope and records what comes back."""

    def __init__(self) -> None:
        self.envelope: dict[str, Any] = {}  # set before the app connects
        self.acks: list[dict[str, Any]] = []
        self.acked = threading.Event()
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        await ws.send_json(self.envelope)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
                self.acked.set()
        return ws

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/link"

    def __enter__(self) -> SocketModeStandIn:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class SlackWithSocketMode(SlackStandIn):
    """The Web API stand-in, also answering ``apps.connections.open``."""

    def __init__(self, socket_url: str) -> None:
        super().__init__()
        self.socket_url = socket_url

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return super()._answer(method, body)


def test_socket_mode_acks_the_envelope_and_replies_privately(tmp_path: Path):
    with SocketModeStandIn() as socket_server:
        slack = SlackWithSocketMode(socket_server.url)
        with ServedApp(slack.app, lifespan="off") as slack_server:
            response_url = f"{slack_server.url}/response/socket-1"
            socket_server.envelope = {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": dict(parse_qsl(slash_command_body("C-1001", response_url))),
            }
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_"))},
                "PYTHONPATH": str(ROOT),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": "xapp-1-test-app-token",
                "SLACK_API_URL": f"{slack_server.url}/api/",
                "LOG_LEVEL": "INFO",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "socket"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert socket_server.acked.wait(20), "the app never acknowledged the envelope"
                reply = slack.wait_for_responses(1, "socket-1", timeout=20)[0].body
            finally:
                process.terminate()
                _, stderr = process.communicate(timeout=20)

    assert socket_server.acks[0]["envelope_id"] == "env-1"
    assert reply["response_type"] == "ephemeral"
    assert "C-1001" in reply["text"]
    assert "sandbox" in json.dumps(reply).lower()  # no Ropo credentials: sandbox data, said so
    # Who the bot is and the member directory come first, then the socket is opened.
    assert [c.name for c in slack.api_calls()][:3] == [
        "auth.test",
        "users.list",
        "apps.connections.open",
    ]
    assert "xapp-1-test-app-token" not in stderr
    assert BOT_TOKEN not in stderr
