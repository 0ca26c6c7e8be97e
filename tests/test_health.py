"""``/readyz`` turns 503 naming what stops lookups, and 200 again once it works again."""

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
from typing import Any

import httpx
import pytest
import uvicorn

from bot.audit import store as audit_store
from bot.dev.slack_requests import global_shortcut_body
from bot.dev.slack_standin import SlackStandIn
from bot.health import Readiness
from bot.ropo.sandbox import create_sandbox_app
from bot.services import Services
from bot.slack import identity as identity_module
from bot.slack.web import DrainingServer, create_web_app
from tests.conftest import (
    AUDIT_KEY,
    BOT_TOKEN,
    SIGNING_SECRET,
    Stack,
    StackServers,
    open_stack,
    serve_stack,
    stack_settings,
)
from tests.servers import ServedApp
from tests.test_cli import ROOT
from tests.test_metrics import scrape, value

EVERYTHING_OK = {
    "draining": "ok",
    "slack": "ok",
    "audit": "ok",
    "ropo_credentials": "ok",
    "ropo_circuit": "ok",
}


@pytest.fixture(scope="module")
def stack_servers() -> Iterator[StackServers]:
    """A stack of this module's own: its tests break the audit writer and Ropo's logins."""
    with serve_stack() as servers:
        yield servers


def services_of(servers: StackServers) -> Services:
    """The running app's services (the test reaches in to break and mend them)."""
    return servers.bot._server.config.app.state.services  # type: ignore[attr-defined]


def readyz(stack: Stack) -> tuple[int, dict[str, Any]]:
    response = httpx.get(stack.url + "/readyz", timeout=5)
    return response.status_code, response.json()


def test_ready_when_slack_the_audit_trail_and_ropo_all_work(stack: Stack):
    assert readyz(stack) == (200, {"status": "ready", "checks": EVERYTHING_OK})


def test_not_ready_while_the_audit_writer_is_dead_and_ready_once_a_lookup_restarts_it(
    stack: Stack, stack_servers: StackServers
):
    store = services_of(stack_servers).audit._store.audit  # the SQLite store's writer
    dead = store._thread
    store._queue.put(audit_store._STOP)  # the writer ends as if a bug had killed it
    dead.join(5)
    assert not dead.is_alive()

    status, body = readyz(stack)
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["audit"].startswith("the audit writer has stopped")
    assert body["checks"]["slack"] == "ok"

    _, token = stack.command("C-1001")
    assert "Invoices for C-1001" in stack.reply(token)["text"]  # audited by a new writer
    assert readyz(stack) == (200, {"status": "ready", "checks": EVERYTHING_OK})


def test_not_ready_after_ropo_refuses_the_credentials_and_ready_after_a_good_login(
    stack: Stack,
):
    stack.ropo.refuse_logins = True  # e.g. the apicode was rotated at Ropo
    stack.ropo.revoke_tokens()  # so the next lookup must log in
    _, token = stack.command("C-1001")
    assert "Invoices for" not in stack.reply(token)["text"]
    status, body = readyz(stack)
    assert status == 503
    assert body["checks"]["ropo_credentials"] == (
        "Ropo One refused ROPO_CID/ROPO_APICODE at the last login"
    )
    assert "sandbox-apicode" not in str(body)

    stack.ropo.refuse_logins = False
    _, token = stack.command("C-1001")
    assert "Invoices for C-1001" in stack.reply(token)["text"]
    assert readyz(stack) == (200, {"status": "ready", "checks": EVERYTHING_OK})


def test_not_ready_until_slack_accepts_the_bot_token():
    slack = SlackStandIn()
    slack.api_errors["auth.test"] = "invalid_auth"
    ropo_app = create_sandbox_app()
    with ServedApp(ropo_app) as ropo, ServedApp(slack.app, lifespan="off") as slack_server:
        settings = stack_settings(ropo.url, slack_server.url)
        with ServedApp(create_web_app(settings)) as bot:
            response = httpx.get(bot.url + "/readyz", timeout=5)
            assert response.status_code == 503
            assert response.json()["checks"]["slack"] == (
                "Slack's auth.test failed (invalid_auth): is SLACK_BOT_TOKEN right?"
            )
            assert httpx.get(bot.url + "/healthz", timeout=5).status_code == 200

            del slack.api_errors["auth.test"]
            # The first request asks auth.test again (authorize), as the background retry would.
            with open_stack(StackServers(bot, ropo, slack_server, slack, settings)) as stack:
                _, token = stack.command("C-1001")
                assert "Invoices for C-1001" in stack.reply(token)["text"]
                assert readyz(stack)[0] == 200


def test_draining_answers_503_while_lookups_are_still_answered(
    stack: Stack, stack_servers: StackServers
):
    readiness = services_of(stack_servers).readiness
    try:
        readiness.start_draining()
        status, body = readyz(stack)
        assert status == 503
        assert body["checks"]["draining"] == "shutting down: finishing the lookups under way"
        assert httpx.get(stack.url + "/healthz", timeout=5).status_code == 200
        _, token = stack.command("C-1001")
        assert "Invoices for C-1001" in stack.reply(token)["text"]
    finally:
        readiness.draining = False
    assert readyz(stack)[0] == 200


def served_draining(readiness: Readiness, busy: threading.Event) -> ServedApp:
    """A tiny app under a :class:`DrainingServer` that is busy while ``busy`` is set."""

    def draining_server(config: uvicorn.Config) -> uvicorn.Server:
        return DrainingServer(config, readiness, busy=busy.is_set, max_drain_s=600)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"served"})

    return ServedApp(app, lifespan="off", server=draining_server)


def stopped(served: ServedApp) -> threading.Event:
    """Set once ``served``'s server thread has ended."""
    done = threading.Event()
    threading.Thread(target=lambda: (served._thread.join(), done.set()), daemon=True).start()
    return done


def test_after_sigterm_a_busy_server_serves_on_until_its_work_is_done():
    readiness, busy = Readiness(), threading.Event()
    busy.set()
    with served_draining(readiness, busy) as served:
        served._server.handle_exit(signal.SIGTERM, None)
        assert readiness.draining
        # Still serving, on new connections too, while the load balancer notices the 503.
        assert httpx.get(served.url, timeout=5).text == "served"
        assert not served._server.should_exit
        done = stopped(served)
        busy.clear()  # the last lookup is answered
        assert done.wait(10)


def test_a_second_sigterm_stops_a_draining_server_at_once():
    readiness, busy = Readiness(), threading.Event()
    busy.set()
    with served_draining(readiness, busy) as served:
        served._server.handle_exit(signal.SIGTERM, None)
        assert httpx.get(served.url, timeout=5).text == "served"
        done = stopped(served)
        served._server.handle_exit(signal.SIGTERM, None)
        assert done.wait(10)
        assert busy.is_set()


def test_a_readiness_check_that_raises_counts_as_failing():
    readiness = Readiness()

    def broken() -> str | None:
        raise RuntimeError("131052-308T")

    readiness.add("broken", broken)
    report = readiness.report()
    assert not report.ready
    assert report.as_json() == {
        "status": "not ready",
        "checks": {"draining": "ok", "broken": "the check itself failed (RuntimeError)"},
    }


def test_python_m_bot_serve_drains_on_sigterm_with_json_logs(tmp_path):
    """The real process: after SIGTERM /readyz is 503 while a lookup is still answered."""
    slack = SlackStandIn()
    ropo_app = create_sandbox_app()
    with (
        ServedApp(ropo_app) as ropo,
        ServedApp(slack.app, lifespan="off", date_header=False) as slack_server,
        httpx.Client(timeout=5) as http,
    ):
        settings = stack_settings(ropo.url, slack_server.url)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_"))},
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": settings.slack_api_url,
            "ROPO_BASE_URL": settings.ropo_base_url,
            "ROPO_CID": "sandbox",
            "ROPO_APICODE": "sandbox-apicode",
            "ROPO_TIMEOUT_S": "10",
            "AUDIT_KEY": AUDIT_KEY,
            "AUDIT_DB": str(settings.audit_db),
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        listening: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert process.stderr is not None
            for text in process.stderr:
                lines.append(text)
                found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", text)
                if found:
                    listening.put(found.group(1))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            url = listening.get(timeout=30)
            stack = Stack(url, slack_server.url, ropo_app.state.sandbox, slack, http)
            assert readyz(stack)[0] == 200
            stack.ropo.latency_s = 1.5  # a lookup is under way when the deploy comes
            response, token = stack.command("C-1001")
            assert response.status_code == 200
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10  # the signal is handled on the process's own time
            while (answer := readyz(stack))[0] == 200:
                assert time.monotonic() < deadline, "SIGTERM never turned /readyz to 503"
                time.sleep(0.02)
            assert answer[0] == 503
            assert answer[1]["checks"]["draining"] != "ok"
            assert http.get(url + "/healthz").status_code == 200  # still serving
            assert "Invoices for C-1001" in stack.reply(token)["text"]
            assert process.wait(timeout=30) == 0  # stopped by itself once the answer was out
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        reader.join(10)
    records = [json.loads(text) for text in lines]  # every line is one JSON object
    assert any("draining" in record["message"] for record in records)
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert not any("color_message" in record for record in records)
    assert BOT_TOKEN not in "".join(lines)


def test_not_ready_after_an_audit_write_fails_and_ready_after_one_is_stored(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    def disk_full(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    failed_before = value(scrape(stack.url), "ropo_invoices_audit_writes_total", result="failed")
    with monkeypatch.context() as patch:
        patch.setattr(audit_store, "_insert", disk_full)
        _, token = stack.command("C-1001")
        reply = stack.reply(token)
    assert "This lookup could not be recorded" in json.dumps(reply)
    assert "SBX-" not in json.dumps(reply)  # withheld
    status, body = readyz(stack)
    assert status == 503
    assert body["checks"]["audit"] == (
        "the last audit write failed (see the log): check AUDIT_DB's disk"
    )
    failed_after = value(scrape(stack.url), "ropo_invoices_audit_writes_total", result="failed")
    assert failed_after - failed_before == 1

    _, token = stack.command("C-1001")
    assert "Invoices for C-1001" in stack.reply(token)["text"]
    assert readyz(stack) == (200, {"status": "ready", "checks": EVERYTHING_OK})


def test_not_ready_once_slack_refuses_the_token_and_ready_when_auth_test_accepts_it_again(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(identity_module, "RETRY_S", (0.05,))
    stack.slack.api_errors["views.open"] = "token_revoked"
    stack.slack.api_errors["auth.test"] = "token_revoked"
    try:
        stack.post(global_shortcut_body())
        stack.slack.wait_for_api_calls("views.open", 1)
        deadline = time.monotonic() + 10
        while (answer := readyz(stack))[0] == 200:  # noted as Slack's answer is read
            assert time.monotonic() < deadline, "the refused token never showed in /readyz"
            time.sleep(0.01)
        assert answer[1]["checks"]["slack"] == (
            "Slack refused the bot token (token_revoked): is SLACK_BOT_TOKEN still valid?"
        )
        stack.slack.wait_for_api_calls("auth.test", 1)  # asked again, and refused again
        assert readyz(stack)[0] == 503
    finally:
        stack.slack.api_errors.clear()
    deadline = time.monotonic() + 10
    while readyz(stack)[0] != 200:  # the next auth.test, a retry away, accepts the token
        assert time.monotonic() < deadline, "/readyz never recovered"
        time.sleep(0.01)
    assert readyz(stack) == (200, {"status": "ready", "checks": EVERYTHING_OK})
