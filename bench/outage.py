"""Ropo One down: what an outage costs Ropo, and how fast agents hear about it.

``.venv/bin/python -m bench.outage --n 100``

The same three processes as :mod:`bench.load` (the app as the ``Procfile`` runs it, the Ropo
stand-in, Slack's side). One command is answered while Ropo is up, so the app holds a token;
then the Ropo stand-in goes down (``POST /bench/down``: every request answered ``503`` at
once) and two bursts of N commands follow, one after the other:

1. the first meets a closed circuit breaker, which the first failures open;
2. the second meets the open breaker.

For each burst it prints how many requests reached Ropo, and the time from sending a command
to its reply arriving at ``response_url`` (every reply should be a failure reply naming a
reference). Targets (issue 11): Ropo sees at most 30 requests in the first burst, and once
the breaker is open every agent is answered within 1 s: the commands of the first burst sent
after Ropo's last request, and the whole second burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import (
    HOST,
    REPO,
    Options,
    app_env,
    build_commands,
    free_port,
    http_exchange,
    http_get,
    percentile,
    raw_request,
    send_command,
    spawn,
    wait_ready,
    warm_up,
)

MAX_ROPO_REQUESTS = 30
ANSWERED_WITHIN_S = 1.0


@dataclass
class Burst:
    """One burst of N commands during the outage."""

    name: str
    sent_at: list[float] = field(default_factory=list)
    acks: list[object] = field(default_factory=list)
    replies: list[tuple[float, str] | None] = field(default_factory=list)
    ropo_requests: int = 0
    last_ropo_request_at: float | None = None


async def run(n: int, options: Options, logdir: Path, time_limit_s: float) -> list[Burst]:
    """Start the processes, warm up, take Ropo down, send two bursts, collect."""
    ropo_port, recv_port, app_port = free_port(), free_port(), free_port()
    python = sys.executable
    bench_env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    children = [
        spawn("ropo", [python, "-m", "bench.ropo_server", "--port", str(ropo_port), "--latency",
                       "0"], bench_env, REPO, logdir),
        spawn("receiver", [python, "-m", "bench.receiver", "--port", str(recv_port)], bench_env,
              REPO, logdir),
    ]  # fmt: skip
    bursts = [Burst("breaker closed at the start"), Burst("breaker open")]
    try:
        await wait_ready(children[0], ropo_port, "/bench/stats")
        await wait_ready(children[1], recv_port, "/bench/count")
        app_argv = [python, "-m", "bot", "serve", "--port", str(app_port), "--host", HOST]
        app = spawn(
            "app", app_argv, app_env(options, ropo_port, recv_port, logdir), options.app_dir, logdir
        )
        children.append(app)
        await wait_ready(app, app_port, "/healthz")
        async with asyncio.timeout(time_limit_s):
            await warm_up(app_port, recv_port)
            await http_exchange(ropo_port, raw_request("POST", ropo_port, "/bench/down", {}, ""))
            replies_so_far = 1
            for index, burst in enumerate(bursts):
                before = await _ropo_refused(ropo_port)
                await _fire(burst, n, app_port, recv_port, f"b{index}")
                replies_so_far += n
                await _wait_for_replies(recv_port, replies_so_far)
                await _collect(burst, n, recv_port, ropo_port, f"b{index}", before)
    finally:
        for child in reversed(children):
            child.stop()
    return bursts


async def _fire(burst: Burst, n: int, app_port: int, recv_port: int, run_id: str) -> None:
    requests = build_commands(n, app_port, recv_port, run_id, ("C-1001",))
    go = asyncio.Event()
    tasks = [asyncio.create_task(send_command(app_port, r, go)) for r in requests]
    await asyncio.sleep(0)
    go.set()
    outcomes = await asyncio.gather(*tasks)
    burst.sent_at = [sent for sent, _ in outcomes]
    burst.acks = [outcome for _, outcome in outcomes]


async def _wait_for_replies(recv_port: int, expected: int) -> None:
    # The replies arrive in another process: polling is the only way to see them.
    while int((await http_get(recv_port, "/bench/count"))[1]) < expected:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def _ropo_refused(ropo_port: int) -> int:
    return int(json.loads((await http_get(ropo_port, "/bench/stats"))[1])["refused"])


async def _collect(
    burst: Burst, n: int, recv_port: int, ropo_port: int, run_id: str, before: int
) -> None:
    arrivals = json.loads((await http_get(recv_port, "/bench/results"))[1])["arrivals"]
    for i in range(n):
        replies = arrivals.get(f"{run_id}-{i}")
        burst.replies.append(tuple(replies[0]) if replies else None)  # type: ignore[arg-type]
    stats = json.loads((await http_get(ropo_port, "/bench/stats"))[1])
    refused_at = stats["refused_at"][before:]
    burst.ropo_requests = len(refused_at)
    burst.last_ropo_request_at = max(refused_at) if refused_at else None


def report(bursts: list[Burst], n: int) -> str:
    """The figures per burst, and PASS or FAIL against the targets."""
    lines = [f"Ropo One down (every request answered 503), bursts of {n} lookups", ""]
    first = bursts[0]
    for burst in bursts:
        waits = [
            reply[0] - sent
            for sent, reply in zip(burst.sent_at, burst.replies, strict=True)
            if reply is not None
        ]
        kinds = [reply[1] if reply else "missing" for reply in burst.replies]
        bad_acks = sum(1 for ack in burst.acks if not (isinstance(ack, tuple) and ack[0] == 200))
        lines.append(f"{burst.name}:")
        lines.append(f"  requests that reached Ropo   {burst.ropo_requests}")
        lines.append(f"  acks not 200                 {bad_acks}")
        lines.append(
            "  replies                      "
            + ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))
        )
        if waits:
            lines.append(
                "  command → reply              "
                f"p50 {percentile(waits, 50) * 1000:.0f} ms, "
                f"p99 {percentile(waits, 99) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms"
            )
    after_open = [
        reply[0] - sent
        for sent, reply in zip(first.sent_at, first.replies, strict=True)
        if reply is not None
        and first.last_ropo_request_at is not None
        and sent > first.last_ropo_request_at
    ]
    open_waits = after_open + [
        reply[0] - sent
        for sent, reply in zip(bursts[1].sent_at, bursts[1].replies, strict=True)
        if reply is not None
    ]
    answered = all(reply is not None for burst in bursts for reply in burst.replies)
    worst = max(open_waits) if open_waits else float("nan")
    lines += [
        "",
        "targets:",
        f"  Ropo requests in the first burst ≤ {MAX_ROPO_REQUESTS}: {first.ropo_requests} "
        + ("PASS" if first.ropo_requests <= MAX_ROPO_REQUESTS else "FAIL"),
        f"  every agent answered once the breaker is open, within {ANSWERED_WITHIN_S:g} s: "
        f"{len(open_waits)} commands, slowest {worst * 1000:.0f} ms "
        + ("PASS" if answered and worst <= ANSWERED_WITHIN_S else "FAIL"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the scenario once and print the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.outage", description=__doc__)
    parser.add_argument("--n", type=int, default=100, help="lookups per burst")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds, at most")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs, print where")
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=REPO,
        help="directory holding the bot/ package to run (e.g. an older build, to compare)",
    )
    args = parser.parse_args(argv)
    options = Options(
        latency_s=0.0,
        time_limit_s=args.time_limit,
        app_dir=args.app_dir.resolve(),
        app_path=[],
        warm_up=True,
        profile_dir=None,
        profile_rate=0,
        keep_logs=args.keep_logs,
        extra_env={"RATE_LIMIT_PER_MINUTE": "0"},
    )
    logdir = Path(tempfile.mkdtemp(prefix="ropo-outage-"))
    try:
        bursts = asyncio.run(run(args.n, options, logdir, args.time_limit))
    except (RuntimeError, TimeoutError) as exc:
        print(f"benchmark failed: {exc!r}; logs: {logdir}", file=sys.stderr)
        return 1
    print(report(bursts, args.n))
    if args.keep_logs:
        print(f"logs: {logdir}", file=sys.stderr)
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
