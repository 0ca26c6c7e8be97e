"""Replies Slack does not take at first: tried again, or sent another private way, and audited.

The Slack stand-in is told to answer a ``response_url`` (or a Web API method) with 500s and
429s; it records every post, failed ones too, so the tests see each try the app made.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from bot import ids
from bot.audit.store import AuditQuery, AuditRow, read_only, search
from bot.dev.slack_requests import (
    DEFAULT_CHANNEL,
    DEFAULT_USER,
    global_shortcut_body,
    lookup_form_values,
    view_submission_body,
)
from tests.conftest import Stack

REFERENCE = re.compile(r"R-[0-9A-Z]{6}")


def audit_row(stack: Stack, reference: str, *, settled: bool = True) -> AuditRow:
    """The audit row of lookup ``reference``; with ``settled``, once its delivery is known.

    The delivery is recorded just after the reply is posted: the row in the database is the
    event waited for (bounded), as the stand-in's recordings are for replies.
    """
    assert stack.settings is not None
    deadline = time.monotonic() + 10
    while True:
        with read_only(stack.settings.audit_db) as connection:
            rows = [r for r in search(connection, AuditQuery()) if r.reference == reference]
        if rows and (not settled or rows[-1].delivery != "pending"):
            return rows[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no settled audit row for {reference}: {rows}")
        time.sleep(0.02)


def reference_in(reply: dict[str, Any]) -> str:
    match = REFERENCE.search(json.dumps(reply))
    assert match, "the reply names no reference"
    return match.group(0)


def lookup_reference(caplog: pytest.LogCaptureFixture) -> str:
    """The reference of the one lookup the test made, from the log (an invoice list has none)."""
    found = re.findall(r"lookup (R-[0-9A-Z]{6}) by", caplog.text)
    assert found, "no lookup was logged"
    return found[-1]


def test_a_reply_refused_once_with_500_is_posted_again_and_shown(
    stack: Stack, caplog: pytest.LogCaptureFixture
):
    stack.slack.fail_responses(500)
    _, token = stack.command("C-1001")

    first, second = stack.slack.wait_for_responses(2, token)
    assert (first.status, second.status) == (500, 200)
    assert first.body == second.body  # the same reply, not a new one
    assert "Invoices for C-1001" in second.body["text"]
    assert len(stack.ropo.lookups) == 1  # Ropo was asked once
    assert stack.slack.api_calls("chat.postEphemeral") == []
    assert audit_row(stack, lookup_reference(caplog)).delivery == "shown"


def test_a_429_is_tried_again_after_its_retry_after(stack: Stack, caplog: pytest.LogCaptureFixture):
    stack.slack.fail_responses((429, "1"))
    _, token = stack.command("C-1001")

    first, second = stack.slack.wait_for_responses(2, token)
    assert (first.status, second.status) == (429, 200)
    assert "response_url failed (HTTP 429); trying again in 1.0 s" in caplog.text
    assert "Invoices for C-1001" in second.body["text"]


def test_a_response_url_that_keeps_failing_is_replaced_by_chat_post_ephemeral(
    stack: Stack, caplog: pytest.LogCaptureFixture
):
    stack.slack.fail_responses(500, 503, 502)
    _, token = stack.command("C-1001")

    (fallback,) = stack.slack.wait_for_api_calls("chat.postEphemeral", 1)
    posts = stack.slack.responses(token)
    assert [post.status for post in posts] == [500, 503, 502]  # three tries, then no more
    assert fallback.body["channel"] == DEFAULT_CHANNEL
    assert fallback.body["user"] == DEFAULT_USER
    assert fallback.body["text"] == posts[0].body["text"]
    assert fallback.body["blocks"] == posts[0].body["blocks"]
    reference = lookup_reference(caplog)
    assert audit_row(stack, reference).delivery == "shown"
    assert f"response_url refused reply {reference}: HTTP 502" in caplog.text
    assert f"reply {reference} delivered by chat.postEphemeral" in caplog.text


def test_when_no_way_to_the_agent_works_the_row_says_not_delivered(
    stack: Stack, caplog: pytest.LogCaptureFixture
):
    stack.slack.fail_responses(500, 500, 500)
    stack.slack.fail_api("chat.postEphemeral", 500, 500, 500)
    _, token = stack.command("C-1001")

    calls = stack.slack.wait_for_api_calls("chat.postEphemeral", 3)
    assert [call.status for call in calls] == [500, 500, 500]
    reference = lookup_reference(caplog)
    assert audit_row(stack, reference).delivery == "not_delivered"
    assert f"reply {reference} could not be delivered" in caplog.text
    assert len(stack.slack.responses(token)) == 3


def test_a_failure_reply_is_tried_again_too_and_names_its_reference(stack: Stack):
    stack.slack.fail_responses(500)
    _, token = stack.command("FAULT-400")

    first, second = stack.slack.wait_for_responses(2, token)
    assert (first.status, second.status) == (500, 200)
    reference = reference_in(second.body)
    row = audit_row(stack, reference)
    assert (row.outcome, row.detail, row.delivery) == ("error", "bad_request", "shown")


def test_a_button_page_refused_once_is_posted_again(stack: Stack):
    _, token = stack.command("C-1200")
    first = stack.reply(token)
    navigation = next(b for b in first["blocks"] if b.get("block_id") == ids.BLOCK_NAVIGATION)
    next_button = next(e for e in navigation["elements"] if e["action_id"] == ids.ACTION_PAGE_NEXT)

    page_token, _ = stack.response_url()
    stack.slack.fail_responses(503, token=page_token)
    stack._sent -= 1  # click() takes the same token again
    _, clicked = stack.click(next_button, ids.BLOCK_NAVIGATION)
    assert clicked == page_token

    failed, shown = stack.slack.wait_for_responses(2, page_token)
    assert (failed.status, shown.status) == (503, 200)
    assert shown.body["replace_original"] is True
    assert "11–20 of 120" in json.dumps(shown.body, ensure_ascii=False)


def test_a_modal_result_is_tried_again_by_views_update(stack: Stack):
    stack.post(global_shortcut_body())
    (opened,) = stack.slack.wait_for_api_calls("views.open", 1)
    view = opened.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    stack.slack.fail_api("views.update", 500)
    response = stack.post(view_submission_body(view, lookup_form_values("C-1001")))
    assert response.json()["response_action"] == "update"

    failed, shown = stack.slack.wait_for_api_calls("views.update", 2)
    assert (failed.status, shown.status) == (500, 200)
    assert failed.body["view"] == shown.body["view"]
    assert "Invoices for" in json.dumps(shown.body["view"])


def test_a_modal_result_slack_keeps_refusing_is_audited_as_not_delivered(
    stack: Stack, caplog: pytest.LogCaptureFixture
):
    stack.post(global_shortcut_body())
    (opened,) = stack.slack.wait_for_api_calls("views.open", 1)
    view = opened.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    stack.slack.fail_api("views.update", 500, 503, 500)
    stack.post(view_submission_body(view, lookup_form_values("C-1001")))

    calls = stack.slack.wait_for_api_calls("views.update", 3)
    assert [call.status for call in calls] == [500, 503, 500]
    reference = lookup_reference(caplog)
    assert audit_row(stack, reference).delivery == "not_delivered"
    assert f"lookup {reference}: its answer could not be shown in the modal" in caplog.text
