"""Load benchmark: N signed ``/invoices`` commands at once against the real HTTP app.

``.venv/bin/python -m bench.load --n 50 200 800 --ropo-latency 1.0``

For each N, three fresh processes on 127.0.0.1: the app exactly as the ``Procfile`` runs it
(``python -m bot serve``), the Ropo One sandbox with the given latency
(:mod:`bench.ropo_server`) and Slack's side (:mod:`bench.receiver`). This process only
generates load: it pre-builds and signs N commands, fires them at once, each on its own
connection, and times the acknowledgement (send → HTTP 200) and the reply (send → the
invoice list arriving at ``response_url``). See ``bench/README.md`` for how to read it.

``--database-url postgresql://…`` runs the app on PostgreSQL (a fresh database per run,
created on that server and dropped after); ``--web-concurrency 2`` runs two worker
processes (``WEB_CONCURRENCY``), measured as one app: CPU and peak RSS summed over them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.pure import RENDER_KEY
from bot.dev.slack_requests import signed_headers, slash_command_body

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SIGNING_SECRET = "bench-signing-secret"
IDENTIFIERS = ("C-1001", "131052-308T", "C-1200")  # small, HETU, 120 invoices
LATE_ACK_S = 3.0  # Slack shows the agent an error after this
ACK_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# (metric key, label, target at N=200, target at N=800); a target is (comparison, bound).
TARGET_ROWS = (
    ("bad_acks", "late (≥ 3 s) or failed acks", ("=", 0), ("=", 0)),
    ("ack_p99", "ack p99", ("≤", 0.100), ("≤", 0.500)),
    ("shown_p99", "invoices shown p99", ("≤", 1.3), ("≤", 2.0)),
    ("token_requests", "token requests", ("=", 1), ("=", 1)),
)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Child:
    """A server process of one run, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        """Its process and every descendant (uvicorn's worker processes, with WEB_CONCURRENCY)."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            with contextlib.suppress(OSError, ValueError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                queue.extend(int(child) for child in children)
        return found

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far, by it and its descendants."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def status_kb(self, key: str) -> int:
        """A ``/proc/<pid>/status`` size in kB (``VmHWM``: peak resident set), summed."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        return total

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it will not go."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_tail(self, lines: int = 15) -> str:
        """The end of its output, for a failure message."""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(f"    {self.name}| {line}" for line in text[-lines:])


def spawn(name: str, argv: list[str], env: dict[str, str], cwd: Path, logdir: Path) -> Child:
    """Start ``argv`` with its output going to ``logdir/name.log``."""
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    return Child(name, process, log)


# --- a minimal HTTP/1.1 client: per request it costs little more than the socket calls -------


async def http_exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Send one raw request on a new connection; return the status and body."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                return status, await reader.readexactly(int(value))
        return status, await reader.read()  # no length: the body ends when the server closes
    finally:
        writer.close()


def raw_request(method: str, port: int, path: str, headers: dict[str, str], body: str) -> bytes:
    """A complete HTTP/1.1 request; the server closes the connection after answering."""
    data = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def http_get(port: int, path: str) -> tuple[int, bytes]:
    """GET ``path`` on 127.0.0.1."""
    return await http_exchange(port, raw_request("GET", port, path, {}, ""))


async def wait_ready(child: Child, port: int, path: str) -> float:
    """Poll ``path`` until it answers 200; return when it did (monotonic)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            status, _ = await http_get(port, path)
            if status == 200:
                return time.monotonic()
        await asyncio.sleep(0.005)
    raise RuntimeError(f"{child.name} did not answer {path} in {READY_TIMEOUT_S:g} s")


# --- one run --------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What one run at N measured; latencies in seconds, ``None`` where nothing came."""

    n: int
    startup_s: float = math.nan
    sent_at: list[float] = field(default_factory=list)
    go_at: float = math.nan  # when the burst started (monotonic)
    acked_at: list[float] = field(default_factory=list)
    replied_at: list[float] = field(default_factory=list)
    lookup_times: list[tuple[float, float]] = field(default_factory=list)  # Ropo: asked, answered
    ack_s: list[float | None] = field(default_factory=list)
    ack_status: list[int | str] = field(default_factory=list)
    shown_s: list[float | None] = field(default_factory=list)
    reply_kinds: list[str] = field(default_factory=list)
    extra_replies: int = 0
    token_requests: int = -1
    lookups: int = -1
    api_calls: dict[str, int] = field(default_factory=dict)
    peak_rss_kb: int = 0
    cpu_s: dict[str, float] = field(default_factory=dict)
    app_cpu_before_s: float = math.nan  # the app's CPU when the burst started: start-up's
    wall_s: float = math.nan
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def bad_acks(self) -> int:
        """Acks that failed or came at or after Slack's 3 s."""
        return sum(1 for a in self.ack_s if a is None or a >= LATE_ACK_S)

    @property
    def failed_replies(self) -> int:
        """Replies that came but are not an invoice list."""
        return sum(1 for k in self.reply_kinds if k not in ("invoices", "missing"))

    @property
    def missing_replies(self) -> int:
        """Commands whose reply never came."""
        return self.reply_kinds.count("missing")


@dataclass
class Options:
    """The command line, as the runs need it."""

    latency_s: float
    time_limit_s: float
    app_dir: Path
    app_path: list[str]
    warm_up: bool
    profile_dir: Path | None
    profile_rate: int
    keep_logs: bool
    extra_env: dict[str, str]
    texts: tuple[str, ...] = IDENTIFIERS
    database_url: str | None = None  # a server to create each run's database on
    web_concurrency: int = 1


def app_env(options: Options, ropo_port: int, recv_port: int, rundir: Path) -> dict[str, str]:
    """The app's environment: the Procfile's command, pointed at the stand-ins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROPO_", "SLACK_", "AUDIT_"))}
    env.pop("PORT", None)
    env.update(
        PYTHONPATH=app_pythonpath(options),
        ROPO_BASE_URL=f"http://{HOST}:{ropo_port}/rest",
        ROPO_CID="sandbox",
        ROPO_APICODE="sandbox-apicode",
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://{HOST}:{recv_port}/api/",
        LOG_LEVEL="WARNING",
        # With Ropo credentials every lookup is audited: a fresh trail per run.
        AUDIT_KEY="bench-audit-key-" + "0123456789abcdef" * 2,
        AUDIT_DB=str(rundir / "audit.db"),
        WEB_CONCURRENCY=str(options.web_concurrency),
    )
    env.pop("DATABASE_URL", None)
    env.update(options.extra_env)
    return env


@contextlib.contextmanager
def run_database(options: Options, n: int):  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database for one run (dropped after), or None for SQLite."""
    if options.database_url is None:
        yield None
        return
    import psycopg

    name = f"bench_{os.getpid()}_n{n}"
    with psycopg.connect(options.database_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        admin.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield urlsplit(options.database_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(options.database_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


async def wait_for_workers(app: Child, workers: int) -> None:
    """With WEB_CONCURRENCY, until every worker has started and gone idle (/healthz is one)."""
    if workers <= 1:
        return
    deadline = time.monotonic() + READY_TIMEOUT_S
    while len(app.pids()) < workers + 1 or not await _idle(app):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} workers did not start:\n{app.log_tail()}")
        await asyncio.sleep(0.1)


async def _idle(app: Child, window_s: float = 0.5) -> bool:
    before = app.cpu_s()
    await asyncio.sleep(window_s)
    return app.cpu_s() - before < 0.05


def app_pythonpath(options: Options) -> str:
    """``--app-path`` dirs, the app's dir, then this repo (for ``bench.pure``)."""
    paths = [*options.app_path, str(options.app_dir), str(REPO)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(paths)


def time_pure_parts(options: Options) -> dict[str, float]:
    """:mod:`bench.pure`, run on the same ``bot`` package as the app under test."""
    env = {**os.environ, "PYTHONPATH": app_pythonpath(options)}
    out = subprocess.run(
        [sys.executable, "-m", "bench.pure"],
        env=env,
        cwd=options.app_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.pure failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def build_commands(
    n: int, app_port: int, recv_port: int, run_id: str, texts: tuple[str, ...]
) -> list[bytes]:
    """N signed ``/invoices`` requests, each with its own response_url token and agent."""
    requests = []
    for i in range(n):
        body = slash_command_body(
            texts[i % len(texts)],
            f"http://{HOST}:{recv_port}/response/{run_id}-{i}",
            user_id=f"U0BENCH{i:05d}",
            trigger_id=f"{run_id}.{i}",
        )
        headers = signed_headers(SIGNING_SECRET, body)
        requests.append(raw_request("POST", app_port, "/slack/events", headers, body))
    return requests


async def send_command(port: int, request: bytes, go: asyncio.Event) -> tuple[float, object]:
    """Wait for the starting gun, send; return the send time and (status, seconds) or error."""
    await go.wait()
    sent = time.monotonic()
    try:
        async with asyncio.timeout(ACK_TIMEOUT_S):
            status, _ = await http_exchange(port, request)
    except TimeoutError:
        return sent, "timeout"
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        return sent, type(exc).__name__
    return sent, (status, time.monotonic() - sent)


async def run_once(
    n: int, options: Options, logdir: Path, database_url: str | None = None
) -> RunResult:
    """Start the three processes, fire N commands at once, collect, stop everything."""
    result = RunResult(n)
    started = time.monotonic()
    ropo_port, recv_port, app_port = free_port(), free_port(), free_port()
    python = sys.executable
    children: list[Child] = []
    profiler: subprocess.Popen[bytes] | None = None
    try:
        bench_env = {**os.environ, "PYTHONPATH": str(REPO)}
        ropo_argv = ["-m", "bench.ropo_server", "--port", str(ropo_port)]
        ropo_argv += ["--latency", str(options.latency_s)]
        ropo = spawn("ropo", [python, *ropo_argv], bench_env, REPO, logdir)
        children.append(ropo)
        receiver = spawn(
            "receiver",
            [python, "-m", "bench.receiver", "--port", str(recv_port)],
            bench_env,
            REPO,
            logdir,
        )
        children.append(receiver)
        await wait_ready(ropo, ropo_port, "/bench/stats")
        await wait_ready(receiver, recv_port, "/bench/count")

        env = app_env(options, ropo_port, recv_port, logdir)
        if database_url is not None:
            env["DATABASE_URL"] = database_url
        spawned = time.monotonic()
        app = spawn(
            "app",
            [python, "-m", "bot", "serve", "--port", str(app_port), "--host", HOST],
            env,
            options.app_dir,
            logdir,
        )
        children.append(app)
        result.startup_s = await wait_ready(app, app_port, "/healthz") - spawned
        await wait_for_workers(app, options.web_concurrency)

        async with asyncio.timeout(max(1.0, options.time_limit_s - (time.monotonic() - started))):
            if options.warm_up:
                await warm_up(app_port, recv_port)
            if options.profile_dir is not None:
                profiler = start_profiler(app, options, n, logdir)
            result.app_cpu_before_s = app.cpu_s()
            await fire(result, n, app_port, recv_port, options.texts)
            await collect_replies(
                result, n, recv_port, started + options.time_limit_s, warmed=options.warm_up
            )
    except TimeoutError:
        result.timed_out = True
        result.notes.append(f"stopped at the {options.time_limit_s:g} s time limit")
    finally:
        if profiler is not None:
            stop_profiler(profiler)
        try:
            if result.sent_at and not result.reply_kinds:  # stopped while waiting: take what came
                with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
                    await collect_replies(result, n, recv_port, 0.0, warmed=options.warm_up)
            await collect_counters(result, children, ropo_port, recv_port)
        finally:
            for child in reversed(children):
                child.stop()
            bad = [c for c in children if c.process.returncode not in (0, -signal.SIGTERM)]
            for child in bad:
                result.notes.append(
                    f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}"
                )
            app_log = next((c.log for c in children if c.name == "app"), None)
            if app_log is not None and app_log.stat().st_size:
                result.notes.append(f"app log, distinct lines:\n{distinct_lines(app_log)}")
    result.wall_s = time.monotonic() - started
    return result


def distinct_lines(log: Path, limit: int = 8) -> str:
    """A log's lines without their timestamps, each once with how often it came."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ", 2)  # "2026-01-01 12:00:00,000 LEVEL name: message"
        text = parts[2] if len(parts) == 3 and parts[0][:4].isdigit() else line
        counts[text[:200]] = counts.get(text[:200], 0) + 1
    shown = [f"    {n:5d} × {text}" for text, n in list(counts.items())[:limit]]
    if len(counts) > limit:
        shown.append(f"    ... and {len(counts) - limit} more kinds of line")
    return "\n".join(shown)


async def warm_up(app_port: int, recv_port: int) -> None:
    """One command and its reply before the burst: the token and auth.test are then cached."""
    body = slash_command_body("C-1001", f"http://{HOST}:{recv_port}/response/warm-up")
    request = raw_request(
        "POST", app_port, "/slack/events", signed_headers(SIGNING_SECRET, body), body
    )
    await http_exchange(app_port, request)
    # The reply arrives in another process: polling is the only way to see it.
    while int((await http_get(recv_port, "/bench/count"))[1]) < 1:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def fire(
    result: RunResult, n: int, app_port: int, recv_port: int, texts: tuple[str, ...]
) -> None:
    """Send N commands at once; record each send time and acknowledgement."""
    run_id = f"n{n}"
    requests = build_commands(n, app_port, recv_port, run_id, texts)
    go = asyncio.Event()
    tasks = [asyncio.create_task(send_command(app_port, r, go)) for r in requests]
    await asyncio.sleep(0)  # every task is now parked on the event
    result.go_at = time.monotonic()
    go.set()
    outcomes = await asyncio.gather(*tasks)
    result.sent_at = [sent for sent, _ in outcomes]
    for sent, outcome in outcomes:
        if isinstance(outcome, tuple):
            status, seconds = outcome
            result.ack_status.append(status)
            result.ack_s.append(seconds if status == 200 else None)
            result.acked_at.append(sent + seconds)
        else:
            result.ack_status.append(str(outcome))
            result.ack_s.append(None)


async def collect_replies(
    result: RunResult, n: int, recv_port: int, deadline: float, *, warmed: bool
) -> None:
    """Wait for every reply (or the time limit), then match replies to commands."""
    expected = n + int(warmed)  # the warm-up's reply is counted too
    while time.monotonic() < deadline:
        count = int((await http_get(recv_port, "/bench/count"))[1])
        if count >= expected:
            break
        await asyncio.sleep(0.05)
    _, raw = await http_get(recv_port, "/bench/results")
    arrivals: dict[str, list[list]] = json.loads(raw)["arrivals"]
    sent_at = result.sent_at
    for i in range(n):
        replies = arrivals.get(f"n{n}-{i}", [])
        if not replies:
            result.shown_s.append(None)
            result.reply_kinds.append("missing")
            continue
        at, kind = replies[0]
        result.replied_at.append(at)
        result.extra_replies += len(replies) - 1
        result.reply_kinds.append(kind)
        result.shown_s.append(at - sent_at[i] if kind == "invoices" else None)


async def collect_counters(
    result: RunResult, children: list[Child], ropo_port: int, recv_port: int
) -> None:
    """Token requests from Ropo, Web API calls from the receiver, RSS and CPU from /proc."""
    for child in children:
        if child.process.poll() is None:
            result.cpu_s[child.name] = child.cpu_s()
            if child.name == "app":
                result.peak_rss_kb = child.status_kb("VmHWM")
    result.cpu_s["load generator"] = time.process_time()
    with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
        stats = json.loads((await http_get(ropo_port, "/bench/stats"))[1])
        result.token_requests = stats["token_requests"]
        result.lookups = stats["lookups"]
        result.lookup_times = [tuple(pair) for pair in stats["lookup_times"]]
    with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
        result.api_calls = json.loads((await http_get(recv_port, "/bench/results"))[1])["api_calls"]


# --- profiling ----------------------------------------------------------------------------


def start_profiler(app: Child, options: Options, n: int, logdir: Path) -> subprocess.Popen[bytes]:
    """py-spy record on the app for the burst (``pip install -e '.[bench]'`` brings py-spy)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    directory = options.profile_dir
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    rate = str(options.profile_rate)
    # --nonblocking: sampling must not pause the app, or a high rate slows what it measures.
    argv = [py_spy, "record", "--pid", str(app.process.pid), "--rate", rate, "--idle"]
    argv += ["--nonblocking"] if options.profile_rate > 200 else []
    argv += ["--format", "raw", "-o", str(directory / f"app-n{n}.folded")]
    with (logdir / "py-spy.log").open("wb") as out:
        profiler = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    time.sleep(0.5)  # py-spy needs a moment to attach
    return profiler


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """Stop py-spy so it writes its file."""
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(20)
    except subprocess.TimeoutExpired:
        profiler.kill()


# --- the report -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def machine() -> str:
    """nproc, CPU model, Python and OS, in one line."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cpus = len(os.sched_getaffinity(0))
    return (
        f"{cpus} CPU ({os.cpu_count()} online) · {model} · Python {platform.python_version()} · "
        f"{platform.system()} {platform.release()}"
    )


def server_stack(options: Options) -> str:
    """What uvicorn will pick in the app's environment ('auto': uvloop/httptools if present)."""
    env = {**os.environ, "PYTHONPATH": app_pythonpath(options)}
    code = (
        "import importlib.util as u, importlib.metadata as m;"
        "print('uvicorn', m.version('uvicorn'), '· loop:',"
        " 'uvloop' if u.find_spec('uvloop') else 'asyncio', '· http:',"
        " 'httptools' if u.find_spec('httptools') else 'h11')"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, cwd=options.app_dir, capture_output=True, text=True
    )
    return out.stdout.strip() or out.stderr.strip()


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds for the table."""
    if seconds is None or math.isnan(seconds):
        return "–"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def verdict(value: float, target: tuple[str, float]) -> str:
    """PASS or FAIL of one value against one target."""
    comparison, bound = target
    if math.isnan(value):
        return "FAIL"
    ok = value == bound if comparison == "=" else value <= bound
    return "PASS" if ok else "FAIL"


def fmt_target(key: str, target: tuple[str, float]) -> str:
    """A target as written in the issue."""
    comparison, bound = target
    if key.endswith("p99"):
        text = f"{bound * 1000:g} ms" if bound < 1 else f"{bound:g} s"
        return f"{comparison} {text}"
    return f"{comparison} {bound:g}"


def metric(result: RunResult, key: str) -> float:
    """One number of a run for the target table."""
    acks = [a for a in result.ack_s if a is not None]
    shown = [s for s in result.shown_s if s is not None]
    values = {
        "bad_acks": float(result.bad_acks),
        "ack_p99": percentile(acks, 99) if len(acks) == result.n else math.inf,
        "shown_p99": percentile(shown, 99) if len(shown) == result.n else math.inf,
        "token_requests": float(result.token_requests),
    }
    return values[key]


def report(results: list[RunResult], pure: dict[str, float], options: Options) -> str:
    """The whole printed report: per-N measurements, then the targets with PASS/FAIL."""
    out = []
    out.append(f"machine: {machine()}")
    out.append(f"app: python -m bot serve ({server_stack(options)}) · dir {options.app_dir}")
    store = "PostgreSQL (a fresh database per run)" if options.database_url else "SQLite"
    out.append(f"store: {store} · worker processes (WEB_CONCURRENCY): {options.web_concurrency}")
    mode = "warm (one command answered first)" if options.warm_up else "cold (fresh process)"
    out.append(
        f"load: N signed /invoices at once, one new connection each, typed "
        f"{'/'.join(options.texts)}"
        f" · Ropo latency {options.latency_s:g} s per lookup · start {mode}"
    )
    out.append("")
    head = f"{'':34}" + "".join(f"{f'N = {r.n}':>14}" for r in results)
    out.append(head)

    def row(label: str, cells: list[str]) -> None:
        out.append(f"{label:34}" + "".join(f"{c:>14}" for c in cells))

    def col(fn) -> list[str]:  # type: ignore[no-untyped-def]
        return [fn(r) for r in results]

    def pct(values: list[float | None], p: float) -> str:
        return ms(percentile([v for v in values if v is not None], p))

    row("ack p50", col(lambda r: pct(r.ack_s, 50)))
    row("ack p99", col(lambda r: pct(r.ack_s, 99)))
    row("ack max", col(lambda r: pct(r.ack_s, 100)))
    row("acks late (≥ 3 s)", col(lambda r: str(sum(1 for a in r.ack_s if a and a >= 3))))
    row("acks failed", col(lambda r: str(sum(1 for a in r.ack_s if a is None))))
    row("invoices shown p50", col(lambda r: pct(r.shown_s, 50)))
    row("invoices shown p99", col(lambda r: pct(r.shown_s, 99)))
    row("invoices shown max", col(lambda r: pct(r.shown_s, 100)))

    def since_go(r: RunResult, times: list[float], p: float) -> str:
        return ms(percentile([t - r.go_at for t in times], p)) if times else "–"

    row("timeline from the burst: acked p50", col(lambda r: since_go(r, r.acked_at, 50)))
    row("  acked, last", col(lambda r: since_go(r, r.acked_at, 100)))
    asked = lambda r: [a for a, _ in r.lookup_times]  # noqa: E731
    answered = lambda r: [b for _, b in r.lookup_times]  # noqa: E731
    row("  Ropo asked p50", col(lambda r: since_go(r, asked(r), 50)))
    row("  Ropo asked, last", col(lambda r: since_go(r, asked(r), 100)))
    row("  Ropo answered p50", col(lambda r: since_go(r, answered(r), 50)))
    row("  Ropo answered, last", col(lambda r: since_go(r, answered(r), 100)))
    row("  reply arrived p50", col(lambda r: since_go(r, r.replied_at, 50)))
    row("  reply arrived, last", col(lambda r: since_go(r, r.replied_at, 100)))
    row(
        "Ropo's own time per lookup, max",  # the latency asked for, plus the stand-in's own lag
        col(lambda r: ms(max((b - a for a, b in r.lookup_times), default=None))),
    )
    row("replies failed (error reply)", col(lambda r: str(r.failed_replies)))
    row("replies missing", col(lambda r: str(r.missing_replies)))
    row("token requests (Ropo saw)", col(lambda r: str(r.token_requests)))
    row("lookups (Ropo saw)", col(lambda r: str(r.lookups)))
    row("auth.test calls (Slack saw)", col(lambda r: str(r.api_calls.get("auth.test", 0))))
    row("users.info calls (Slack saw)", col(lambda r: str(r.api_calls.get("users.info", 0))))
    others = ("auth.test", "users.info")
    row(
        "other Web API calls",
        col(lambda r: str(sum(v for k, v in r.api_calls.items() if k not in others))),
    )
    row("app peak RSS (VmHWM)", col(lambda r: f"{r.peak_rss_kb / 1024:.1f} MB"))
    row("app start-up (spawn → /healthz)", col(lambda r: ms(r.startup_s)))
    row("CPU s: app", col(lambda r: f"{r.cpu_s.get('app', math.nan):.2f}"))
    row(
        "  of which from the burst on",
        col(lambda r: f"{r.cpu_s.get('app', math.nan) - r.app_cpu_before_s:.2f}"),
    )
    row("CPU s: Ropo stand-in", col(lambda r: f"{r.cpu_s.get('ropo', math.nan):.2f}"))
    row("CPU s: Slack receiver", col(lambda r: f"{r.cpu_s.get('receiver', math.nan):.2f}"))
    row("run wall time", col(lambda r: f"{r.wall_s:.1f} s"))
    for r in results:
        kinds = {s for s in r.ack_status if s != 200}
        if kinds:
            out.append(f"  N = {r.n}: non-200 acks: {sorted(map(str, kinds))}")
        if r.extra_replies:
            out.append(f"  N = {r.n}: {r.extra_replies} extra response_url posts")
        for note in r.notes:
            out.append(f"  N = {r.n}: {note}")

    out.append("")
    out.append("pure parts (timeit, median per call):")
    for name, seconds in pure.items():
        out.append(f"  {name:58} {seconds * 1e6:9.1f} µs")

    out.append("")
    out.append("targets (issue 6: this machine, Ropo latency 1.0 s; one token per worker):")
    by_n = {r.n: r for r in results}
    out.append(f"  {'target':32}{'N = 200':>24}{'N = 800':>24}")
    for key, label, t200, t800 in TARGET_ROWS:
        cells = []
        for n, target in ((200, t200), (800, t800)):
            r = by_n.get(n)
            if r is None:
                cells.append(f"({fmt_target(key, target)}) not run")
                continue
            value = metric(r, key)
            if key == "token_requests":  # each worker process logs in for itself
                target = (target[0], float(options.web_concurrency))
            shown = ms(value) if key.endswith("p99") else f"{value:g}"
            cells.append(f"{shown} {fmt_target(key, target)} {verdict(value, target)}")
        out.append(f"  {label:32}{cells[0]:>24}{cells[1]:>24}")

    def single(label: str, value: float, shown: str, bound: float, bound_text: str) -> None:
        cell = f"{shown} ≤ {bound_text} {verdict(value, ('≤', bound))}"
        out.append(f"  {label:32}{cell:>48}")

    r800 = by_n.get(800)
    if r800 is not None:
        rss = r800.peak_rss_kb / 1024
        single("peak RSS at N = 800", rss, f"{rss:.1f} MB", 150, "150 MB")
    startup = max((r.startup_s for r in results), default=math.nan)
    single("start-up (slowest run)", startup, ms(startup), 2.0, "2 s")
    render = pure[RENDER_KEY]
    single("render 120-invoice first page", render, f"{render * 1000:.2f} ms", 0.002, "2 ms")
    if options.latency_s != 1.0:
        out.append(f"  (Ropo latency was {options.latency_s:g} s, not the targets' 1.0 s)")
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> tuple[list[int], Options]:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[50, 200, 800], help="burst sizes")
    parser.add_argument("--ropo-latency", type=float, default=1.0, help="seconds per lookup")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run, at most")
    parser.add_argument(
        "--warm-up", action="store_true", help="answer one command before the burst"
    )
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=REPO,
        help="directory holding the bot/ package to run (a patched copy, to measure a fix)",
    )
    parser.add_argument(
        "--app-path",
        action="append",
        default=[],
        metavar="DIR",
        help="prepended to the app's PYTHONPATH only (e.g. a dir with uvloop/httptools)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy flame graph of the app per run"
    )
    parser.add_argument(
        "--profile-rate",
        type=int,
        default=100,
        metavar="HZ",
        help="py-spy samples per second (more is finer but slows the app down more)",
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the app (repeatable)",
    )
    parser.add_argument(
        "--text",
        action="append",
        metavar="TEXT",
        help="what the agents type, in turn (repeatable; default: "
        + ", ".join(IDENTIFIERS)
        + "); e.g. --text help measures the acknowledgement path alone",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="run on PostgreSQL: each run gets a fresh database created on this server",
    )
    parser.add_argument(
        "--web-concurrency",
        type=int,
        default=1,
        metavar="N",
        help="worker processes of the app (WEB_CONCURRENCY); default 1",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs, print where")
    args = parser.parse_args(argv)
    if any(n < 1 or n > 2000 for n in args.n):
        parser.error("--n takes counts from 1 to 2000")
    if not 1 <= args.time_limit <= 600:
        parser.error("--time-limit takes 1 to 600 seconds")
    return args.n, Options(
        latency_s=args.ropo_latency,
        time_limit_s=args.time_limit,
        app_dir=args.app_dir.resolve(),
        app_path=[str(Path(p).resolve()) for p in args.app_path],
        warm_up=args.warm_up,
        profile_dir=args.profile,
        profile_rate=args.profile_rate,
        keep_logs=args.keep_logs,
        extra_env=dict(item.split("=", 1) for item in args.app_env if "=" in item),
        texts=tuple(args.text) if args.text else IDENTIFIERS,
        database_url=args.database_url,
        web_concurrency=max(1, args.web_concurrency),
    )


def main(argv: list[str] | None = None) -> int:
    """Run every N, then print the report."""
    sizes, options = parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="ropo-bench-"))
    try:
        pure = time_pure_parts(options)
        results = []
        for n in sizes:
            rundir = logdir / f"n{n}"
            rundir.mkdir()
            print(f"running N = {n} ...", file=sys.stderr, flush=True)
            with run_database(options, n) as database_url:
                results.append(asyncio.run(run_once(n, options, rundir, database_url)))
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        print(f"logs: {logdir}", file=sys.stderr)
        return 1
    print(report(results, pure, options))
    if options.keep_logs:
        print(f"logs: {logdir}", file=sys.stderr)
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
