"""Slack's side for the benchmark: ``response_url`` posts timed on arrival, and the Web API.

``python -m bench.receiver --port 8082`` runs in its own process so the load generator
cannot starve it. It answers

- ``POST /response/<token>``: records ``time.monotonic()`` when the whole body has arrived
  (``CLOCK_MONOTONIC`` is system-wide on Linux, so the load generator, in another process,
  can subtract its own send times), and the body, classified later;
- ``/api/<method>``: Slack's Web API as the app needs it, every call counted: ``auth.test``,
  ``users.info`` answering that any user is a full member of the workspace, and
  ``users.list`` listing the agents the load generator sends as (``U0BENCH00000`` on, as
  many as ``--members``, 2000 by default: the largest burst ``bench.load`` accepts), all
  full members too, in pages of ``limit`` with a cursor;
- ``views.open`` / ``views.push`` answering the view id ``V-<trigger_id>``, and
  ``views.update`` timed on arrival like a reply, per view id, so ``bench.interactions``
  can match a Details click to its modal;
- ``GET /bench/count``: how many ``response_url`` posts arrived so far;
- ``GET /bench/reply/<token>``: the first message posted to that ``response_url`` (the
  buttons ``bench.interactions`` then clicks);
- ``GET /bench/results``: every post as ``{token: [[arrived_at, kind], ...]}`` where ``kind``
  is ``invoices`` (an invoice list), ``error`` (a failure reply) or ``other``, the Web API
  call counts, and every ``views.update`` as ``{view_id: [[arrived_at, kind], ...]}``
  (``details``, ``loading`` or ``other``).

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
from bot.dev.slack_standin import TEAM_ID

RESPONSE_PREFIX = "/response/"
API_PREFIX = "/api/"
AGENT_ID = "U0BENCH{:05d}"  # bench.load's agents: the i-th command is sent as AGENT_ID.format(i)
MEMBERS = 2000  # bench.load's largest --n

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

    def __init__(self, members: int = MEMBERS) -> None:
        self.arrivals: list[tuple[str, float, bytes]] = []
        self.view_updates: list[tuple[str, float, str]] = []
        self.api_calls: Counter[str] = Counter()
        self.members = members

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
            await _answer(send, 200, self._api_answer(method, scope, body), _JSON)
        elif path.startswith("/bench/reply/"):
            token = path[len("/bench/reply/") :]
            first = next((b for t, _, b in self.arrivals if t == token), None)
            await _answer(send, 200 if first else 404, first or b"{}", _JSON)
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
        views: dict[str, list[tuple[float, str]]] = {}
        for view_id, at, kind in self.view_updates:
            views.setdefault(view_id, []).append((at, kind))
        return {"arrivals": arrivals, "api_calls": dict(self.api_calls), "views": views}

    def _api_answer(self, method: str, scope: Scope, body: bytes) -> bytes:
        if method == "auth.test":
            return _AUTH_TEST
        if method == "users.info":
            user = _member(_params(scope, body).get("user", ""))
            return json.dumps({"ok": True, "user": user}).encode()
        if method == "users.list":
            return self._users_list(_params(scope, body))
        if method in ("views.open", "views.push"):
            trigger_id = str(_json(body).get("trigger_id", ""))
            return json.dumps({"ok": True, "view": {"id": f"V-{trigger_id}"}}).encode()
        if method == "views.update":
            arrived = time.monotonic()
            sent = _json(body)
            view = sent.get("view")
            view = json.loads(view) if isinstance(view, str) else view or {}
            self.view_updates.append((str(sent.get("view_id", "")), arrived, _view_kind(view)))
        return _OK

    def _users_list(self, params: dict[str, str]) -> bytes:
        """A page of the bench's agents; the cursor is the index of the page's first agent."""
        try:
            limit = min(max(int(params.get("limit") or 1000), 1), 1000)
            start = int(params.get("cursor") or 0)
        except ValueError:
            return b'{"ok":false,"error":"invalid_cursor"}'
        end = min(start + limit, self.members)
        page = {
            "ok": True,
            "members": [_member(AGENT_ID.format(i)) for i in range(start, end)],
            "response_metadata": {"next_cursor": str(end) if end < self.members else ""},
        }
        return json.dumps(page).encode()


def _json(body: bytes) -> dict[str, Any]:
    """A JSON Web API call's arguments (slack_sdk sends views.* as JSON), or a form's."""
    try:
        data = json.loads(body)
    except ValueError:
        return dict(parse_qsl(body.decode(errors="replace")))
    return data if isinstance(data, dict) else {}


def _view_kind(view: dict[str, Any]) -> str:
    """``details`` for a details modal with its details, ``loading`` for "Loading…"."""
    block_ids = {b.get("block_id") for b in view.get("blocks") or () if isinstance(b, dict)}
    if ids.BLOCK_DETAILS in block_ids:
        return "details"
    return "loading" if ids.BLOCK_LOADING in block_ids else "other"


def _params(scope: Scope, body: bytes) -> dict[str, str]:
    """A Web API call's arguments: slack_sdk sends users.* as GET with a query string."""
    params = dict(parse_qsl(scope.get("query_string", b"").decode()))
    params.update(parse_qsl(body.decode(errors="replace")))
    return params


def _member(user_id: str) -> dict[str, Any]:
    """A full member of the workspace, as users.info and users.list describe one."""
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": "agent",
        "deleted": False,
        "is_bot": False,
        "is_app_user": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
    }


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
    parser.add_argument(
        "--members",
        type=int,
        default=MEMBERS,
        help="agents users.list lists (0: none, every agent costs a users.info)",
    )
    args = parser.parse_args()
    uvicorn.run(
        Receiver(args.members),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
