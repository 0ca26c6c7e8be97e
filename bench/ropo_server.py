"""The Ropo One stand-in for the benchmark: the sandbox, in its own process, plus counters.

``python -m bench.ropo_server --port 8081 --latency 1.0`` serves the app's own sandbox
(:func:`bot.ropo.sandbox.create_sandbox_app`) and ``GET /bench/stats``, which answers
``{"token_requests": ..., "lookups": ..., "details": ..., "lookup_times": [[asked, answered],
...]}`` so the benchmark can see how many logins, lookups and job details calls the app under
test made, and when (``time.monotonic()``, comparable across processes) each lookup arrived
and was answered, without sharing memory with the app.

``POST /bench/down`` starts an outage (:mod:`bench.outage`): from then on every Ropo request,
logins included, is answered ``503`` at once, and ``/bench/stats`` also counts them under
``"refused"``, with when each came in ``"refused_at"``.
"""

from __future__ import annotations

import argparse
import json
import time

import uvicorn
from starlette.types import Receive, Scope, Send

from bot.ropo.sandbox import FIND_PATH, create_sandbox_app

STATS_PATH = "/bench/stats"
DOWN_PATH = "/bench/down"
_UNAVAILABLE = json.dumps(
    {"title": "Service Unavailable", "status": 503, "detail": "Ropo One is down (bench)."}
).encode()


def create_ropo_app(latency_s: float) -> object:
    """The sandbox with ``latency_s`` added to every lookup, and the stats route in front."""
    sandbox = create_sandbox_app(latency_s=latency_s)
    state = sandbox.state.sandbox

    lookup_times: list[tuple[float, float]] = []
    refused_at: list[float] = []
    down = False

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal down
        if scope["type"] == "http" and scope["path"] == STATS_PATH:
            stats = {
                "token_requests": state.token_requests,
                "lookups": len(state.lookups),
                "details": len(state.details_requests),
                "lookup_times": lookup_times,
                "refused": len(refused_at),
                "refused_at": refused_at,
            }
            await _answer(send, 200, json.dumps(stats).encode(), b"application/json")
            return
        if scope["type"] == "http" and scope["path"] == DOWN_PATH:
            down = True
            await _answer(send, 200, b"down", b"text/plain")
            return
        if down and scope["type"] == "http":
            refused_at.append(time.monotonic())
            await _answer(send, 503, _UNAVAILABLE, b"application/problem+json")
            return
        if scope["type"] != "http" or scope["path"] != FIND_PATH:
            await sandbox(scope, receive, send)
            return
        asked = time.monotonic()

        async def timed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                lookup_times.append((asked, time.monotonic()))
            await send(message)

        await sandbox(scope, receive, timed_send)

    return app


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench.ropo_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds added per lookup")
    args = parser.parse_args()
    uvicorn.run(
        create_ropo_app(args.latency),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
