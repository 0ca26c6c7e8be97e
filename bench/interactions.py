"""Clicks benchmark: N agents flip a page at once, then N open an invoice's Details at once.

``.venv/bin/python -m bench.interactions --n 200 --ropo-latency 1.0``

The same three processes as :mod:`bench.load` (the app as the ``Procfile`` runs it, the
Ropo sandbox with the given latency, Slack's side). First, untimed, N agents each look up
``C-1200`` (120 invoices, so every reply has a Next button) and their replies are fetched.
Then two timed bursts, each click signed and sent at once on its own connection:

- **page**: every agent clicks Next on their reply. Measured from sending the click to the
  next page arriving at its ``response_url``; the Ropo sandbox counts the lookups it saw
  during the burst, which must be none (the page comes from the paging cache).
- **details**: every agent clicks the first invoice's Details. Measured from sending the
  click to the ``views.update`` that carries the invoice's details (after "Loading…").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import (
    HOST,
    REPO,
    SIGNING_SECRET,
    Child,
    Options,
    app_env,
    free_port,
    http_exchange,
    http_get,
    machine,
    percentile,
    raw_request,
    spawn,
    start_profiler,
    stop_profiler,
    wait_ready,
)
from bot import ids
from bot.dev.slack_requests import (
    block_actions_body,
    button_click,
    signed_headers,
    slash_command_body,
)

CUSTOMER = "C-1200"
PAGE_P99_TARGET_S = 0.100
DETAILS_MARGIN_S = 0.300
CLICK_TIMEOUT_S = 10.0


def _agent(i: int) -> str:
    return f"U0BENCH{i:05d}"


async def _poll_until(port: int, path: str, ready: Any, deadline: float) -> Any:
    """GET ``path`` (JSON) until ``ready(data)``; the other process can only be polled."""
    while True:
        data = json.loads((await http_get(port, path))[1])
        if ready(data) or time.monotonic() > deadline:
            return data
        await asyncio.sleep(0.05)


async def _send_all(port: int, requests: list[bytes]) -> tuple[list[float], list[float]]:
    """Send every request at once, each on its own connection; send times, ack seconds."""
    go = asyncio.Event()

    async def one(request: bytes) -> tuple[float, float]:
        await go.wait()
        sent = time.monotonic()
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
            async with asyncio.timeout(CLICK_TIMEOUT_S):
                await http_exchange(port, request)
        return sent, time.monotonic() - sent

    tasks = [asyncio.create_task(one(r)) for r in requests]
    await asyncio.sleep(0)
    go.set()
    done = await asyncio.gather(*tasks)
    return [sent for sent, _ in done], [ack for _, ack in done]


def _click(app_port: int, recv_port: int, i: int, token: str, button: dict[str, Any]) -> bytes:
    """Agent ``i`` clicking ``button`` in their reply; a new response_url and trigger_id."""
    body = block_actions_body(
        button_click(button, "b"),
        f"http://{HOST}:{recv_port}/response/{token}",
        user_id=_agent(i),
    ).replace("trigger-2", token)  # one trigger_id per click: the receiver keys views by it
    return raw_request(
        "POST", app_port, "/slack/events", signed_headers(SIGNING_SECRET, body), body
    )


def _button(reply: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in reply["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element
    raise RuntimeError(f"no {action_id} button in the reply")


async def run(n: int, options: Options, logdir: Path) -> dict[str, Any]:
    """Start the processes, set up N replies, time the two bursts, stop everything."""
    ropo_port, recv_port, app_port = free_port(), free_port(), free_port()
    python = sys.executable
    bench_env = {**os.environ, "PYTHONPATH": str(REPO)}
    children: list[Child] = []
    try:
        ropo_argv = ["-m", "bench.ropo_server", "--port", str(ropo_port)]
        children.append(
            spawn(
                "ropo",
                [python, *ropo_argv, "--latency", str(options.latency_s)],
                bench_env,
                REPO,
                logdir,
            )
        )
        children.append(
            spawn(
                "receiver",
                [python, "-m", "bench.receiver", "--port", str(recv_port)],
                bench_env,
                REPO,
                logdir,
            )
        )
        await wait_ready(children[0], ropo_port, "/bench/stats")
        await wait_ready(children[1], recv_port, "/bench/count")
        app = spawn(
            "app",
            [python, "-m", "bot", "serve", "--port", str(app_port), "--host", HOST],
            app_env(options, ropo_port, recv_port, logdir),
            options.app_dir,
            logdir,
        )
        children.append(app)
        await wait_ready(app, app_port, "/healthz")
        deadline = time.monotonic() + options.time_limit_s

        # Set-up, untimed: every agent's own lookup, whose reply holds the buttons.
        lookups = []
        for i in range(n):
            body = slash_command_body(
                CUSTOMER, f"http://{HOST}:{recv_port}/response/setup-{i}", user_id=_agent(i)
            )
            headers = signed_headers(SIGNING_SECRET, body)
            lookups.append(raw_request("POST", app_port, "/slack/events", headers, body))
        await _send_all(app_port, lookups)
        await _poll_until(recv_port, "/bench/count", lambda c: c >= n, deadline)
        replies = [
            json.loads((await http_get(recv_port, f"/bench/reply/setup-{i}"))[1]) for i in range(n)
        ]
        before = json.loads((await http_get(ropo_port, "/bench/stats"))[1])
        cpu_before = app.cpu_s()
        profiler = start_profiler(app, options, n, logdir) if options.profile_dir else None

        # Burst 1: Next, answered from the paging cache.
        pages = [
            _click(app_port, recv_port, i, f"page-{i}", _button(r, ids.ACTION_PAGE_NEXT))
            for i, r in enumerate(replies)
        ]
        page_sent, page_ack = await _send_all(app_port, pages)
        results = await _poll_until(
            recv_port,
            "/bench/results",
            lambda r: all(f"page-{i}" in r["arrivals"] for i in range(n)),
            deadline,
        )
        after_pages = json.loads((await http_get(ropo_port, "/bench/stats"))[1])
        cpu_pages = app.cpu_s()
        page_s, page_kinds = [], []
        for i in range(n):
            arrived = results["arrivals"].get(f"page-{i}")
            if arrived:
                page_s.append(arrived[0][0] - page_sent[i])
                page_kinds.append(arrived[0][1])

        # Burst 2: Details of each agent's first invoice.
        clicks = [
            _click(app_port, recv_port, i, f"details-{i}", _button(r, ids.ACTION_SHOW_DETAILS))
            for i, r in enumerate(replies)
        ]
        details_sent, details_ack = await _send_all(app_port, clicks)

        def all_details(r: dict[str, Any]) -> bool:
            views = r.get("views", {})
            return all(
                any(kind == "details" for _, kind in views.get(f"V-details-{i}", []))
                for i in range(n)
            )

        results = await _poll_until(recv_port, "/bench/results", all_details, deadline)
        after_details = json.loads((await http_get(ropo_port, "/bench/stats"))[1])
        cpu_details = app.cpu_s()
        if profiler is not None:
            stop_profiler(profiler)
        details_s = []
        for i in range(n):
            shown = [
                at for at, kind in results["views"].get(f"V-details-{i}", []) if kind == "details"
            ]
            if shown:
                details_s.append(shown[0] - details_sent[i])
        return {
            "n": n,
            "page_s": page_s,
            "page_ack_s": page_ack,
            "details_ack_s": details_ack,
            "page_invoice_lists": page_kinds.count("invoices"),
            "page_ropo_lookups": after_pages["lookups"] - before["lookups"],
            "details_s": details_s,
            "details_ropo_calls": after_details["details"] - after_pages["details"],
            "api_calls": results.get("api_calls", {}),
            "page_cpu_s": cpu_pages - cpu_before,
            "details_cpu_s": cpu_details - cpu_pages,
        }
    finally:
        for child in reversed(children):
            child.stop()


def _load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages: other work competing for the cores."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(result: dict[str, Any], options: Options) -> str:
    """The figures and the issue's targets."""
    n = result["n"]
    page, details = result["page_s"], result["details_s"]
    page_p99 = percentile(page, 99)
    details_p99 = percentile(details, 99)
    details_bound = options.latency_s + DETAILS_MARGIN_S

    def ms(values: list[float], p: float) -> str:
        return f"{percentile(values, p) * 1000:.0f} ms" if values else "n/a"

    lines = [
        f"machine: {machine()}; load average {_load_average()}",
        f"N = {n} agents, Ropo latency {options.latency_s:g} s",
        f"acks:          page clicks p50 {ms(result['page_ack_s'], 50)}, "
        f"p99 {ms(result['page_ack_s'], 99)}; details clicks p50 "
        f"{ms(result['details_ack_s'], 50)}, p99 {ms(result['details_ack_s'], 99)}",
        f"page (Next):   {len(page)}/{n} arrived ({result['page_invoice_lists']} invoice lists); "
        f"p50 {ms(page, 50)}, p99 {ms(page, 99)}, max {ms(page, 100)}; "
        f"Ropo lookups during the burst: {result['page_ropo_lookups']}; "
        f"app CPU {result['page_cpu_s'] * 1000 / n:.1f} ms per click",
        f"details:       {len(details)}/{n} shown; "
        f"p50 {ms(details, 50)}, p99 {ms(details, 99)}, max {ms(details, 100)}; "
        f"Ropo job details calls: {result['details_ropo_calls']}; "
        f"app CPU {result['details_cpu_s'] * 1000 / n:.1f} ms per click",
        "targets:",
        f"  page p99 ≤ {PAGE_P99_TARGET_S * 1000:.0f} ms: "
        + ("met" if len(page) == n and page_p99 <= PAGE_P99_TARGET_S else "NOT met"),
        "  0 Ropo lookups while paging: "
        + ("met" if result["page_ropo_lookups"] == 0 else "NOT met"),
        f"  details p99 ≤ {details_bound * 1000:.0f} ms (Ropo + 300 ms): "
        + ("met" if len(details) == n and details_p99 <= details_bound else "NOT met"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run once at each N and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.interactions", description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[200], help="agents per burst")
    parser.add_argument("--ropo-latency", type=float, default=1.0, help="seconds per Ropo call")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per run, at most")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy of the app during both bursts"
    )
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples a second")
    parser.add_argument(
        "--app-dir", type=Path, default=REPO, help="run the bot/ package found here (a copy)"
    )
    args = parser.parse_args(argv)
    if any(n < 1 or n > 2000 for n in args.n):
        parser.error("--n takes counts from 1 to 2000")
    options = Options(
        latency_s=args.ropo_latency,
        time_limit_s=args.time_limit,
        app_dir=args.app_dir,
        app_path=[],
        warm_up=False,
        profile_dir=args.profile,
        profile_rate=args.profile_rate,
        keep_logs=False,
        extra_env={"RESULT_CACHE_TTL_S": "300"},  # the default, stated: what is measured
    )
    logdir = Path(tempfile.mkdtemp(prefix="ropo-bench-clicks-"))
    try:
        for n in args.n:
            rundir = logdir / f"n{n}"
            rundir.mkdir()
            print(f"running N = {n} ...", file=sys.stderr, flush=True)
            print(report(asyncio.run(run(n, options, rundir)), options))
    except (RuntimeError, KeyError, ValueError) as exc:
        print(f"benchmark failed: {exc!r}; logs: {logdir}", file=sys.stderr)
        return 1
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
