"""Instances sharing one store, as deployed: real app processes, real PostgreSQL going away.

Two ``python -m bot serve`` processes against one database share one audit trail and one
rate limit; ``WEB_CONCURRENCY=2`` runs two workers on one port; and PostgreSQL stopped and
started under a running app withholds lookups while it is away, then the app recovers.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bot.dev.slack_standin import SlackStandIn, member
from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, create_sandbox_app
from tests.conftest import AUDIT_KEY, BOT_TOKEN, SIGNING_SECRET, Stack, serve_stack
from tests.postgres import PostgresServer, running_server
from tests.servers import ServedApp

ROOT = Path(__file__).resolve().parents[2]
# One process says it as uvicorn does; WEB_CONCURRENCY's supervisor, for all its workers.
RUNNING = re.compile(r"(?:Uvicorn running on|worker processes serving) http://127\.0\.0\.1:(\d+)")
NOT_RECORDED = "This lookup could not be recorded"


@dataclass
class AppProcess:
    """One ``python -m bot serve`` process and what it has written to stderr so far."""

    process: subprocess.Popen[str]
    url: str
    lines: queue.SimpleQueue[str]

    def log(self) -> list[str]:
        seen: list[str] = []
        while not self.lines.empty():
            seen.append(self.lines.get())
        return seen


@contextmanager
def app_process(ropo_url: str, slack_url: str, **env: str) -> Iterator[AppProcess]:
    """``python -m bot serve`` on a free port, pointed at the stand-ins, until the block ends."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_"))}
    clean.pop("DATABASE_URL", None)
    settings = {
        "PYTHONPATH": str(ROOT),
        "ROPO_BASE_URL": f"{ropo_url}/rest",
        "ROPO_CID": SANDBOX_CID,
        "ROPO_APICODE": SANDBOX_APICODE,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
        "AUDIT_KEY": AUDIT_KEY,
        "LOG_LEVEL": "INFO",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT / "tests",
        env={**clean, **settings},
    )
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    ports: queue.SimpleQueue[str] = queue.SimpleQueue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
            if found := RUNNING.search(line):
                ports.put(found.group(1))

    threading.Thread(target=read, daemon=True).start()
    try:
        try:
            port = ports.get(timeout=60)
        except queue.Empty:
            pytest.fail(f"the app did not start: {[lines.get() for _ in range(lines.qsize())]}")
        yield AppProcess(process, f"http://127.0.0.1:{port}", lines)
    finally:
        process.terminate()  # SIGTERM, as a platform stops an instance
        process.wait(timeout=30)


@contextmanager
def stand_ins(latency_s: float = 0.0) -> Iterator[tuple[ServedApp, ServedApp, SlackStandIn, Any]]:
    """A Ropo One sandbox (taking ``latency_s`` per lookup) and a Slack stand-in on loopback."""
    slack = SlackStandIn()
    ropo_app = create_sandbox_app(latency_s=latency_s)
    with ServedApp(ropo_app) as ropo, ServedApp(slack.app, lifespan="off") as slack_server:
        yield ropo, slack_server, slack, ropo_app.state.sandbox


def lookups_by(agent: str, *, sqlite_path: Path | None = None, url: str | None = None) -> list:
    """(outcome, detail) of ``agent``'s audit rows, oldest first, read beside the app."""
    sql = "SELECT outcome, detail FROM lookups WHERE user_id = {} ORDER BY at, id"
    if sqlite_path is not None:
        with closing(sqlite3.connect(sqlite_path)) as connection:
            return connection.execute(sql.format("?"), (agent,)).fetchall()
    assert url is not None
    with psycopg.connect(url) as connection:
        return connection.execute(sql.format("%s").encode(), (agent,)).fetchall()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment that points app processes at one store: a file, or a database."""
    if request.param == "sqlite":
        return {"AUDIT_DB": str(tmp_path / "shared.db")}
    return {"DATABASE_URL": request.getfixturevalue("database_url")}


def test_two_app_processes_share_one_audit_trail_and_one_rate_limit(
    shared_store: dict[str, str],
) -> None:
    agent = "U0TWOAPPS"
    with stand_ins() as (ropo, slack_server, slack, state):
        slack.users[agent] = member(agent)
        with (
            app_process(ropo.url, slack_server.url, **shared_store) as first,
            app_process(ropo.url, slack_server.url, **shared_store) as second,
            httpx.Client(timeout=15) as http,
        ):
            # One stack, so response_url tokens stay unique; its URL alternates between them.
            stack = Stack(first.url, slack_server.url, state, slack, http)
            urls = [first.url, second.url]
            tokens = []
            for n in range(30):
                stack.url = urls[n % 2]
                response, token = stack.command("C-1001", user_id=agent)
                assert response.status_code == 200
                assert response.text == ""
                tokens.append(token)
            for token in tokens:
                assert "Invoices for" in stack.reply(token)["text"]
            for url in urls:  # the 31st and 32nd, whichever instance gets them
                stack.url = url
                response, _ = stack.command("C-1001", user_id=agent)
                assert "Nothing was looked up: try again in" in response.text
            assert len(state.lookups) == 30
            expected = [("found", None)] * 30 + [("refused", "rate_limited")] * 2
            database = shared_store.get("DATABASE_URL")
            path = Path(shared_store["AUDIT_DB"]) if database is None else None
            deadline = time.monotonic() + 15  # refusals are audited just after their ack
            while (rows := lookups_by(agent, sqlite_path=path, url=database)) != expected:
                assert time.monotonic() < deadline, rows
                time.sleep(0.05)

    # The audit CLI reads the same trail, from either store.
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **shared_store}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "--user", agent, "--csv"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",
        env={**env, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcomes = [line.split(",")[8] for line in result.stdout.splitlines()[1:]]
    assert outcomes == ["found 2"] * 30 + ["refused: rate_limited"] * 2


def test_sigterm_mid_burst_answers_and_stores_every_acknowledged_lookup(
    shared_store: dict[str, str],
) -> None:
    agent = "U0SIGTERM"
    with stand_ins(latency_s=0.5) as (ropo, slack_server, slack, state):
        slack.users[agent] = member(agent)
        with (
            app_process(ropo.url, slack_server.url, **shared_store) as app,
            httpx.Client(timeout=15) as http,
        ):
            stack = Stack(app.url, slack_server.url, state, slack, http)
            tokens = []
            for _ in range(20):
                response, token = stack.command("C-1001", user_id=agent)
                assert response.status_code == 200
                tokens.append(token)
            app.process.terminate()  # as a platform stops an instance, lookups in flight
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            assert app.process.wait(timeout=30) in (0, -signal.SIGTERM)
            for token in tokens:
                assert "Invoices for" in stack.reply(token)["text"]
    database = shared_store.get("DATABASE_URL")
    path = Path(shared_store["AUDIT_DB"]) if database is None else None
    assert lookups_by(agent, sqlite_path=path, url=database) == [("found", None)] * 20


def test_web_concurrency_runs_that_many_workers_on_one_port(tmp_path: Path) -> None:
    database = tmp_path / "workers.db"
    with (
        stand_ins() as (ropo, slack_server, slack, state),
        app_process(ropo.url, slack_server.url, AUDIT_DB=str(database), WEB_CONCURRENCY="2") as app,
        httpx.Client(timeout=15) as http,
    ):
        stack = Stack(app.url, slack_server.url, state, slack, http)
        deadline = time.monotonic() + 60
        started: list[str] = []
        while len(started) < 2:  # each worker builds its own app: its own directory, token
            started += [line for line in app.log() if "listening for Slack" in line]
            assert time.monotonic() < deadline, started
            time.sleep(0.05)
        tokens = [stack.command("C-1001")[1] for _ in range(4)]
        assert all("Invoices for" in stack.reply(token)["text"] for token in tokens)
    assert len(lookups_by("U0AGENT01", sqlite_path=database)) >= 4


def _wait_for_lines(app: AppProcess, text: str, count: int, seen: list[str]) -> None:
    """Wait until ``count`` lines of the app's log (``seen`` so far, extended) contain ``text``."""
    deadline = time.monotonic() + 60
    while sum(text in line for line in seen) < count:
        seen += app.log()
        assert time.monotonic() < deadline, [line for line in seen if text in line]
        time.sleep(0.05)


def _new_connection_each() -> httpx.Client:
    """A client that opens a connection per request: the kernel deals them out to the workers."""
    return httpx.Client(timeout=15, limits=httpx.Limits(max_keepalive_connections=0))


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextmanager
def two_workers(
    tmp_path: Path, *, latency_s: float = 0.0, members: tuple[str, ...] = ()
) -> Iterator[tuple[AppProcess, Stack, list[str]]]:
    """The app with ``WEB_CONCURRENCY=2`` once both workers listen, a stack, and its log."""
    with stand_ins(latency_s) as (ropo, slack_server, slack, state):
        for agent in members:
            slack.users[agent] = member(agent)
        database = str(tmp_path / "workers.db")
        with app_process(ropo.url, slack_server.url, AUDIT_DB=database, WEB_CONCURRENCY="2") as app:
            seen: list[str] = []
            _wait_for_lines(app, "listening for Slack", 2, seen)
            yield app, Stack(app.url, slack_server.url, state, slack, _new_connection_each()), seen


def test_sigterm_drains_every_worker_of_web_concurrency(tmp_path: Path) -> None:
    agent = "U0WORKERS"
    with two_workers(tmp_path, latency_s=0.5, members=(agent,)) as (app, stack, _):
        tokens = []
        for _ in range(20):
            response, token = stack.command("C-1001", user_id=agent)
            assert response.status_code == 200
            tokens.append(token)
        app.process.terminate()  # to the supervisor, as a platform stops an instance
        assert app.process.wait(timeout=30) == 0
        for token in tokens:
            assert "Invoices for" in stack.reply(token)["text"]
    rows = lookups_by(agent, sqlite_path=tmp_path / "workers.db")
    assert rows == [("found", None)] * 20


def test_a_worker_that_dies_is_replaced_and_the_others_serve_on(tmp_path: Path) -> None:
    with two_workers(tmp_path) as (app, stack, seen):
        workers = _children(app.process.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        _wait_for_lines(app, "listening for Slack", 3, seen)  # its replacement is up
        assert any("stopped with status -9" in line for line in seen)
        assert app.process.poll() is None
        assert len(set(_children(app.process.pid)) - {workers[0]}) == 2
        for _ in range(10):
            _, token = stack.command("C-1001")
            assert "Invoices for" in stack.reply(token)["text"]


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # exited, not yet reaped by whoever adopted it


def test_workers_stop_by_themselves_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    with two_workers(tmp_path) as (app, _, _):
        workers = _children(app.process.pid)
        app.process.kill()  # SIGKILL: the supervisor cannot pass anything on
        deadline = time.monotonic() + 30
        while not all(_gone(pid) for pid in workers):
            assert time.monotonic() < deadline, "the workers serve on without a supervisor"
            time.sleep(0.1)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, to stop and start under the app."""
    with running_server() as server:
        yield server


def test_postgres_stopped_mid_run_withholds_lookups_and_the_app_recovers_by_itself(
    own_postgres: PostgresServer,
) -> None:
    url = own_postgres.create_database()
    slack = SlackStandIn()
    slack.users["U0AGENT77"] = member("U0AGENT77")
    with (
        serve_stack(slack, database_url=url, rate_limit_per_minute=30) as servers,
        httpx.Client(timeout=15) as http,
    ):
        stack = Stack(
            servers.bot.url,
            servers.slack_server.url,
            servers.ropo._server.config.app.state.sandbox,  # type: ignore[attr-defined]
            servers.slack,
            http,
        )
        _, token = stack.command("C-1001")
        assert "Invoices for" in stack.reply(token)["text"]

        own_postgres.stop()
        response, token = stack.command("C-1001")
        assert response.status_code == 200  # acknowledged in time all the same
        shown = json.dumps(stack.reply(token, timeout=30))
        assert NOT_RECORDED in shown
        assert "SBX-" not in shown  # no invoice of the lookup that was not recorded
        # An agent this process has not seen yet: their language can't be read either, so
        # they are answered in the default one, with the same words.
        response, token = stack.command("C-1001", user_id="U0AGENT77")
        assert response.status_code == 200
        assert NOT_RECORDED in json.dumps(stack.reply(token, timeout=30))

        own_postgres.start()
        deadline = time.monotonic() + 60
        while True:  # the pool reconnects in the background: the next lookups succeed
            _, token = stack.command("C-1001")
            text = json.dumps(stack.reply(token, timeout=30))
            if "Invoices for" in text:
                break
            assert NOT_RECORDED in text
            assert time.monotonic() < deadline, "the app did not recover"
        rows = lookups_by("U0AGENT01", url=url)
    # Shown lookups were recorded; the one withheld while PostgreSQL was away was not.
    assert rows[0] == ("found", None)
    assert rows[-1] == ("found", None)
    assert len(rows) >= 2
