"""The Ropo One stand-in for the benchmark: the sandbox, in its own process, plus counters.

``python -m bench.ropo_server --port 8081 --latency 1.0`` serves the app's own sandbox
(:func:`bot.ropo.sandbox.create_sandbox_app`) and ``GET /bench/stats``, which answers
``{"token_requests": ..., "lookups": ..., "details": ..., "lookup_times": [[asked, answered],
...]}`` so the benchmark can see how many logins, lookups and job details calls the app under
test made, and when (``time.monotonic()``, comparable across processes) each lookup arrived
and was answered, without sharing memory with the app.
"""

from __future__ import annotations

import argparse
import json
import time

import uvicorn
from starlette.types import Receive, Scope, Send

from bot.ropo.sandbox import FIND_PATH, create_sandbox_app

STATS_PATH = "/bench/stats"


def create_ropo_app(latency_s: float) -> object:
    """The sandbox with ``latency_s`` added to every lookup, and the stats route in front."""
    sandbox = create_sandbox_app(latency_s=latency_s)
    state = sandbox.state.sandbox

    lookup_times: list[tuple[float, float]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == STATS_PATH:
            stats = {
                "token_requests": state.token_requests,
                "lookups": len(state.lookups),
                "details": len(state.details_requests),
                "lookup_times": lookup_times,
            }
            body = json.dumps(stats).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
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
