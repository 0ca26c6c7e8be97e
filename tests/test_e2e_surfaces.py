"""Shortcuts, the lookup modal, buttons in modals and the App Home, end to end.

Signed requests go to the real HTTP app; what it sends Slack is read back from the Slack
stand-in (``views.*`` calls and ``response_url`` posts) and what it asked Ropo One from the
sandbox. Every test also checks, on the way out, that nothing the app sent Slack holds a
readable identity code and that nothing was posted to a channel.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import ids
from bot.dev.slack_requests import (
    DEFAULT_USER,
    DEFAULT_VIEW_ID,
    JSON,
    app_home_opened_body,
    button_click,
    global_shortcut_body,
    lookup_form_values,
    message_shortcut_body,
    modal_click_body,
    signed_headers,
    view_submission_body,
)
from bot.ropo import sandbox_data as sandbox
from bot.slack.web import EVENTS_PATH
from tests.blocks.limits import check_limits
from tests.conftest import SIGNING_SECRET, Stack
from tests.privacy import assert_no_identity_code

HETU = sandbox.HETU_MANY_INVOICES  # 131052-308T
MASKED = "131052-****"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def nothing_readable_reaches_slack(stack: Stack) -> Iterator[None]:
    """After each test: no full HETU in anything Slack received, and no channel post."""
    yield
    received = [r.body for r in stack.slack.received]
    assert_no_identity_code(json.dumps(received), where="what Slack received")
    assert stack.slack.api_calls("chat.postMessage") == []
    assert stack.slack.api_calls("chat.postEphemeral") == []


def assert_valid_view(view: dict[str, Any]) -> None:
    """Valid Block Kit for a view (modal or Home), within Slack's limits, no readable HETU."""
    assert View(**view).to_dict() == view  # validates the title length, block count, ...
    check_limits(view, max_blocks=100, require_text=False)
    for block in view["blocks"]:
        assert Block.parse(block).to_dict() == block
    assert_no_identity_code(json.dumps(view))


def text_of(payload: dict[str, Any]) -> str:
    """A payload as one string, to look for words in."""
    return json.dumps(payload, ensure_ascii=False)


def sent_views(stack: Stack, method: str, count: int) -> list[dict[str, Any]]:
    """The bodies of the first ``count`` ``method`` calls, once they have all arrived."""
    calls = stack.slack.wait_for_api_calls(method, count)
    assert len(calls) == count, f"expected {count} {method} calls, got {len(calls)}"
    return [call.body for call in calls]


def invoice_numbers(view: dict[str, Any]) -> list[str]:
    """Invoice numbers in the order the view shows them."""
    return re.findall(r"SBX-\d+(?:/\d+)?", json.dumps(view["blocks"]))


def element(payload: dict[str, Any], action_id: str) -> tuple[dict[str, Any], str]:
    """The first button with ``action_id`` in a message or view, and its block id."""
    for block in payload["blocks"]:
        elements = [block["accessory"]] if "accessory" in block else block.get("elements", [])
        for candidate in elements:
            if candidate.get("action_id") == action_id:
                return candidate, block.get("block_id", "")
    raise AssertionError(f"no {action_id} button")


def elements(payload: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """Every button with ``action_id`` in a message or view."""
    found = []
    for block in payload["blocks"]:
        candidates = [block["accessory"]] if "accessory" in block else block.get("elements", [])
        found.extend(c for c in candidates if c.get("action_id") == action_id)
    return found


def shortcut_on(stack: Stack, message: dict[str, Any]) -> tuple[httpx.Response, str]:
    """Use "Find invoices" on ``message``; the HTTP answer and the response_url token."""
    token, url = stack.response_url()
    return stack.post(message_shortcut_body(message, url)), token


def submit_form(stack: Stack, text: str, *, include_paid: bool = False) -> httpx.Response:
    """Submit the lookup form (as the global shortcut opened it) with ``text`` typed in."""
    stack.post(global_shortcut_body())
    (opened,) = sent_views(stack, "views.open", 1)
    stack.slack.clear()
    values = lookup_form_values(text, include_paid=include_paid)
    return stack.post(view_submission_body(opened["view"], values))


def click_in_modal(stack: Stack, view: dict[str, Any], action_id: str) -> httpx.Response:
    """Click the ``action_id`` button of the modal currently showing ``view``."""
    button, block_id = element(view, action_id)
    return stack.post(modal_click_body(button_click(button, block_id), view))


def result_of_form(stack: Stack, text: str, **kwargs: Any) -> dict[str, Any]:
    """Submit the form and return the result view it ends in (the stand-in is then cleared)."""
    response = submit_form(stack, text, **kwargs)
    assert response.json()["response_action"] == "update"
    (update,) = sent_views(stack, "views.update", 1)
    stack.slack.clear()
    return update["view"]


# --- the message shortcut -----------------------------------------------------------------


def test_message_shortcut_with_one_hetu_shows_the_invoices_in_a_modal(stack: Stack):
    started = time.monotonic()
    response, token = shortcut_on(stack, {"text": f"Hei! Hetuni on {HETU}, paljonko olen velkaa?"})
    ack_s = time.monotonic() - started

    assert response.status_code == 200
    assert response.text == ""
    assert ack_s < 3.0
    (opened,) = sent_views(stack, "views.open", 1)
    assert opened["trigger_id"] == "trigger-3"
    assert opened["view"]["callback_id"] == ids.VIEW_RESULT
    assert f"Looking up invoices for* `{MASKED}`" in text_of(opened["view"])
    assert_valid_view(opened["view"])

    (updated,) = sent_views(stack, "views.update", 1)
    assert updated["view_id"] == DEFAULT_VIEW_ID  # the id views.open answered with
    result = updated["view"]
    assert_valid_view(result)
    assert MASKED in text_of(result)
    assert invoice_numbers(result)[:3] == ["SBX-10002", "SBX-10004", "SBX-10001"]
    assert element(result, ids.ACTION_LOOKUP_ANOTHER)
    assert [r.json for r in stack.ropo.lookups] == [{"ssn": HETU}]
    assert stack.slack.responses(token) == []  # the answer is in the modal, nowhere else


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            {
                "text": "",
                "blocks": [
                    {
                        "type": "rich_text",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [
                                    {"type": "text", "text": "Asiakasnumero: "},
                                    {"type": "text", "text": "C-1001", "style": {"bold": True}},
                                ],
                            }
                        ],
                    }
                ],
            },
            {"custnum": "C-1001"},
            id="rich-text-block",
        ),
        pytest.param(
            {
                "text": "A form was submitted",
                "blocks": [
                    {
                        "type": "section",
                        "fields": [
                            {"type": "mrkdwn", "text": "*Name*\nMatti"},
                            {"type": "mrkdwn", "text": f"*HETU*\n{HETU}"},
                        ],
                    }
                ],
            },
            {"ssn": HETU},
            id="section-fields",
        ),
        pytest.param(
            {
                "text": "",
                "attachments": [
                    {
                        "fallback": "New ticket",
                        "fields": [{"title": "Customer no.", "value": "C-1001", "short": True}],
                    }
                ],
            },
            {"custnum": "C-1001"},
            id="attachment-field",
        ),
        pytest.param(
            {"text": "", "attachments": [{"text": f"Forwarded: my code is {HETU}"}]},
            {"ssn": HETU},
            id="attachment-text",
        ),
    ],
)
def test_message_shortcut_reads_blocks_and_attachments(
    stack: Stack, message: dict[str, Any], expected: dict[str, Any]
):
    shortcut_on(stack, message)
    (updated,) = sent_views(stack, "views.update", 1)
    assert_valid_view(updated["view"])
    assert [r.json for r in stack.ropo.lookups] == [expected]


def test_message_shortcut_with_several_identifiers_lets_the_agent_choose(stack: Stack):
    text = (
        f"Minun hetuni on {HETU} ja puolisoni {sandbox.HETU_DUE_20TH_CENTURY}; "
        f"yrityksen asiakasnumero on {sandbox.CUSTNUM_SMALL}. Again: {HETU}"
    )
    response, token = shortcut_on(stack, {"text": text})
    assert response.status_code == 200

    (opened,) = sent_views(stack, "views.open", 1)
    chooser = opened["view"]
    assert_valid_view(chooser)
    assert chooser["callback_id"] == ids.VIEW_CHOOSE_IDENTIFIER
    choices = elements(chooser, ids.ACTION_CHOOSE_IDENTIFIER)
    assert len(choices) == 3  # the repeated HETU is offered once
    shown = text_of(chooser)
    assert shown.index(MASKED) < shown.index("100190-****") < shown.index("C-1001")
    for choice in choices:
        assert "308T" not in choice["value"]
        assert "C-1001" not in choice["value"]  # sealed: nothing readable
    assert stack.ropo.requests == []  # nothing is looked up until the agent chooses

    stack.slack.clear()
    second = choices[1]
    block_id = next(
        b.get("block_id", "") for b in chooser["blocks"] if b.get("accessory") == second
    )
    stack.post(modal_click_body(button_click(second, block_id), chooser))
    loading, result = sent_views(stack, "views.update", 2)
    assert "Looking up" in text_of(loading["view"])
    assert "100190-****" in text_of(loading["view"])
    assert_valid_view(result["view"])
    assert result["view_id"] == DEFAULT_VIEW_ID
    assert "100190-****" in text_of(result["view"])
    assert [r.json for r in stack.ropo.lookups] == [{"ssn": sandbox.HETU_DUE_20TH_CENTURY}]
    assert stack.slack.responses(token) == []


def test_message_shortcut_without_identifiers_opens_the_form(stack: Stack):
    response, token = shortcut_on(stack, {"text": "Why is my invoice so big?? 131052-308U"})
    assert response.status_code == 200

    (opened,) = sent_views(stack, "views.open", 1)
    form = opened["view"]
    assert_valid_view(form)
    assert form["callback_id"] == ids.VIEW_LOOKUP
    assert "No identity code or customer number was found" in text_of(form)
    assert [b.get("block_id") for b in form["blocks"] if b["type"] == "input"] == [
        ids.BLOCK_LOOKUP_IDENTIFIER,
        ids.BLOCK_LOOKUP_OPTIONS,
    ]
    assert stack.ropo.requests == []
    assert stack.slack.responses(token) == []


def test_expired_trigger_still_gets_the_answer_to_the_agent_privately(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(stack.slack.api_errors, "views.open", "expired_trigger_id")
    _, token = shortcut_on(stack, {"text": f"hetu {HETU}"})

    reply = stack.reply(token)
    assert reply["response_type"] == "ephemeral"
    assert MASKED in reply["text"]
    assert invoice_numbers(reply)
    assert stack.slack.api_calls("views.update") == []


def test_expired_trigger_without_an_identifier_is_explained_privately(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(stack.slack.api_errors, "views.open", "expired_trigger_id")
    _, token = shortcut_on(stack, {"text": "hello"})

    reply = stack.reply(token)
    assert reply["response_type"] == "ephemeral"
    assert "did not open" in reply["text"]
    for block in reply["blocks"]:
        Block.parse(block).to_dict()
    assert stack.ropo.requests == []


# --- the global shortcut and the lookup modal ---------------------------------------------


def test_global_shortcut_opens_the_lookup_form(stack: Stack):
    response = stack.post(global_shortcut_body())
    assert response.status_code == 200
    assert response.text == ""

    (opened,) = sent_views(stack, "views.open", 1)
    assert opened["trigger_id"] == "trigger-4"
    form = opened["view"]
    assert_valid_view(form)
    assert form["callback_id"] == ids.VIEW_LOOKUP
    assert form["submit"]["text"] == "Look up"
    checkbox = next(b for b in form["blocks"] if b.get("block_id") == ids.BLOCK_LOOKUP_OPTIONS)
    assert checkbox["optional"] is True
    assert checkbox["element"]["action_id"] == ids.ACTION_LOOKUP_INCLUDE_PAID
    assert stack.ropo.requests == []


def test_submitting_the_form_shows_looking_up_then_the_invoices(stack: Stack):
    started = time.monotonic()
    response = submit_form(stack, f"  {HETU.lower()} ", include_paid=True)
    ack_s = time.monotonic() - started

    assert response.status_code == 200
    assert ack_s < 3.0
    ack = response.json()
    assert ack["response_action"] == "update"
    assert_valid_view(ack["view"])
    assert MASKED in text_of(ack["view"])

    (updated,) = sent_views(stack, "views.update", 1)
    assert updated["view_id"] == DEFAULT_VIEW_ID
    result = updated["view"]
    assert_valid_view(result)
    assert result["callback_id"] == ids.VIEW_RESULT
    assert "SBX-10005" in invoice_numbers(result)  # the paid one
    assert "paid invoices included" in text_of(result)
    assert [r.json for r in stack.ropo.lookups] == [{"ssn": HETU, "all_invoices": 1}]


def test_submitting_a_customer_number_without_the_box_asks_for_open_invoices(stack: Stack):
    result = result_of_form(stack, "C-1001")
    assert_valid_view(result)
    assert [r.json for r in stack.ropo.lookups] == [{"custnum": "C-1001"}]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("131052-308U", f"{MASKED} isn't a valid identity code"),
        ("", "Type an identity code"),
        ("C-1001 all", "isn't an identity code or a customer number"),
        ("<!here>", "isn't an identity code or a customer number"),
        ("x" * 500, "longer than 200 characters"),
    ],
)
def test_invalid_form_input_is_refused_on_the_field_and_ropo_is_not_called(
    stack: Stack, text: str, words: str
):
    response = submit_form(stack, text)

    assert response.status_code == 200
    ack = response.json()
    assert ack["response_action"] == "errors"
    assert list(ack["errors"]) == [ids.BLOCK_LOOKUP_IDENTIFIER]
    assert words in ack["errors"][ids.BLOCK_LOOKUP_IDENTIFIER]
    assert_no_identity_code(response.text)
    assert "<!here>" not in response.text
    assert stack.ropo.requests == []
    assert stack.slack.api_calls("views.update") == []


def test_a_ropo_failure_in_the_modal_is_explained_there(stack: Stack):
    result = result_of_form(stack, sandbox.Fault.SERVER_ERROR.value)
    assert_valid_view(result)
    assert "try again" in text_of(result).lower()
    assert re.search(r"R-[0-9A-Z]{6}", text_of(result))
    assert element(result, ids.ACTION_LOOKUP_ANOTHER)


def test_a_result_slack_refuses_is_replaced_by_an_apology(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(stack.slack.api_errors, "views.update", "invalid_arguments")
    submit_form(stack, "C-1001")
    refused, apology = sent_views(stack, "views.update", 2)
    assert "C-1001" in text_of(refused["view"])
    assert "Something went wrong in the app" in text_of(apology["view"])
    assert_valid_view(apology["view"])


def test_a_modal_closed_before_the_result_is_left_alone(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(stack.slack.api_errors, "views.update", "not_found")
    submit_form(stack, "C-1001")
    sent_views(stack, "views.update", 1)
    stack.settle()
    assert len(stack.slack.api_calls("views.update")) == 1
    assert stack.slack.responses() == []


# --- buttons in the modal -----------------------------------------------------------------


def test_paging_in_the_modal_updates_the_modal(stack: Stack):
    first = result_of_form(stack, sandbox.CUSTNUM_LARGE)
    assert "1–10 of 120" in text_of(first)

    response = click_in_modal(stack, first, ids.ACTION_PAGE_NEXT)
    assert response.status_code == 200
    (updated,) = sent_views(stack, "views.update", 1)
    second = updated["view"]
    assert updated["view_id"] == DEFAULT_VIEW_ID
    assert_valid_view(second)
    assert "11–20 of 120" in text_of(second)
    assert set(invoice_numbers(first)).isdisjoint(invoice_numbers(second))

    stack.slack.clear()
    click_in_modal(stack, second, ids.ACTION_PAGE_PREVIOUS)
    (back,) = sent_views(stack, "views.update", 1)
    assert invoice_numbers(back["view"]) == invoice_numbers(first)
    assert [r.json for r in stack.ropo.lookups] == [{"custnum": sandbox.CUSTNUM_LARGE}] * 3
    assert stack.slack.responses() == []


def test_toggle_in_the_modal_includes_paid_invoices_for_a_hetu(stack: Stack):
    first = result_of_form(stack, HETU)
    toggle, _ = element(first, ids.ACTION_TOGGLE_PAID)
    assert "308T" not in toggle["value"]

    click_in_modal(stack, first, ids.ACTION_TOGGLE_PAID)
    (updated,) = sent_views(stack, "views.update", 1)
    assert_valid_view(updated["view"])
    assert "SBX-10005" in invoice_numbers(updated["view"])
    assert stack.ropo.lookups[-1].json == {"ssn": HETU, "all_invoices": 1}


def test_look_up_another_in_the_modal_shows_the_form_in_place(stack: Stack):
    result = result_of_form(stack, "C-1001")
    click_in_modal(stack, result, ids.ACTION_LOOKUP_ANOTHER)

    (updated,) = sent_views(stack, "views.update", 1)
    assert updated["view_id"] == DEFAULT_VIEW_ID
    assert updated["view"]["callback_id"] == ids.VIEW_LOOKUP
    assert_valid_view(updated["view"])
    assert stack.slack.api_calls("views.open") == []
    assert len(stack.ropo.lookups) == 1


def test_look_up_another_from_a_message_reply_opens_the_form(stack: Stack):
    _, token = stack.command("C-1001")
    reply = stack.reply(token)
    button, block_id = element(reply, ids.ACTION_LOOKUP_ANOTHER)
    assert block_id == ids.BLOCK_NAVIGATION

    response, _ = stack.click(button, block_id)
    assert response.status_code == 200
    (opened,) = sent_views(stack, "views.open", 1)
    assert opened["trigger_id"] == "trigger-2"
    assert opened["view"]["callback_id"] == ids.VIEW_LOOKUP
    assert_valid_view(opened["view"])


def test_myropo_link_in_the_modal_is_acknowledged(stack: Stack):
    result = result_of_form(stack, HETU)
    response = click_in_modal(stack, result, ids.ACTION_OPEN_MYROPO)
    assert response.status_code == 200
    stack.settle()
    assert stack.slack.api_calls("views.update") == []
    assert len(stack.ropo.lookups) == 1


def assert_tampered_click_is_answered_in_the_modal(
    stack: Stack, view: dict[str, Any], action_id: str
) -> None:
    """Click ``action_id`` with its sealed value garbled: an "expired" answer, no lookup."""
    lookups = len(stack.ropo.lookups)
    button, block_id = element(view, action_id)
    tampered = {**button, "value": button["value"][:-4] + "AAAA"}

    response = stack.post(modal_click_body(button_click(tampered, block_id), view))
    assert response.status_code == 200
    (updated,) = sent_views(stack, "views.update", 1)
    assert_valid_view(updated["view"])
    assert "This reply has expired" in text_of(updated["view"])
    assert element(updated["view"], ids.ACTION_LOOKUP_ANOTHER)
    assert len(stack.ropo.lookups) == lookups


def test_tampered_page_button_in_a_modal_gets_a_clear_answer_there(stack: Stack):
    view = result_of_form(stack, sandbox.CUSTNUM_LARGE)
    assert_tampered_click_is_answered_in_the_modal(stack, view, ids.ACTION_PAGE_NEXT)


def test_tampered_choice_gets_a_clear_answer_there(stack: Stack):
    shortcut_on(stack, {"text": f"{HETU} or {sandbox.HETU_DUE_20TH_CENTURY}"})
    (opened,) = sent_views(stack, "views.open", 1)
    stack.slack.clear()
    assert_tampered_click_is_answered_in_the_modal(
        stack, opened["view"], ids.ACTION_CHOOSE_IDENTIFIER
    )


# --- the App Home -------------------------------------------------------------------------


def post_event(stack: Stack, body: str) -> httpx.Response:
    """POST an Events API callback (JSON), signed as Slack signs it."""
    headers = signed_headers(SIGNING_SECRET, body, content_type=JSON)
    return stack.http.post(stack.url + EVENTS_PATH, content=body, headers=headers)


def test_home_tab_is_published_when_opened(stack: Stack):
    response = post_event(stack, app_home_opened_body())
    assert response.status_code == 200

    (published,) = sent_views(stack, "views.publish", 1)
    assert published["user_id"] == DEFAULT_USER
    home = published["view"]
    assert home["type"] == "home"
    assert_valid_view(home)
    shown = text_of(home)
    assert "/invoices DDMMYY-NNNX" in shown
    assert "/invoices C-1001" in shown
    for label in ("Collection", "Reminder", "Due", "Invoicing", "Paid"):
        assert f"*{label}*" in shown
    assert "Connected to *Ropo One (custom endpoint)*" in shown  # the stand-in's base URL
    assert element(home, ids.ACTION_OPEN_LOOKUP_FORM)


def test_home_tab_ignores_the_messages_tab(stack: Stack):
    response = post_event(stack, app_home_opened_body(tab="messages"))
    assert response.status_code == 200
    # Bolt runs an event's listener after its ack, so the HTTP answer proves nothing. The
    # Home tab opened next is a later event: once its view is published and the app has no
    # work in flight, anything the messages tab had started would have been sent too.
    post_event(stack, app_home_opened_body(tab="home"))
    sent_views(stack, "views.publish", 1)
    stack.settle()
    assert len(stack.slack.api_calls("views.publish")) == 1


def test_home_button_opens_the_lookup_form(stack: Stack):
    post_event(stack, app_home_opened_body())
    (published,) = sent_views(stack, "views.publish", 1)
    stack.slack.clear()

    button, block_id = element(published["view"], ids.ACTION_OPEN_LOOKUP_FORM)
    response = stack.post(modal_click_body(button_click(button, block_id), published["view"]))
    assert response.status_code == 200
    (opened,) = sent_views(stack, "views.open", 1)
    assert opened["view"]["callback_id"] == ids.VIEW_LOOKUP
    assert stack.slack.api_calls("views.update") == []  # the Home tab itself stays
