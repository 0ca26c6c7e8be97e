"""Shared fixtures: the whole stack on loopback, and one log file for the whole run.

Every test runs with the app's own logging set-up at DEBUG (Bolt then logs whole request
payloads), written to one file that ``test_zz_log_hygiene.py`` scans for identity codes.
Every payload any Slack stand-in receives in the run is scanned for them too, and every
audit database the run creates lives in one temporary directory, removed at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.dev.slack_requests import (
    block_actions_body,
    button_click,
    signed_headers,
    slash_command_body,
)
from bot.dev.slack_standin import Received, SlackStandIn
from bot.logs import configure_logging
from bot.redact import HETU_SHAPE
from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, SandboxState, create_sandbox_app
from bot.settings import Settings
from bot.slack.web import EVENTS_PATH, create_web_app
from tests.servers import ServedApp

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-0000-bot-token"
LOG_ENV = "BOT_TEST_APP_LOG"  # where this run's app log is; read by test_zz_log_hygiene.py
AUDIT_KEY = "test-audit-key-0123456789-abcdefghijklmnop"
AUDIT_DIR_ENV = "BOT_TEST_AUDIT_DIR"  # this run's audit databases


def app_log() -> Path:
    """This run's app log file (one per pytest process, so parallel runs don't collide)."""
    return Path(os.environ[LOG_ENV])


def audit_db_path(name: str = "audit") -> Path:
    """A fresh audit database path in this run's temporary directory."""
    return Path(os.environ[AUDIT_DIR_ENV]) / f"{name}-{next(_AUDIT_DBS)}.db"


_AUDIT_DBS = itertools.count(1)


class SlackPayloadScan:
    """Every payload the Slack stand-ins receive, scanned for readable identity codes."""

    def __init__(self) -> None:
        self.scanned = 0
        self.leaks: list[str] = []
        self._lock = threading.Lock()

    def scan(self, received: Received) -> None:
        """Count one payload; keep where it went if it holds something HETU-shaped."""
        leaked = HETU_SHAPE.search(json.dumps(received.body, ensure_ascii=False))
        with self._lock:
            self.scanned += 1
            if leaked:
                self.leaks.append(f"{received.kind} {received.name}")


_SLACK_SCAN = pytest.StashKey[SlackPayloadScan]()


def _scan_every_slack_standin(scan: SlackPayloadScan) -> None:
    """Have every SlackStandIn of the run, the demo's included, report what it receives."""
    record = SlackStandIn._record

    def scanned_record(self: SlackStandIn, received: Received) -> None:
        scan.scan(received)
        record(self, received)

    SlackStandIn._record = scanned_record  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def slack_payload_scan(pytestconfig: pytest.Config) -> SlackPayloadScan:
    """What the stand-ins have received so far in this run (read by test_zz_log_hygiene.py)."""
    return pytestconfig.stash[_SLACK_SCAN]


def pytest_configure(config: pytest.Config) -> None:
    """Route the app's log output, at DEBUG, through its own redacting set-up into APP_LOG.

    Also: audit databases go to a temporary directory (``AUDIT_DB`` points there for the
    subprocesses the CLI tests start), and every Slack stand-in's payloads are scanned.
    """
    audit_dir = tempfile.mkdtemp(prefix="bot-test-audit-")
    os.environ[AUDIT_DIR_ENV] = audit_dir
    os.environ["AUDIT_DB"] = str(Path(audit_dir) / "subprocess-audit.db")
    config.stash[_SLACK_SCAN] = SlackPayloadScan()
    _scan_every_slack_standin(config.stash[_SLACK_SCAN])
    fd, path = tempfile.mkstemp(prefix="bot-test-app-", suffix=".log")
    os.environ[LOG_ENV] = path
    stream = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
    config.stash[_LOG_STREAM] = stream
    configure_logging(
        Settings(
            _env_file=None,
            log_level="DEBUG",
            ropo_cid=SANDBOX_CID,
            ropo_apicode=SANDBOX_APICODE,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
        ),
        stream=stream,
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    stream = config.stash.get(_LOG_STREAM, None)
    if stream is not None:
        stream.close()
        Path(os.environ.pop(LOG_ENV)).unlink(missing_ok=True)
    os.environ.pop("AUDIT_DB", None)
    audit_dir = os.environ.pop(AUDIT_DIR_ENV, None)
    if audit_dir is not None:
        shutil.rmtree(audit_dir, ignore_errors=True)


_LOG_STREAM = pytest.StashKey[Any]()


def stack_settings(ropo_url: str, slack_url: str, **overrides: Any) -> Settings:
    """Settings that point the app at the loopback stand-ins, as a deployment would.

    Each call gets its own audit database. The per-agent rate limit is far above what a test
    module's agent does (test_e2e_access.py pins the real default), and so is the number of
    Ropo failures that opens the circuit breaker: a module asks for one FAULT customer after
    another (test_e2e_outage.py pins the breaker).
    """
    values: dict[str, Any] = {
        "ropo_base_url": f"{ropo_url}/rest",
        "ropo_cid": SANDBOX_CID,
        "ropo_apicode": SANDBOX_APICODE,
        "ropo_timeout_s": 2.0,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack_url}/api/",
        "audit_key": AUDIT_KEY,
        "audit_db": audit_db_path("stack"),
        "rate_limit_per_minute": 10_000,
        "ropo_circuit_failures": 1000,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class Stack:
    """The real HTTP app between a Slack stand-in and a Ropo One stand-in, all on loopback."""

    url: str
    slack_url: str
    ropo: SandboxState
    slack: SlackStandIn
    http: httpx.Client
    _sent: int = 0
    settings: Settings | None = field(default=None, repr=False)

    def post(self, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None):
        """POST a form body to /slack/events, signed as Slack signs it."""
        headers = signed_headers(secret, body, timestamp=timestamp)
        return self.http.post(self.url + EVENTS_PATH, content=body, headers=headers)

    def response_url(self) -> tuple[str, str]:
        """A fresh response_url on the Slack stand-in and its token."""
        self._sent += 1
        token = f"r{self._sent}"
        return token, f"{self.slack_url}/response/{token}"

    def command(self, text: str, **kwargs: Any) -> tuple[httpx.Response, str]:
        """Send ``/invoices text``; return the HTTP answer and the response_url token."""
        token, url = self.response_url()
        return self.post(slash_command_body(text, url, **kwargs)), token

    def reply(self, token: str, timeout: float = 10.0) -> dict[str, Any]:
        """The one message the app posted to ``token``'s response_url."""
        received = self.slack.wait_for_responses(1, token, timeout=timeout)
        assert len(received) == 1, f"expected one reply, got {len(received)}"
        return received[0].body

    def click(self, button: dict[str, Any], block_id: str) -> tuple[httpx.Response, str]:
        """Click a button of an ephemeral reply; return the HTTP answer and the new token."""
        token, url = self.response_url()
        return self.post(block_actions_body(button_click(button, block_id), url)), token


@dataclass(frozen=True)
class StackServers:
    """The three loopback servers of one stack, and the settings the app runs with."""

    bot: ServedApp
    ropo: ServedApp
    slack_server: ServedApp
    slack: SlackStandIn
    settings: Settings


@contextmanager
def serve_stack(**overrides: Any) -> Iterator[StackServers]:
    """Start a Ropo sandbox, a Slack stand-in and the app, with ``overrides`` to its settings."""
    slack = SlackStandIn()
    ropo_app = create_sandbox_app(slow_delay_s=5.0)
    with ServedApp(ropo_app) as ropo, ServedApp(slack.app, lifespan="off") as slack_server:
        settings = stack_settings(ropo.url, slack_server.url, **overrides)
        with ServedApp(create_web_app(settings)) as bot:
            yield StackServers(bot, ropo, slack_server, slack, settings)
        ropo_app.state.sandbox  # noqa: B018 - keep the app alive until the bot has stopped


@pytest.fixture(scope="module")
def stack_servers() -> Iterator[StackServers]:
    """One Ropo sandbox, one Slack stand-in and one app per test module.

    A module overrides this fixture, with :func:`serve_stack`, to run with other settings.
    """
    with serve_stack() as servers:
        yield servers


@contextmanager
def open_stack(servers: StackServers) -> Iterator[Stack]:
    """A test's view of ``servers``, with the stand-ins' recordings cleared."""
    state: SandboxState = servers.ropo._server.config.app.state.sandbox  # type: ignore[attr-defined]
    state.reset()
    servers.slack.clear()
    with httpx.Client(timeout=15) as http:
        yield Stack(
            servers.bot.url,
            servers.slack_server.url,
            state,
            servers.slack,
            http,
            settings=servers.settings,
        )


@pytest.fixture
def stack(stack_servers: StackServers) -> Iterator[Stack]:
    """The module's stack with the stand-ins' recordings cleared for this test."""
    with open_stack(stack_servers) as opened:
        yield opened
