"""``/invoices`` end to end: signed requests to the real HTTP app, stand-ins on loopback."""

from __future__ import annotations

import json
import re
import time

import pytest
from slack_sdk.models.blocks import Block

from bot import ids
from bot.dev.slack_requests import slash_command_body
from tests.conftest import Stack
from tests.privacy import assert_no_identity_code


def invoice_numbers(reply: dict) -> list[str]:
    """Invoice numbers in the order the reply shows them."""
    text = json.dumps(reply["blocks"])
    return re.findall(r"SBX-\d+(?:/\d+)?", text)


def nav_button(reply: dict, action_id: str) -> dict:
    """The navigation button with ``action_id``."""
    for block in reply["blocks"]:
        if block.get("block_id") == ids.BLOCK_NAVIGATION:
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return element
    raise AssertionError(f"no {action_id} button in the reply")


def assert_valid_private_reply(reply: dict) -> None:
    """Ephemeral, with a fallback text, valid Block Kit and no readable identity code."""
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].strip()
    assert len(reply["blocks"]) <= 50
    for block in reply["blocks"]:
        Block.parse(block).to_dict()  # raises on malformed blocks
    assert_no_identity_code(json.dumps(reply), where="what Slack received")


def test_hetu_lookup_acks_at_once_and_replies_privately(stack: Stack):
    started = time.monotonic()
    response, token = stack.command("131052-308T")
    ack_s = time.monotonic() - started

    assert response.status_code == 200
    assert response.text == ""
    assert ack_s < 3.0
    reply = stack.reply(token)
    assert_valid_private_reply(reply)
    assert "131052-****" in reply["text"]
    # Most urgent first: collection, reminder, due (oldest first), invoicing; paid not shown.
    assert invoice_numbers(reply) == [
        "SBX-10002",  # collection
        "SBX-10004",  # reminder
        "SBX-10001",  # due, 2025-11-20
        "SBX-10006",  # due, 2025-12-01: a group job, then its sub-invoices
        "SBX-10006/1",
        "SBX-10006/2",
        "SBX-10006/3",
        "SBX-10003",  # invoicing; the paid SBX-10005 is not asked for
    ]
    lookups = stack.ropo.lookups
    assert [r.json for r in lookups] == [{"ssn": "131052-308T"}]
    assert lookups[0].headers["authorization"].startswith("Bearer ")


def test_all_flag_asks_ropo_for_paid_invoices_too(stack: Stack):
    response, token = stack.command("131052-308t kaikki")
    assert response.status_code == 200
    reply = stack.reply(token)
    assert_valid_private_reply(reply)
    assert [r.json for r in stack.ropo.lookups] == [{"ssn": "131052-308T", "all_invoices": 1}]
    assert "SBX-10005" in invoice_numbers(reply)  # the paid one


def test_customer_number_is_sent_as_custnum_and_shown_as_is(stack: Stack):
    _, token = stack.command("C-1001")
    reply = stack.reply(token)
    assert_valid_private_reply(reply)
    assert [r.json for r in stack.ropo.lookups] == [{"custnum": "C-1001"}]
    assert "C-1001" in reply["text"]


def test_invalid_hetu_is_refused_in_the_ack_and_ropo_is_not_called(stack: Stack):
    response, _ = stack.command("131052-308U")
    assert response.status_code == 200
    ack = response.json()
    assert ack["blocks"]
    assert "131052-****" in json.dumps(ack)
    assert_no_identity_code(response.text)
    assert stack.ropo.requests == []
    assert stack.slack.responses() == []


@pytest.mark.parametrize(
    "text",
    ["<!here>", "<@U123|bob>", "a b c", "x" * 5000, "C-1001 <script>", "*bold*", "&amp;"],
)
def test_hostile_input_is_refused_escaped_and_never_sent_to_ropo(stack: Stack, text: str):
    response, _ = stack.command(text)
    assert response.status_code == 200
    body = response.text
    assert "<!here>" not in body
    assert "<@U123" not in body
    assert "<script>" not in body
    assert stack.ropo.requests == []


def test_help_is_answered_in_the_ack(stack: Stack):
    response, _ = stack.command("")
    assert response.status_code == 200
    assert ids.COMMAND in response.json()["text"] + json.dumps(response.json()["blocks"])
    assert stack.ropo.requests == []


def test_nothing_found_is_its_own_answer(stack: Stack):
    _, token = stack.command("C-404404")
    reply = stack.reply(token)
    assert_valid_private_reply(reply)
    assert "C-404404" in reply["text"]
    assert nav_button(reply, ids.ACTION_TOGGLE_PAID)


@pytest.mark.parametrize(
    ("custnum", "attempts", "words"),
    [
        ("FAULT-500", 3, "try again"),
        ("FAULT-503", 3, "try again"),
        ("FAULT-HTML", 1, "unexpected"),
        ("FAULT-BADJSON", 1, "unexpected"),
        ("FAULT-400", 1, "could not"),
    ],
)
def test_each_ropo_fault_gets_its_own_private_answer_with_a_reference(
    stack: Stack, custnum: str, attempts: int, words: str
):
    _, token = stack.command(custnum)
    reply = stack.reply(token)
    assert_valid_private_reply(reply)
    assert words in json.dumps(reply).lower()
    assert "R-" in json.dumps(reply)
    assert len(stack.ropo.lookups) == attempts


def test_a_slow_ropo_is_given_up_on_within_the_budget(stack: Stack):
    started = time.monotonic()
    _, token = stack.command("FAULT-SLOW")
    reply = stack.reply(token, timeout=10)
    elapsed = time.monotonic() - started
    assert_valid_private_reply(reply)
    assert "try again" in json.dumps(reply).lower()
    # ROPO_TIMEOUT_S is 2 in these tests; the sandbox's slow answer would come after 5 s.
    assert 1.9 < elapsed < 5.0


def test_reference_in_the_reply_is_also_in_the_log(stack: Stack, caplog: pytest.LogCaptureFixture):
    _, token = stack.command("FAULT-500")
    reply = stack.reply(token)
    reference = re.search(r"R-[0-9A-Z]{6}", json.dumps(reply)).group(0)
    assert reference in caplog.text


def test_forged_signature_is_rejected(stack: Stack):
    _, url = stack.response_url()
    response = stack.post(slash_command_body("C-1001", url), secret="not-the-secret")
    assert response.status_code == 401
    assert stack.ropo.requests == []


def test_stale_request_is_rejected(stack: Stack):
    _, url = stack.response_url()
    six_minutes_ago = int(time.time()) - 6 * 60
    response = stack.post(slash_command_body("C-1001", url), timestamp=six_minutes_ago)
    assert response.status_code == 401
    assert stack.ropo.requests == []


def test_120_invoices_page_through_without_retyping(stack: Stack):
    _, token = stack.command("C-1200")
    first = stack.reply(token)
    assert_valid_private_reply(first)
    assert "1–10 of 120" in json.dumps(first, ensure_ascii=False)
    with pytest.raises(AssertionError):
        nav_button(first, ids.ACTION_PAGE_PREVIOUS)
    next_button = nav_button(first, ids.ACTION_PAGE_NEXT)
    assert "C-1200" not in next_button["value"]  # sealed, not readable

    response, token2 = stack.click(next_button, ids.BLOCK_NAVIGATION)
    assert response.status_code == 200
    second = stack.reply(token2)
    assert_valid_private_reply(second)
    assert second["replace_original"] is True
    assert "11–20 of 120" in json.dumps(second, ensure_ascii=False)
    assert set(invoice_numbers(first)).isdisjoint(invoice_numbers(second))
    assert [r.json for r in stack.ropo.lookups] == [{"custnum": "C-1200"}] * 2


def test_toggle_includes_paid_invoices_for_a_hetu_without_exposing_it(stack: Stack):
    _, token = stack.command("131052-308T")
    first = stack.reply(token)
    toggle = nav_button(first, ids.ACTION_TOGGLE_PAID)
    assert_no_identity_code(toggle["value"])
    assert "308T" not in toggle["value"]

    _, token2 = stack.click(toggle, ids.BLOCK_NAVIGATION)
    stack.reply(token2)  # the click is acknowledged first; the lookup follows
    assert stack.ropo.lookups[-1].json == {"ssn": "131052-308T", "all_invoices": 1}


def test_tampered_button_gets_a_clear_private_answer(stack: Stack):
    _, token = stack.command("C-1200")
    button = dict(nav_button(stack.reply(token), ids.ACTION_PAGE_NEXT))
    button["value"] = button["value"][:-4] + "AAAA"
    response, token2 = stack.click(button, ids.BLOCK_NAVIGATION)
    assert response.status_code == 200
    reply = stack.reply(token2)
    assert_valid_private_reply(reply)
    assert "/invoices" in json.dumps(reply)
    assert len(stack.ropo.lookups) == 1


def test_myropo_link_click_is_acknowledged(stack: Stack):
    _, token = stack.command("131052-308T")
    reply = stack.reply(token)
    link = next(
        b["accessory"]
        for b in reply["blocks"]
        if b.get("accessory", {}).get("action_id") == ids.ACTION_OPEN_MYROPO
    )
    assert link["url"].startswith("https://")
    response, _ = stack.click(link, "any-block")
    assert response.status_code == 200
    assert len(stack.ropo.lookups) == 1


def test_health_check(stack: Stack):
    response = stack.http.get(stack.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "ropo": "custom",
        "circuit": "closed",
        "circuit_retry_in_s": None,
    }
