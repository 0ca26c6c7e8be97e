"""A Slack blip at the wrong moment: ``auth.test`` failing when a process starts.

The app asks ``auth.test`` once, at start-up (bot.slack.identity); a request that finds it
unanswered asks again, within the acknowledgement's time, and is told Slack is not answering
if Slack still does not answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.dev.slack_standin import SlackStandIn
from bot.slack.app import SLACK_NOT_ANSWERING
from tests.conftest import Stack, open_stack, serve_stack


@contextmanager
def fresh_stack(
    prepare: Callable[[SlackStandIn], object] = lambda slack: None,
) -> Iterator[tuple[Stack, list[int]]]:
    """A new app on a Slack stand-in set up by ``prepare``; the start-up auth.test statuses."""
    slack = SlackStandIn()
    prepare(slack)
    with serve_stack(slack=slack) as servers:
        at_start = [call.status for call in slack.api_calls("auth.test")]
        with open_stack(servers) as stack:
            yield stack, at_start


def test_a_passing_auth_test_failure_at_start_up_is_asked_again_at_once():
    with fresh_stack(lambda slack: slack.fail_api("auth.test", 500)) as (stack, at_start):
        assert at_start == [500, 200]

        response, token = stack.command("C-1001")

        assert response.status_code == 200
        assert response.text == ""  # acknowledged as usual
        assert "Invoices for C-1001" in stack.reply(token)["text"]
        assert stack.slack.api_calls("auth.test") == []  # the start-up answer is kept


def test_when_slack_does_not_answer_auth_test_the_agent_is_told_to_try_again_soon():
    with fresh_stack(lambda slack: slack.fail_api("auth.test", *([503] * 30))) as (stack, _):
        response, token = stack.command("C-1001")

        assert response.status_code == 200
        told = stack.reply(token)  # Bolt answers through response_url
        assert told["text"] == SLACK_NOT_ANSWERING
        assert "reinstall" not in told["text"].lower()
        assert "try again in a minute" in told["text"]
        assert len(stack.slack.api_calls("auth.test")) >= 2  # asked again within the ack
        assert stack.ropo.requests == []

        stack.slack.clear()
        stack.slack._api_failures.clear()  # Slack is back
        response, token = stack.command("C-1001")
        assert response.status_code == 200
        assert "Invoices for C-1001" in stack.reply(token)["text"]


def test_a_hanging_auth_test_is_given_up_on_within_the_acknowledgements_time():
    def hang(slack: SlackStandIn) -> None:
        slack.slow_api["auth.test"] = 6  # each answered after 3 s: too late

    with fresh_stack(hang) as (stack, _):
        response, token = stack.command("C-1001")

        assert response.status_code == 200
        assert stack.reply(token)["text"] == SLACK_NOT_ANSWERING
        # At most two tries of 1 s fit in the 2 s budget (slack_sdk's own timeout is 30 s).
        assert 1 <= len(stack.slack.api_calls("auth.test")) <= 2
        assert stack.ropo.requests == []


def test_auth_test_is_asked_once_per_process():
    with fresh_stack() as (stack, at_start):
        assert at_start == [200]
        for _ in range(2):
            response, token = stack.command("C-1001")
            assert response.status_code == 200
            stack.reply(token)

        assert stack.slack.api_calls("auth.test") == []
