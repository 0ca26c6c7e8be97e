"""Details and instant paging, end to end: signed clicks into the real HTTP app.

The app runs between the Ropo sandbox and the Slack stand-in with its paging cache on (the
other end-to-end modules turn it off). Each test acts as an agent of its own, so a result
one test leaves in the cache never answers another test's click.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.audit import AuditQuery, AuditRow
from bot.audit.store import read_only, search
from bot.dev.slack_requests import block_actions_body, button_click, modal_click_body
from bot.dev.slack_standin import member
from bot.ropo import sandbox_data as sandbox
from tests.conftest import Stack, StackServers, serve_stack

_AGENTS = (f"U0DETAIL{n:02d}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def stack_servers() -> Iterator[StackServers]:
    """This module's stack: the paging cache on, as deployed."""
    with serve_stack(result_cache_ttl_s=300) as servers:
        yield servers


@pytest.fixture
def agent(stack: Stack) -> str:
    """A full member of the workspace no other test in this module acts as."""
    user_id = next(_AGENTS)
    stack.slack.users[user_id] = member(user_id)
    return user_id


def command(stack: Stack, agent: str, text: str) -> dict[str, Any]:
    """``/invoices text`` as ``agent``; the reply the app posted."""
    _, token = stack.command(text, user_id=agent)
    return stack.reply(token)


def click(stack: Stack, agent: str, button: dict[str, Any], block_id: str = "b") -> str:
    """Click ``button`` of an ephemeral reply as ``agent``; the new response_url token."""
    token, url = stack.response_url()
    body = block_actions_body(button_click(button, block_id), url, user_id=agent)
    assert stack.post(body).status_code == 200
    return token


def buttons(payload: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """Every button with ``action_id`` in a message or view, in order."""
    found = []
    for block in payload["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                found.append(element)
    return found


def sent_views(stack: Stack, method: str, count: int) -> list[dict[str, Any]]:
    """The views of the first ``count`` ``method`` calls, once they have all arrived."""
    calls = stack.slack.wait_for_api_calls(method, count)
    views = [call.body["view"] for call in calls[:count]]
    return [json.loads(v) if isinstance(v, str) else v for v in views]


def audit_rows(stack: Stack) -> list[AuditRow]:
    assert stack.settings is not None
    with read_only(Path(stack.settings.audit_db)) as connection:
        return search(connection, AuditQuery())


def rows_of(stack: Stack, agent: str) -> list[AuditRow]:
    return [row for row in audit_rows(stack) if row.user_id == agent]


def details_button(reply: dict[str, Any], invoice_number: str) -> dict[str, Any]:
    """The Details button right after the section of ``invoice_number``."""
    blocks = reply["blocks"]
    for index, block in enumerate(blocks):
        text = (block.get("text") or {}).get("text", "")
        if f"*{invoice_number}*" in text:
            for later in blocks[index + 1 :]:
                found = buttons({"blocks": [later]}, ids.ACTION_SHOW_DETAILS)
                if found:
                    return found[0]
    raise AssertionError(f"no Details button for {invoice_number}")


# --- details ------------------------------------------------------------------------------


def test_details_open_a_modal_from_ropos_job_without_personal_data(stack: Stack, agent: str):
    reply = command(stack, agent, sandbox.HETU_MANY_INVOICES)
    button = details_button(reply, "SBX-10004")
    assert "9100004" not in button["value"]  # sealed like every button
    assert "308T" not in button["value"]

    click(stack, agent, button)
    (loading,) = sent_views(stack, "views.open", 1)
    (shown,) = sent_views(stack, "views.update", 1)

    assert loading["callback_id"] == ids.VIEW_DETAILS
    assert "Loading" in json.dumps(loading)
    # Ropo One was asked for exactly this job, by GET with the job id.
    (asked,) = stack.ropo.details_requests
    assert (asked.method, asked.query) == ("GET", "jobid=9100004")
    assert asked.headers["authorization"].startswith("Bearer ")

    text = json.dumps(shown, ensure_ascii=False)
    assert shown["callback_id"] == ids.VIEW_DETAILS
    assert shown["close"]["text"] == "Close"
    assert "*Status*\\nReminder" in text
    assert "SBX-10004" in text
    assert sandbox.finnish_reference(9100004) in text  # the payment reference
    assert "Debt collection on <!date^" in text
    assert buttons(shown, ids.ACTION_OPEN_MYROPO)[0]["url"].endswith("/invoice/9100004")
    # The sandbox's job carries the customer's HETU as govid, an address and a city.
    job = sandbox.JOBS_BY_ID[9100004][0].details_json(sandbox.HETU_MANY_INVOICES)
    for personal in (sandbox.HETU_MANY_INVOICES, job["address"], job["city"], job["custnum"]):
        for call in stack.slack.received:
            assert personal not in json.dumps(call.body, ensure_ascii=False)

    details_rows = [r for r in rows_of(stack, agent) if r.surface == "details"]
    assert [(r.outcome_text, r.invoice_count) for r in details_rows] == [
        ("found 1 (job 9100004)", 1)
    ]
    assert details_rows[0].ropo_latency_ms is not None


def test_details_from_the_result_modal_are_pushed_over_it(stack: Stack, agent: str):
    reply = command(stack, agent, sandbox.CUSTNUM_SMALL)
    result_view = {"type": "modal", "callback_id": ids.VIEW_RESULT, "blocks": reply["blocks"]}
    button = details_button(reply, "SBX-10401")
    body = modal_click_body(button_click(button, "b"), result_view, user_id=agent)
    assert stack.post(body).status_code == 200

    (loading,) = sent_views(stack, "views.push", 1)
    (shown,) = sent_views(stack, "views.update", 1)
    assert stack.slack.api_calls("views.open") == []
    assert loading["close"]["text"] == "Back"
    assert shown["close"]["text"] == "Back"
    assert "SBX-10401" in json.dumps(shown)


@pytest.mark.parametrize(
    ("invoice", "heading"),
    [
        ("SBX-FAULT-503", "Ropo One is not answering"),
        ("SBX-FAULT-HTML", "Ropo One gave an unexpected answer"),
        ("SBX-FAULT-400", "Ropo One could not process this lookup"),
        ("SBX-LOST", "Ropo One no longer has this invoice"),
    ],
)
def test_a_failing_ropo_is_explained_in_the_modal(
    stack: Stack, agent: str, invoice: str, heading: str
):
    reply = command(stack, agent, sandbox.CUSTNUM_DETAILS_FAULTS)
    click(stack, agent, details_button(reply, invoice))
    (shown,) = sent_views(stack, "views.update", 1)
    text = json.dumps(shown)
    assert heading in text
    assert "Reference: `R-" in text
    assert stack.ropo.details_requests  # Ropo One was asked, and failed
    (row,) = [r for r in rows_of(stack, agent) if r.surface == "details"]
    assert row.outcome in ("error", "none")


def test_a_ropo_outage_during_details_is_retried_then_explained(stack: Stack, agent: str):
    reply = command(stack, agent, sandbox.HETU_MANY_INVOICES)
    stack.ropo.fail_next(503, 503, 503)
    click(stack, agent, details_button(reply, "SBX-10002"))
    (shown,) = sent_views(stack, "views.update", 1)
    assert "Ropo One is not answering" in json.dumps(shown)
    assert len(stack.ropo.details_requests) == 3  # the first try and two retries
    (row,) = [r for r in rows_of(stack, agent) if r.surface == "details"]
    assert row.outcome_text == "error: unavailable"


def test_when_slack_will_not_open_the_modal_the_agent_is_told_and_nothing_is_audited(
    stack: Stack, agent: str, monkeypatch: pytest.MonkeyPatch
):
    reply = command(stack, agent, sandbox.HETU_MANY_INVOICES)
    monkeypatch.setitem(stack.slack.api_errors, "views.open", "expired_trigger_id")
    token = click(stack, agent, details_button(reply, "SBX-10002"))
    assert "did not open the lookup window" in json.dumps(stack.reply(token))
    # Ropo is asked while the modal opens, so it was asked; but nothing was shown.
    stack.slack.wait_for_api_calls("views.open", 1)
    assert stack.slack.api_calls("views.update") == []
    assert [r.surface for r in rows_of(stack, agent)] == ["command"]


def test_a_tampered_details_button_asks_nobody(stack: Stack, agent: str):
    reply = command(stack, agent, sandbox.HETU_MANY_INVOICES)
    button = dict(details_button(reply, "SBX-10002"))
    button["value"] = button["value"][:-4] + "AAAA"
    token = click(stack, agent, button)
    assert "This reply has expired" in json.dumps(stack.reply(token))
    assert stack.ropo.details_requests == []
    assert stack.slack.api_calls("views.open") == []


# --- instant paging -----------------------------------------------------------------------


def test_paging_is_answered_without_asking_ropo_again_and_audited(stack: Stack, agent: str):
    first = command(stack, agent, sandbox.CUSTNUM_LARGE)
    second = stack.reply(click(stack, agent, buttons(first, ids.ACTION_PAGE_NEXT)[0]))
    third = stack.reply(click(stack, agent, buttons(second, ids.ACTION_PAGE_NEXT)[0]))
    back = stack.reply(click(stack, agent, buttons(third, ids.ACTION_PAGE_PREVIOUS)[0]))

    assert "21–30 of 120" in json.dumps(third, ensure_ascii=False)
    assert "11–20 of 120" in json.dumps(back, ensure_ascii=False)
    assert [r.json for r in stack.ropo.lookups] == [{"custnum": sandbox.CUSTNUM_LARGE}]
    rows = rows_of(stack, agent)
    assert [(r.outcome_text, r.ropo_latency_ms is None) for r in rows] == [
        ("found 120", False),
        ("found 120 (cached)", True),
        ("found 120 (cached)", True),
        ("found 120 (cached)", True),
    ]
    # Each view has its own reference, shown in its footer.
    assert len({r.reference for r in rows}) == 4
    assert rows[-1].reference in json.dumps(back)


def test_open_only_after_include_paid_is_filtered_from_the_kept_result(stack: Stack, agent: str):
    everything = command(stack, agent, f"{sandbox.CUSTNUM_LARGE} all")
    assert "125 invoices (5 paid)" in json.dumps(everything)
    open_only = stack.reply(click(stack, agent, buttons(everything, ids.ACTION_TOGGLE_PAID)[0]))
    assert "120 open invoices" in json.dumps(open_only)
    assert [r.json for r in stack.ropo.lookups] == [
        {"custnum": sandbox.CUSTNUM_LARGE, "all_invoices": 1}
    ]
    # The other way round needs paid invoices the kept result does not have: Ropo is asked.
    stack.reply(click(stack, agent, buttons(open_only, ids.ACTION_TOGGLE_PAID)[0]))
    assert len(stack.ropo.lookups) == 1  # the include-paid result is still kept
    assert rows_of(stack, agent)[-1].outcome_text == "found 125 (cached)"


def test_refresh_asks_ropo_again(stack: Stack, agent: str):
    first = command(stack, agent, sandbox.CUSTNUM_SMALL)
    refreshed = stack.reply(click(stack, agent, buttons(first, ids.ACTION_REFRESH)[0]))
    assert "2 open invoices" in json.dumps(refreshed)
    assert len(stack.ropo.lookups) == 2
    assert [r.outcome_text for r in rows_of(stack, agent)] == ["found 2", "found 2"]


def test_another_agents_click_is_not_served_from_this_agents_result(stack: Stack, agent: str):
    first = command(stack, agent, sandbox.CUSTNUM_LARGE)
    other = next(_AGENTS)
    stack.slack.users[other] = member(other)
    page = stack.reply(click(stack, other, buttons(first, ids.ACTION_PAGE_NEXT)[0]))
    assert "11–20 of 120" in json.dumps(page, ensure_ascii=False)
    assert len(stack.ropo.lookups) == 2
    assert [r.outcome_text for r in rows_of(stack, other)] == ["found 120"]
