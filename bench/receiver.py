"""Slack's side for the benchmark: ``response_url`` posts timed on arrival, and the Web API.

``python -m bench.receiver --port 8082`` runs in its own process so the load generator
cannot starve it. It answers

- ``POST /response/<token>``: records ``time.monotonic()`` when the whole body has arrived
  (``CLOCK_MONOTONIC`` is system-wide on Linux, so the load generator, in another process,
  can subtract its own send times), and the body, classified later;
- ``/api/<method>``: Slack's Web API as the app needs it, every call counted: ``auth.test``,
  and ``users.info`` answering that any user is a full member of the workspace;
- ``GET /bench/count``: how many ``response_url`` posts arrived so far;
- ``GET /bench/results``: every post as ``{token: [[arrived_at, kind], ...]}`` where ``kind``
  is ``invoices`` (an invoice list), ``error`` (a failure reply) or ``other``, plus the
  Web API call counts.

It is a bare ASGI app: a framework's routing and request objects would be work done on the
clock of every reply measured.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.types import Receive, Scope, Send

from bot import ids
from bot.slack_standin import TEAM_ID

RESPONSE_PREFIX = "/response/"
API_PREFIX = "/api/"

_AUTH_TEST = json.dumps(
    {
        "ok": True,
        "url": "https://bench.slack.invalid/",
        "team": "Bench",
        "user": "ropo-invoices",
        "team_id": TEAM_ID,
        "user_id": "U0BOTUSER",
        "bot_id": "B0BENCH",
    }
).encode()
_OK = b'{"ok":true}'
_JSON = [(b"content-type", b"application/json")]
_TEXT = [(b"content-type", b"text/plain")]


def classify(body: bytes) -> str:
    """``invoices`` for an invoice list, ``error`` for a failure reply, else ``other``."""
    try:
        message = json.loads(body)
    except ValueError:
        return "other"
    blocks = message.get("blocks") if isinstance(message, dict) else None
    if not isinstance(blocks, list):
        return "other"
    summary = next(
        (b for b in blocks if isinstance(b, dict) and b.get("block_id") == ids.BLOCK_SUMMARY),
        None,
    )
    text = ((summary or {}).get("text") or {}).get("text", "")
    if "*Invoices for*" in text:
        return "invoices"
    return "error" if "Reference:" in text else "other"


class Receiver:
    """The ASGI app; state lives on the instance, one per process."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float, bytes]] = []
        self.api_calls: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (message := await receive())["type"] != "lifespan.shutdown":
                    await send({"type": message["type"] + ".complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        path: str = scope["path"]
        body = await _read_body(receive)
        if path.startswith(RESPONSE_PREFIX):
            self.arrivals.append((path[len(RESPONSE_PREFIX) :], time.monotonic(), body))
            await _answer(send, 200, b"ok", _TEXT)
        elif path.startswith(API_PREFIX):
            method = path[len(API_PREFIX) :]
            self.api_calls[method] += 1
            await _answer(send, 200, _api_answer(method, scope, body), _JSON)
        elif path == "/bench/count":
            await _answer(send, 200, str(len(self.arrivals)).encode(), _TEXT)
        elif path == "/bench/results":
            await _answer(send, 200, json.dumps(self.results()).encode(), _JSON)
        else:
            await _answer(send, 404, b"not found", _TEXT)

    def results(self) -> dict[str, Any]:
        """Every arrival, classified, and the Web API call counts."""
        arrivals: dict[str, list[tuple[float, str]]] = {}
        for token, at, body in self.arrivals:
            arrivals.setdefault(token, []).append((at, classify(body)))
        return {"arrivals": arrivals, "api_calls": dict(self.api_calls)}


def _api_answer(method: str, scope: Scope, body: bytes) -> bytes:
    if method == "auth.test":
        return _AUTH_TEST
    if method == "users.info":
        # slack_sdk sends users.info as GET with a query string; accept a form body too.
        params = dict(parse_qsl(scope.get("query_string", b"").decode()))
        params.update(parse_qsl(body.decode(errors="replace")))
        user = {
            "id": params.get("user", ""),
            "team_id": TEAM_ID,
            "name": "agent",
            "deleted": False,
            "is_bot": False,
            "is_app_user": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
        }
        return json.dumps({"ok": True, "user": user}).encode()
    return _OK


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, headers: list) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench.receiver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        Receiver(),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
