"""How a request's language is decided: the agent's choice, Slack's, the default."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace
from typing import Any

import pytest

from bot.slack.language import language_for

AGENT = ("T1", "U1")


class Choices:
    """Stands in for AgentSettings: what the agent chose, or a database that fails."""

    def __init__(self, chosen: str | None = None, *, broken: bool = False) -> None:
        self.chosen, self.broken = chosen, broken

    async def get(self, team_id: str, user_id: str, key: str) -> str | None:
        if self.broken:
            raise sqlite3.OperationalError("disk I/O error")
        return self.chosen


def services(*, chosen: Any = None, slack: str | None = None, default: str = "en") -> Any:
    return SimpleNamespace(
        agent_settings=chosen if chosen is not None else Choices(),
        access=SimpleNamespace(user_locale=lambda user_id: slack),
        settings=SimpleNamespace(default_language=default),
    )


async def test_the_agents_choice_comes_first() -> None:
    body = {"user": {"id": "U1", "locale": "fi-FI"}}
    assert await language_for(services(chosen=Choices("sv"), slack="nb-NO"), body, AGENT) == "sv"


async def test_a_locale_slack_sent_comes_before_the_one_access_read() -> None:
    assert await language_for(services(slack="nb-NO"), {"locale": "fi-FI"}, AGENT) == "fi"
    body = {"user": {"id": "U1", "locale": "sv-SE"}}
    assert await language_for(services(slack="nb-NO"), body, AGENT) == "sv"


async def test_slacks_language_from_the_account_access_read() -> None:
    assert await language_for(services(slack="nb-NO", default="fi"), {}, AGENT) == "nb"


@pytest.mark.parametrize("slack", [None, "de-DE", ""])
async def test_otherwise_the_default(slack: str | None) -> None:
    assert await language_for(services(slack=slack, default="fi"), {}, AGENT) == "fi"


async def test_a_request_naming_no_agent_gets_the_default() -> None:
    assert await language_for(services(slack="sv-SE", default="nb"), {}, None) == "nb"


async def test_an_unreadable_choice_falls_back_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chosen = Choices(broken=True)
    assert await language_for(services(chosen=chosen, slack="sv-SE"), {}, AGENT) == "sv"
    assert "could not be read" in caplog.text


async def test_a_stored_value_that_is_no_language_is_ignored() -> None:
    assert await language_for(services(chosen=Choices("klingon")), {}, AGENT) == "en"
