"""Junk posted to /slack/events: 401 unsigned, 400 (or a polite 200) signed, never a 500.

Real HTTP to the app. Each case checks the status, that Ropo was not asked, and the log: one
WARNING line for a signed request, none for an unsigned one, and never an ERROR or a
traceback.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from bot import ids
from bot.dev.slack_requests import (
    DEFAULT_CHANNEL,
    DEFAULT_USER,
    JSON,
    block_actions_body,
    signed_headers,
    slash_command_body,
)
from bot.slack.intake import UNANSWERABLE_COMMAND
from bot.slack.web import EVENTS_PATH
from tests.conftest import SIGNING_SECRET, Stack

INTAKE = "bot.slack.intake"


def payload(value: object) -> str:
    """A form body carrying ``value`` as its ``payload``, as interactions come."""
    text = value if isinstance(value, str) else json.dumps(value)
    return urlencode({"payload": text})


def interaction(kind: str = "block_actions", **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": kind,
        "team": {"id": "T0STANDIN"},
        "user": {"id": DEFAULT_USER},
        "channel": {"id": DEFAULT_CHANNEL},
        "response_url": "http://127.0.0.1:9/response/x",
        "trigger_id": "t-1",
        "actions": [{"action_id": "invoices.page_next", "value": "x"}],
    }
    base.update(fields)
    return base


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    "body",
    [
        payload("[1, 2, 3]"),
        payload("not json at all"),
        "[1, 2, 3]",
        slash_command_body("C-1001", "http://127.0.0.1:9/response/x"),
    ],
    ids=["payload-list", "payload-not-json", "json-list", "a-real-command"],
)
@pytest.mark.parametrize(
    "headers",
    [
        {"x-slack-signature": "v0=forged", "x-slack-request-timestamp": "1700000000"},
        {},
        {"x-slack-signature": "v0=forged", "x-slack-request-timestamp": "soon"},
    ],
    ids=["forged", "unsigned", "timestamp-not-a-number"],
)
def test_a_body_without_a_valid_signature_is_401_before_anything_parses_it(
    stack: Stack, caplog: pytest.LogCaptureFixture, body: str, headers: dict[str, str]
):
    response = stack.http.post(
        stack.url + EVENTS_PATH,
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", **headers},
    )

    assert response.status_code == 401
    assert stack.ropo.requests == []
    assert problems(caplog) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == INTAKE]


MALFORMED = {
    "payload-not-json": payload("{not json"),
    "payload-a-list": payload([{"type": "block_actions"}]),
    "payload-a-string": payload('"block_actions"'),
    "actions-empty": payload(interaction(actions=[])),
    "actions-not-a-list": payload(interaction(actions={"action_id": "x"})),
    "action-not-an-object": payload(interaction(actions=["invoices.page_next"])),
    "view-not-an-object": payload(interaction(view="V123")),
    "message-not-an-object": payload(interaction("message_action", message=["hi"])),
    "no-user-id": payload(interaction(user={"name": "someone"})),
    "user-not-an-object": payload(interaction("shortcut", user="U0AGENT01")),
    "submission-without-view": payload(interaction("view_submission", view=None)),
    "unknown-kind": payload({"hello": "world"}),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_but_malformed_interaction_is_400_with_one_warning(
    stack: Stack, caplog: pytest.LogCaptureFixture, body: str
):
    response = stack.post(body)

    assert response.status_code == 400
    assert response.json() == {"error": "malformed request"}
    assert stack.ropo.requests == []
    assert stack.slack.received == []
    warnings = [r for r in caplog.records if r.name == INTAKE and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("refused a signed request to /slack/events: ")
    assert problems(caplog) == []


@pytest.mark.parametrize(
    "body",
    ["[1, 2]", '"text"', "{broken", json.dumps({"type": "event_callback", "event": "x"})],
    ids=["list", "string", "not-json", "event-not-an-object"],
)
def test_a_signed_but_malformed_event_is_400(
    stack: Stack, caplog: pytest.LogCaptureFixture, body: str
):
    headers = signed_headers(SIGNING_SECRET, body, content_type=JSON)
    response = stack.http.post(stack.url + EVENTS_PATH, content=body, headers=headers)

    assert response.status_code == 400
    assert problems(caplog) == []
    assert len([r for r in caplog.records if r.name == INTAKE]) == 1


def test_a_command_without_a_response_url_is_refused_politely_before_ropo_is_asked(
    stack: Stack, caplog: pytest.LogCaptureFixture
):
    body = slash_command_body("C-1001", "")

    response = stack.post(body)

    assert response.status_code == 200
    assert response.json() == {"response_type": "ephemeral", "text": UNANSWERABLE_COMMAND}
    assert stack.ropo.requests == []
    assert stack.slack.received == []
    (warning,) = [r for r in caplog.records if r.name == INTAKE]
    assert warning.getMessage() == (
        "refused a signed request to /slack/events: a command without a response_url (HTTP 200)"
    )


def test_a_well_formed_click_still_reaches_the_app(stack: Stack):
    _, token = stack.command("C-1200")
    reply = stack.reply(token)
    navigation = next(b for b in reply["blocks"] if b.get("block_id") == ids.BLOCK_NAVIGATION)
    button = next(e for e in navigation["elements"] if e["action_id"] == ids.ACTION_PAGE_NEXT)
    page, url = stack.response_url()
    click = {"action_id": button["action_id"], "value": button["value"], "block_id": "b"}

    response = stack.post(block_actions_body(click, url))

    assert response.status_code == 200
    assert "11–20 of 120" in json.dumps(stack.reply(page), ensure_ascii=False)
    assert len(stack.ropo.lookups) == 2
