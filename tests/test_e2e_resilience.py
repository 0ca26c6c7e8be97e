"""The app keeps its word when things go wrong on its own side: a bug, a deploy."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.dev.slack_requests import global_shortcut_body, lookup_form_values, view_submission_body
from bot.slack import delivery as replies
from tests.conftest import Stack, open_stack, serve_stack


def sent_views(stack: Stack, method: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` ``method`` calls' bodies, with their views parsed."""
    calls = stack.slack.wait_for_api_calls(method, count)
    bodies = [dict(call.body) for call in calls[:count]]
    for body in bodies:
        if isinstance(body.get("view"), str):
            body["view"] = json.loads(body["view"])
    return bodies


def test_a_result_that_cannot_be_rendered_does_not_leave_the_modal_looking_up(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("a bug in rendering")

    monkeypatch.setattr(replies, "render_outcome", broken)
    stack.post(global_shortcut_body())
    (opened,) = sent_views(stack, "views.open", 1)
    stack.slack.clear()
    response = stack.post(view_submission_body(opened["view"], lookup_form_values("C-1001")))
    assert response.json()["response_action"] == "update"  # "Looking up…"
    (update,) = sent_views(stack, "views.update", 1)
    shown = json.dumps(update["view"])
    assert "Something went wrong in the app" in shown
    assert "Reference" in shown


def test_a_result_that_cannot_be_rendered_still_gets_the_agent_an_answer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("a bug in rendering")

    monkeypatch.setattr(replies, "render_outcome", broken)
    response, token = stack.command("C-1001")
    assert response.status_code == 200
    reply = stack.reply(token)
    assert reply["response_type"] == "ephemeral"
    assert "Something went wrong in the app" in json.dumps(reply)
    assert "Reference" in json.dumps(reply)


def test_a_lookup_acknowledged_before_a_shutdown_is_still_answered():
    with serve_stack() as servers, open_stack(servers) as stack:
        stack.ropo.latency_s = 1.0  # Ropo is slow; the deploy comes meanwhile
        _, token = stack.command("C-1001")
        servers.bot.__exit__(None, None, None)  # graceful shutdown, as on a deploy
        reply = stack.slack.wait_for_responses(1, token, timeout=5)[0].body
    assert "Invoices for C-1001" in reply["text"]


def test_the_health_check_still_answers_while_a_lookup_waits(stack: Stack):
    stack.ropo.latency_s = 0.5
    _, token = stack.command("C-1001")
    assert httpx.get(stack.url + "/healthz", timeout=2).status_code == 200
    stack.reply(token)
