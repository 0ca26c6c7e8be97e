"""A Slack blip at the wrong moment: ``auth.test`` failing on a fresh process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.slack.app import SLACK_NOT_ANSWERING
from tests.conftest import Stack, open_stack, serve_stack


@pytest.fixture
def fresh_stack() -> Iterator[Stack]:
    """A new app per test: auth.test is asked once per process."""
    with serve_stack() as servers, open_stack(servers) as stack:
        yield stack


def test_a_passing_auth_test_failure_is_asked_again_before_the_ack(fresh_stack: Stack):
    fresh_stack.slack.fail_api("auth.test", 500)

    response, token = fresh_stack.command("C-1001")

    assert response.status_code == 200
    assert response.text == ""  # acknowledged as usual
    assert [call.status for call in fresh_stack.slack.api_calls("auth.test")] == [500, 200]
    assert "Invoices for C-1001" in fresh_stack.reply(token)["text"]


def test_when_slack_does_not_answer_auth_test_the_agent_is_told_to_try_again_soon(
    fresh_stack: Stack,
):
    fresh_stack.slack.fail_api("auth.test", *([503] * 20))

    response, token = fresh_stack.command("C-1001")

    assert response.status_code == 200
    told = fresh_stack.reply(token)  # Bolt answers through response_url
    assert told["text"] == SLACK_NOT_ANSWERING
    assert "reinstall" not in told["text"].lower()
    assert "try again in a minute" in told["text"]
    tries = fresh_stack.slack.api_calls("auth.test")
    assert 2 <= len(tries) < 20  # asked again, within the acknowledgement's time
    assert fresh_stack.ropo.requests == []

    fresh_stack.slack.clear()
    fresh_stack.slack._api_failures.clear()  # Slack is back
    response, token = fresh_stack.command("C-1001")
    assert response.status_code == 200
    assert "Invoices for C-1001" in fresh_stack.reply(token)["text"]


def test_a_hanging_auth_test_is_given_up_on_within_the_acknowledgements_time(
    fresh_stack: Stack,
):
    fresh_stack.slack.slow_api["auth.test"] = 5  # each answered after 3 s: too late

    response, token = fresh_stack.command("C-1001")

    assert response.status_code == 200
    assert fresh_stack.reply(token)["text"] == SLACK_NOT_ANSWERING
    # At most two tries of 1 s fit in the 2 s budget (slack_sdk's own timeout is 30 s).
    assert 1 <= len(fresh_stack.slack.api_calls("auth.test")) <= 2
    assert fresh_stack.ropo.requests == []


def test_auth_test_is_asked_once_per_process(fresh_stack: Stack):
    for _ in range(2):
        response, token = fresh_stack.command("C-1001")
        assert response.status_code == 200
        fresh_stack.reply(token)

    assert len(fresh_stack.slack.api_calls("auth.test")) == 1
