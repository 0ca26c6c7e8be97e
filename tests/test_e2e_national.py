"""An app set up for Ropo One Sweden or Norway, end to end: what it sends, shows and logs.

Signed requests go to the real HTTP app; the Ropo sandbox and the Slack stand-in record what
they receive. The privacy oracle is the literal codes typed here, never the redactor's regex.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot import ids
from bot.dev.slack_requests import (
    global_shortcut_body,
    lookup_form_values,
    message_shortcut_body,
    view_submission_body,
)
from bot.ropo import sandbox_data as sandbox
from tests.conftest import Stack, StackServers, app_log, open_stack, serve_stack

PNR_TYPED = "811228-9841"
PNR_SENT = sandbox.PERSONNUMMER_THREE_INVOICES  # 198112289841: the default ROPO_SSN_FORMAT
FNR = sandbox.FODSELSNUMMER_THREE_INVOICES
D_NUMBER = sandbox.D_NUMBER_REMINDER
# Every way the codes used here could be written: none may reach Slack or the log.
LITERALS = (
    "811228-9841",
    "8112289841",
    "198112289841",
    "19811228-9841",
    "701063-2391",
    "197010632391",
    FNR,
    D_NUMBER,
)


def leaked(text: str) -> list[str]:
    return [code for code in LITERALS if code in text]


def everything_slack_received(stack: Stack) -> str:
    return json.dumps([received.body for received in stack.slack.received], ensure_ascii=False)


def paid_toggle(reply: dict) -> tuple[dict, str]:
    for block in reply["blocks"]:
        if block.get("block_id") == ids.BLOCK_NAVIGATION:
            for element in block["elements"]:
                if element["action_id"] == ids.ACTION_TOGGLE_PAID:
                    return element, block["block_id"]
    raise AssertionError("no paid toggle in the reply")


@pytest.fixture(scope="module")
def sweden() -> Iterator[StackServers]:
    with serve_stack(ropo_country="se") as servers:
        yield servers


@pytest.fixture(scope="module")
def norway() -> Iterator[StackServers]:
    with serve_stack(ropo_country="no") as servers:
        yield servers


@pytest.fixture
def se(sweden: StackServers) -> Iterator[Stack]:
    with open_stack(sweden) as stack:
        yield stack


@pytest.fixture
def no(norway: StackServers) -> Iterator[Stack]:
    with open_stack(norway) as stack:
        yield stack


def test_a_personnummer_is_sent_as_12_digits_and_shown_masked(se: Stack) -> None:
    log_start = app_log().stat().st_size
    response, token = se.command(f"{PNR_TYPED} alla")
    assert response.status_code == 200
    reply = se.reply(token)
    assert [r.json for r in se.ropo.lookups] == [{"ssn": PNR_SENT, "all_invoices": 1}]
    assert "811228-****" in reply["text"]
    assert "kr" in reply["text"]  # SEK: the country's currency
    assert leaked(everything_slack_received(se)) == []
    with app_log().open(encoding="utf-8") as log:
        log.seek(log_start)
        assert leaked(log.read()) == []


def test_a_button_repeats_the_lookup_without_carrying_the_code(se: Stack) -> None:
    _, token = se.command("8112289841")
    reply = se.reply(token)
    button, block_id = paid_toggle(reply)
    assert leaked(json.dumps(reply)) == []
    _, clicked = se.click(button, block_id)
    se.reply(clicked)
    assert [r.json for r in se.ropo.lookups] == [
        {"ssn": PNR_SENT},
        {"ssn": PNR_SENT, "all_invoices": 1},
    ]


def test_a_samordningsnummer_is_looked_up_like_a_personnummer(se: Stack) -> None:
    _, token = se.command("701063-2391")
    reply = se.reply(token)
    assert [r.json for r in se.ropo.lookups] == [{"ssn": "197010632391"}]
    assert "701063-****" in reply["text"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("811228-9842", "811228-**** isn't a valid personnummer"),
        ("131052-308T", "That looks like a Finnish HETU; this app is connected to Ropo One Sweden"),
        (
            FNR,
            "That looks like a Norwegian fødselsnummer; this app is connected to Ropo One Sweden",
        ),
    ],
)
def test_invalid_and_foreign_codes_are_refused_in_the_ack_and_never_sent(
    se: Stack, typed: str, expected: str
) -> None:
    response, _ = se.command(typed)
    assert response.status_code == 200
    assert expected in response.json()["text"]
    assert typed not in response.text
    assert se.ropo.requests == []


def test_the_message_shortcut_finds_a_personnummer(se: Stack) -> None:
    _, url = se.response_url()
    message = {"text": f"Hej! Mitt personnummer är {PNR_TYPED}, vad är jag skyldig?"}
    response = se.post(message_shortcut_body(message, url))
    assert response.status_code == 200
    se.slack.wait_for_api_calls("views.update", 1)
    assert [r.json for r in se.ropo.lookups] == [{"ssn": PNR_SENT}]
    assert leaked(everything_slack_received(se)) == []


def test_the_form_names_the_personnummer_and_refuses_a_bad_one_on_the_field(se: Stack) -> None:
    se.post(global_shortcut_body())
    (opened,) = se.slack.wait_for_api_calls("views.open", 1)
    form = opened.body["view"]
    assert "Personnummer" in json.dumps(form, ensure_ascii=False)
    response = se.post(view_submission_body(form, lookup_form_values("811228-9842")))
    errors = response.json()["errors"]
    assert "isn't a valid personnummer" in errors[ids.BLOCK_LOOKUP_IDENTIFIER]
    assert "811228-9842" not in response.text
    assert se.ropo.requests == []


def test_help_names_the_personnummer(se: Stack) -> None:
    response, _ = se.command("help")
    assert "personnummer" in response.json()["text"]


def test_a_fodselsnummer_and_a_d_number_are_sent_as_11_digits(no: Stack) -> None:
    _, first = no.command(FNR)
    reply = no.reply(first)
    _, second = no.command(D_NUMBER)
    no.reply(second)
    assert [r.json for r in no.ropo.lookups] == [{"ssn": FNR}, {"ssn": D_NUMBER}]
    assert "151086*****" in reply["text"]
    assert leaked(everything_slack_received(no)) == []


def test_a_personnummer_is_refused_in_norway(no: Stack) -> None:
    response, _ = no.command("198112289841")
    assert "Swedish personnummer" in response.json()["text"]
    assert no.ropo.requests == []


def test_ropo_ssn_format_changes_what_ropo_is_sent() -> None:
    # Ropo's documentation names only the HETU: the Swedish form is a setting.
    with (
        serve_stack(ropo_country="se", ropo_ssn_format="YYMMDD-NNNN") as servers,
        open_stack(servers) as stack,
    ):
        _, token = stack.command("198112289841")
        stack.reply(token)
        assert [r.json for r in stack.ropo.lookups] == [{"ssn": "811228-9841"}]
