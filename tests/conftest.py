"""Shared fixtures: the whole stack on loopback, and one log file for the whole run.

Every test runs with the app's own logging set-up at DEBUG (Bolt then logs whole request
payloads), written to one file that ``test_zz_log_hygiene.py`` scans for identity codes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.logs import configure_logging
from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, SandboxState, create_sandbox_app
from bot.settings import Settings
from bot.slack_requests import (
    block_actions_body,
    button_click,
    signed_headers,
    slash_command_body,
)
from bot.slack_standin import SlackStandIn
from bot.web import EVENTS_PATH, create_web_app
from tests.servers import ServedApp

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-0000-bot-token"
LOG_ENV = "BOT_TEST_APP_LOG"  # where this run's app log is; read by test_zz_log_hygiene.py


def app_log() -> Path:
    """This run's app log file (one per pytest process, so parallel runs don't collide)."""
    return Path(os.environ[LOG_ENV])


def pytest_configure(config: pytest.Config) -> None:
    """Route the app's log output, at DEBUG, through its own redacting set-up into APP_LOG."""
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


_LOG_STREAM = pytest.StashKey[Any]()


def stack_settings(ropo_url: str, slack_url: str, **overrides: Any) -> Settings:
    """Settings that point the app at the loopback stand-ins, as a deployment would."""
    values: dict[str, Any] = {
        "ropo_base_url": f"{ropo_url}/rest",
        "ropo_cid": SANDBOX_CID,
        "ropo_apicode": SANDBOX_APICODE,
        "ropo_timeout_s": 2.0,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack_url}/api/",
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


@pytest.fixture(scope="module")
def stack_servers() -> Iterator[tuple[ServedApp, ServedApp, ServedApp, SlackStandIn]]:
    """One Ropo sandbox, one Slack stand-in and one app per test module."""
    slack = SlackStandIn()
    ropo_app = create_sandbox_app(slow_delay_s=5.0)
    with ServedApp(ropo_app) as ropo, ServedApp(slack.app, lifespan="off") as slack_server:
        settings = stack_settings(ropo.url, slack_server.url)
        with ServedApp(create_web_app(settings)) as bot:
            yield bot, ropo, slack_server, slack
        ropo_app.state.sandbox  # noqa: B018 - keep the app alive until the bot has stopped


@pytest.fixture
def stack(stack_servers: tuple[ServedApp, ServedApp, ServedApp, SlackStandIn]) -> Iterator[Stack]:
    """The module's stack with the stand-ins' recordings cleared for this test."""
    bot, ropo, slack_server, slack = stack_servers
    state: SandboxState = ropo._server.config.app.state.sandbox  # type: ignore[attr-defined]
    state.reset()
    slack.clear()
    with httpx.Client(timeout=15) as http:
        yield Stack(bot.url, slack_server.url, state, slack, http)
