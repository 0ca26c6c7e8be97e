"""Shared fixtures: the whole stack on loopback, and one log file for the whole run.

Every test runs with the app's own logging set-up at DEBUG (Bolt then logs whole request
payloads), written to one file. After each test, what the file gained during it is checked
for the identity codes the tests use (in any disguise) and for the run's secrets, and so is
every payload a Slack stand-in received (``log_hygiene``, autouse): whichever tests run, in
whatever order. Every audit database the run creates lives in one temporary directory,
removed at the end.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
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
from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, SandboxState, create_sandbox_app
from bot.services import Services
from bot.settings import Settings
from bot.slack.web import EVENTS_PATH, create_web_app
from tests.privacy import (
    assert_no_identity_code,
    codes_the_tests_use,
    identity_codes_in,
    national_codes_in,
    national_codes_the_tests_use,
)
from tests.servers import ServedApp

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-0000-bot-token"
LOG_ENV = "BOT_TEST_APP_LOG"  # where this run's app log is; checked after every test
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
    """Every payload the Slack stand-ins receive, scanned for the tests' identity codes."""

    def __init__(self) -> None:
        self.scanned = 0
        self.leaks: list[str] = []
        self._lock = threading.Lock()

    def scan(self, received: Received) -> None:
        """Count one payload; keep where it went if a code the tests use is readable in it."""
        leaked = identity_codes_in(json.dumps(received.body, ensure_ascii=False), _CODES)
        with self._lock:
            self.scanned += 1
            if leaked:
                self.leaks.append(f"{received.kind} {received.name}")


_SLACK_SCAN = pytest.StashKey[SlackPayloadScan]()
_CODES = codes_the_tests_use()


def _scan_every_slack_standin(scan: SlackPayloadScan) -> None:
    """Have every SlackStandIn of the run, the demo's included, report what it receives."""
    record = SlackStandIn._record

    def scanned_record(self: SlackStandIn, received: Received) -> None:
        scan.scan(received)
        record(self, received)

    SlackStandIn._record = scanned_record  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def slack_payload_scan(pytestconfig: pytest.Config) -> SlackPayloadScan:
    """What the stand-ins have received so far in this run (checked after every test)."""
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
            audit_key=AUDIT_KEY,  # every stack's; a deployment's set-up masks its own
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


def run_secrets() -> dict[str, str]:
    """The secrets every stack of this run is configured with: never in a log line."""
    return {
        "the bot token": BOT_TOKEN,
        "the signing secret": SIGNING_SECRET,
        "the Ropo apicode": SANDBOX_APICODE,
        "the audit key": AUDIT_KEY,
    }


class LogHygiene:
    """What the run's app log gained since this object was made, and the check of it."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path or app_log()
        self._start = self._path.stat().st_size

    def written(self) -> str:
        """Everything logged since, as the app's redacting handler wrote it."""
        for handler in logging.getLogger().handlers:
            handler.flush()
        with self._path.open(encoding="utf-8", errors="replace") as log:
            log.seek(self._start)
            return log.read()

    def check(self) -> None:
        """Fail if an identity code the tests use, in any disguise, or a secret was logged."""
        text = self.written()
        assert_no_identity_code(text, where="the app log")
        national = national_codes_in(text, national_codes_the_tests_use())
        assert national == [], f"Swedish or Norwegian code(s) {national} readable in the app log"
        leaked = [name for name, secret in run_secrets().items() if secret in text]
        assert leaked == [], f"{', '.join(leaked)} in the app log"


@pytest.fixture(autouse=True)
def log_hygiene(slack_payload_scan: SlackPayloadScan) -> Iterator[LogHygiene]:
    """After each test: no identity code or secret in what it logged or sent a Slack stand-in.

    Every test is checked on its own, so the check holds for any subset in any order, and a
    leak is reported against the test that caused it.
    """
    hygiene = LogHygiene()
    leaks_before = len(slack_payload_scan.leaks)
    yield hygiene
    hygiene.check()
    leaks = slack_payload_scan.leaks[leaks_before:]
    assert leaks == [], f"an identity code the tests use reached Slack in: {leaks}"


def stack_settings(ropo_url: str, slack_url: str, **overrides: Any) -> Settings:
    """Settings that point the app at the loopback stand-ins, as a deployment would.

    Each call gets its own audit database. The per-agent rate limit is far above what a test
    module's agent does (test_e2e_access.py pins the real default), and so is the number of
    Ropo failures that opens the circuit breaker: a module asks for one FAULT customer after
    another (test_e2e_outage.py pins the breaker). The paging cache is off: a module's
    tests share one app and one agent, and a result one test left in it would answer another
    test's click (test_e2e_details.py runs with it on).
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
        "result_cache_ttl_s": 0,
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
    services: Services | None = field(default=None, repr=False)

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

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the app has no request awaiting its ack and no work after an ack.

        This is the app's own in-flight tracking (``Services.pending_acks``, ``unanswered``):
        after it, "nothing more was sent" means nothing, not "nothing yet".
        """
        assert self.services is not None, "this stack was opened without the app's services"
        deadline = time.monotonic() + timeout
        while self.services.pending_acks.count or self.services.unanswered.count:
            assert time.monotonic() < deadline, (
                f"the app still had {self.services.pending_acks.count} acks and "
                f"{self.services.unanswered.count} answers in flight after {timeout} s"
            )
            time.sleep(0.005)

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
def serve_stack(slack: SlackStandIn | None = None, **overrides: Any) -> Iterator[StackServers]:
    """Start a Ropo sandbox, a Slack stand-in and the app, with ``overrides`` to its settings.

    ``slack``: a stand-in set up beforehand, e.g. to fail the app's start-up ``auth.test``.
    """
    slack = slack or SlackStandIn()
    ropo_app = create_sandbox_app(slow_delay_s=5.0)
    with (
        ServedApp(ropo_app) as ropo,
        ServedApp(slack.app, lifespan="off", date_header=False) as slack_server,
    ):
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
            services=getattr(servers.bot._server.config.app.state, "services", None),  # type: ignore[attr-defined]
        )


@pytest.fixture
def stack(stack_servers: StackServers) -> Iterator[Stack]:
    """The module's stack with the stand-ins' recordings cleared for this test."""
    with open_stack(stack_servers) as opened:
        yield opened
