"""Access, the rate limit and the audit trail, end to end, on every surface.

Signed requests go to the real HTTP app between the Slack stand-in and the Ropo One sandbox.
Each refusal must reach the agent privately where they asked, leave Ropo One unasked, and be
in the audit database with its reason; that database is read back as SQLite, as the
``python -m bot audit`` command, and as raw bytes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import ids
from bot.access.policy import AccessReason
from bot.audit import AuditRow, AuditStore, identifier_hash
from bot.blocks import render_lookup_form
from bot.dev.slack_requests import (
    DEFAULT_CHANNEL,
    DEFAULT_USER,
    DEFAULT_VIEW_ID,
    app_home_opened_body,
    block_actions_body,
    button_click,
    global_shortcut_body,
    lookup_form_values,
    message_shortcut_body,
    modal_click_body,
    opened_view,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from bot.dev.slack_standin import TEAM_ID, Received, member
from bot.query import Identifier, IdentifierKind, Query
from bot.settings import RopoEnvironment
from bot.slack.app import create_ropo_client, create_services
from bot.slack.context import ContextSealer, LookupContext
from bot.slack.web import EVENTS_PATH
from tests.conftest import (
    AUDIT_KEY,
    SIGNING_SECRET,
    Stack,
    StackServers,
    open_stack,
    serve_stack,
    stack_settings,
)
from tests.privacy import assert_no_identity_code

ROOT = Path(__file__).resolve().parents[1]
HETU = "131052-308T"
IDENTIFIER = Identifier(IdentifierKind.HETU, HETU)
KEY = AUDIT_KEY.encode()
GROUP = "S0CSTEAM"
GUEST = "U0GUEST01"
EXTERNAL = "U0EXTERN1"
OUTSIDER = "U0OUTSIDE"
OTHER_CHANNEL = "C0RANDOM"
# Anchored on its label: a sealed button value may hold "R-" and six capitals by chance.
REFERENCE = re.compile(r"Reference: `?(R-[0-9A-Z]{6})")


# --- three deployments: default access, a user-group allowlist, a channel allowlist ---------


@pytest.fixture(scope="module")
def open_servers() -> Iterator[StackServers]:
    """Every full member may look up, 30 lookups a minute (the defaults).

    Ropo's budget is the default 10 s: 200 concurrent lookups on one loopback sandbox queue.
    """
    with serve_stack(rate_limit_per_minute=30, ropo_timeout_s=10.0) as servers:
        servers.slack.users[GUEST] = member(GUEST, is_restricted=True)
        servers.slack.users[EXTERNAL] = member(EXTERNAL, team_id="T0OTHERORG")
        yield servers


@pytest.fixture(scope="module")
def group_servers() -> Iterator[StackServers]:
    """Only members of the @customer-service user group may look up."""
    with serve_stack(allowed_usergroup_ids=GROUP) as servers:
        servers.slack.users[OUTSIDER] = member(OUTSIDER)
        servers.slack.usergroup_members[GROUP] = [DEFAULT_USER]
        yield servers


@pytest.fixture(scope="module")
def channel_servers() -> Iterator[StackServers]:
    """Lookups only from the support channel."""
    with serve_stack(allowed_channel_ids=DEFAULT_CHANNEL) as servers:
        yield servers


@pytest.fixture
def open_stack_(open_servers: StackServers) -> Iterator[Stack]:
    with open_stack(open_servers) as stack:
        yield stack


# --- reading what happened -----------------------------------------------------------------


def audit_rows(stack: Stack, where: str = "1", *params: Any) -> list[dict[str, Any]]:
    """Rows of the stack's audit database, as dicts, oldest first."""
    assert stack.settings is not None
    with closing(sqlite3.connect(stack.settings.audit_db)) as connection:
        connection.row_factory = sqlite3.Row
        sql = f"SELECT * FROM lookups WHERE {where} ORDER BY id"  # noqa: S608 - test literals
        return [dict(row) for row in connection.execute(sql, params)]


def wait_for_rows(
    stack: Stack, count: int, where: str = "1", *params: Any, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """The audit rows ``where`` says, once there are at least ``count`` of them.

    A refusal is acknowledged first and audited in the background: its row comes a moment
    after the answer the agent sees.
    """
    deadline = time.monotonic() + timeout_s
    while len(rows := audit_rows(stack, where, *params)) < count:
        assert time.monotonic() < deadline, f"{len(rows)} of {count} audit rows in {timeout_s} s"
        time.sleep(0.02)
    return rows


def audited(stack: Stack, reference: str) -> dict[str, Any]:
    """The one audit row of ``reference``, waiting for it to be written."""
    rows = wait_for_rows(stack, 1, "reference = ?", reference)
    assert len(rows) == 1, f"{len(rows)} audit rows for {reference}"
    return rows[0]


def view_of(call_body: dict[str, Any]) -> dict[str, Any]:
    view = call_body["view"]
    return json.loads(view) if isinstance(view, str) else view


def sealed(query: Query) -> str:
    """A button value as the app seals it (every instance shares the signing secret)."""
    return ContextSealer(SIGNING_SECRET.encode()).seal(LookupContext(query))


def toggle_click(query: Query) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ids.ACTION_TOGGLE_PAID,
        "block_id": ids.BLOCK_NAVIGATION,
        "text": {"type": "plain_text", "text": "Include paid invoices"},
        "value": sealed(query),
    }


# --- every surface, as one refused agent would use it ---------------------------------------


@dataclass(frozen=True)
class Refused:
    """What a refused agent was shown, and how the app's audit row should describe it."""

    shown: dict[str, Any]  # a message payload, or a view
    surface: str
    query: Query | None


def via_command(stack: Stack, user: str, channel: str) -> Refused:
    response, token = stack.command(HETU, user_id=user, channel_id=channel)
    assert response.status_code == 200
    shown = response.json()
    assert shown["response_type"] == "ephemeral"
    assert stack.slack.responses(token) == []
    return Refused(shown, "command", Query(IDENTIFIER))


def via_message_button(stack: Stack, user: str, channel: str) -> Refused:
    token, url = stack.response_url()
    query = Query(IDENTIFIER, include_paid=True)
    response = stack.post(
        block_actions_body(toggle_click(query), url, user_id=user, channel_id=channel)
    )
    assert response.status_code == 200
    assert response.text == ""
    shown = stack.reply(token)
    assert shown["response_type"] == "ephemeral"
    assert shown["replace_original"] is False  # the reply the agent clicked stays
    return Refused(shown, "button", query)


def via_modal_button(stack: Stack, user: str, channel: str) -> Refused:
    query = Query(IDENTIFIER, include_paid=True)
    view = opened_view(
        {"type": "modal", "title": {"type": "plain_text", "text": "Invoices"}, "blocks": []}
    )
    body = block_actions_body(
        toggle_click(query),
        None,
        user_id=user,
        channel_id=channel,
        container={"type": "view", "view_id": DEFAULT_VIEW_ID},
        view=view,
    )
    assert stack.post(body).status_code == 200
    (call,) = stack.slack.wait_for_api_calls("views.update", 1)
    assert call.body["view_id"] == DEFAULT_VIEW_ID
    return Refused(view_of(call.body), "button", query)


def via_message_shortcut(stack: Stack, user: str, channel: str) -> Refused:
    _, url = stack.response_url()
    message = {"text": f"Hi, my identity code is {HETU}, what do I owe?"}
    body = message_shortcut_body(message, url, user_id=user, channel_id=channel, trigger_id="t-ms")
    assert stack.post(body).status_code == 200
    (call,) = stack.slack.wait_for_api_calls("views.open", 1)
    assert call.body["trigger_id"] == "t-ms"
    return Refused(view_of(call.body), "message_shortcut", Query(IDENTIFIER))


def via_global_shortcut(stack: Stack, user: str, channel: str) -> Refused:
    assert stack.post(global_shortcut_body(user_id=user, trigger_id="t-gs")).status_code == 200
    (call,) = stack.slack.wait_for_api_calls("views.open", 1)
    assert call.body["trigger_id"] == "t-gs"
    return Refused(view_of(call.body), "modal", None)


def via_modal_submit(stack: Stack, user: str, channel: str) -> Refused:
    form = render_lookup_form(RopoEnvironment.CUSTOM)
    values = lookup_form_values(HETU, include_paid=True)
    response = stack.post(view_submission_body(form, values, user_id=user))
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_action"] == "update"
    return Refused(ack["view"], "modal", Query(IDENTIFIER, include_paid=True))


def via_home_button(stack: Stack, user: str, channel: str) -> Refused:
    home = {"type": "home", "id": "V0HOME", "blocks": []}
    click = {
        "type": "button",
        "action_id": ids.ACTION_OPEN_LOOKUP_FORM,
        "block_id": ids.BLOCK_HOME_ACTIONS,
        "text": {"type": "plain_text", "text": "Look up invoices"},
    }
    container = {"type": "view", "view_id": "V0HOME"}
    body = block_actions_body(
        click, None, user_id=user, channel_id=channel, container=container, view=home
    )
    assert stack.post(body).status_code == 200
    (call,) = stack.slack.wait_for_api_calls("views.open", 1)
    return Refused(view_of(call.body), "button", None)


SURFACES: dict[str, Callable[[Stack, str, str], Refused]] = {
    "command": via_command,
    "message_button": via_message_button,
    "modal_button": via_modal_button,
    "message_shortcut": via_message_shortcut,
    "global_shortcut": via_global_shortcut,
    "modal_submit": via_modal_submit,
    "home_button": via_home_button,
}

CASES = {
    # case: (deployment, user, channel, audited reason, heading the agent sees)
    "guest": ("open_servers", GUEST, DEFAULT_CHANNEL, "guest", "Guests can't look up invoices"),
    "external": (
        "open_servers",
        EXTERNAL,
        DEFAULT_CHANNEL,
        "external",
        "Only members of this workspace can look up invoices",
    ),
    "not_in_group": (
        "group_servers",
        OUTSIDER,
        DEFAULT_CHANNEL,
        "not_in_usergroup",
        "You don't have access to invoice lookups",
    ),
    "other_channel": (
        "channel_servers",
        DEFAULT_USER,
        OTHER_CHANNEL,
        "channel_not_allowed",
        "Invoices can't be looked up here",
    ),
}


@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize("case", list(CASES))
def test_refused_on_every_surface_privately_audited_and_ropo_not_asked(
    request: pytest.FixtureRequest, case: str, surface: str
) -> None:
    deployment, user, channel, reason, heading = CASES[case]
    with open_stack(request.getfixturevalue(deployment)) as stack:
        refused = SURFACES[surface](stack, user, channel)

        text = json.dumps(refused.shown)
        assert f"*{heading}*" in text
        assert_no_identity_code(text)
        reference = REFERENCE.search(text).group(1)
        assert stack.ropo.requests == []
        assert stack.slack.api_calls("chat.postMessage") == []
        row = audited(stack, reference)
        query = refused.query
        assert {k: row[k] for k in ("user_id", "surface", "outcome", "detail")} == {
            "user_id": user,
            "surface": refused.surface,
            "outcome": "refused",
            "detail": reason,
        }
        assert row["identifier_hash"] == (identifier_hash(KEY, query.identifier) if query else None)
        assert row["include_paid"] == (int(query.include_paid) if query else None)
        assert row["invoice_count"] is None
        assert row["ropo_latency_ms"] is None


# --- a refusal is acknowledged at once; showing and auditing it come after ------------------

SLOW_S = 1.5  # how long a slowed audit write or Slack call takes
# Waiting for a slowed write or call would take at least SLOW_S: an ack sooner did not wait.
# (No tighter bound: on a loaded CI machine an ack may take a while for other reasons.)
ACK_WITHIN_S = SLOW_S


def slow_audit_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every audit write takes ``SLOW_S`` longer (the store's own limit is 10 s)."""
    append = AuditStore.append

    async def slow_append(self: AuditStore, row: AuditRow) -> None:
        await asyncio.sleep(SLOW_S)
        await append(self, row)

    monkeypatch.setattr(AuditStore, "append", slow_append)


def slow_slack_answers(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in takes ``SLOW_S`` to answer views.open, views.update and response_url posts."""
    record = stack.slack._record

    def slow_record(received: Received) -> None:
        if received.kind == "response_url" or received.name in {"views.open", "views.update"}:
            time.sleep(SLOW_S)
        record(received)

    monkeypatch.setattr(stack.slack, "_record", slow_record)


def ack_times(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """How long each request ``stack`` posts from now on takes to be answered (acknowledged)."""
    took: list[float] = []
    post = stack.post

    def timed_post(body: str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        response = post(body, **kwargs)
        took.append(time.monotonic() - started)
        return response

    monkeypatch.setattr(stack, "post", timed_post)
    return took


# One surface per way a refusal is shown: in the ack, by response_url, views.update, views.open.
@pytest.mark.parametrize(
    "surface", ["command", "modal_submit", "message_button", "modal_button", "message_shortcut"]
)
def test_a_refusal_is_acknowledged_at_once_however_slow_the_audit_and_slack_are(
    open_stack_: Stack, monkeypatch: pytest.MonkeyPatch, surface: str
) -> None:
    slow_audit_writes(monkeypatch)
    slow_slack_answers(open_stack_, monkeypatch)
    took = ack_times(open_stack_, monkeypatch)

    refused = SURFACES[surface](open_stack_, GUEST, DEFAULT_CHANNEL)  # waits until it is shown

    assert len(took) == 1
    assert took[0] < ACK_WITHIN_S, f"the refusal was acknowledged after {took[0]:.2f} s"
    assert "*Guests can't look up invoices*" in json.dumps(refused.shown)
    reference = REFERENCE.search(json.dumps(refused.shown)).group(1)
    assert audited(open_stack_, reference)["detail"] == "guest"  # in the background, still
    assert open_stack_.ropo.requests == []


def test_a_refusal_in_a_modal_is_opened_before_the_trigger_expires_however_slow_the_audit(
    open_stack_: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_audit_writes(monkeypatch)
    started = time.monotonic()
    refused = via_message_shortcut(open_stack_, GUEST, DEFAULT_CHANNEL)
    (call,) = open_stack_.slack.api_calls("views.open")
    assert call.at - started < ACK_WITHIN_S  # a trigger_id works for 3 s: no waiting on audit
    reference = REFERENCE.search(json.dumps(refused.shown)).group(1)
    assert audited(open_stack_, reference)["identifier_hash"] == identifier_hash(KEY, IDENTIFIER)


@contextmanager
def audit_writes_failing(stack: Stack) -> Iterator[None]:
    """Make every audit INSERT fail, as a full or broken disk would, until the block ends."""
    assert stack.settings is not None
    db = stack.settings.audit_db
    with closing(sqlite3.connect(db)) as connection:
        connection.execute(
            "CREATE TRIGGER refuse_rows BEFORE INSERT ON lookups "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END"
        )
    try:
        yield
    finally:
        with closing(sqlite3.connect(db)) as connection:
            connection.execute("DROP TRIGGER refuse_rows")


def test_a_refusal_that_cannot_be_audited_is_still_shown_and_the_failure_logged(
    open_stack_: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    with audit_writes_failing(open_stack_), caplog.at_level(logging.ERROR, "bot.access.gate"):
        refused = via_global_shortcut(open_stack_, GUEST, DEFAULT_CHANNEL)
        reference = REFERENCE.search(json.dumps(refused.shown)).group(1)
        failure = f"AUDIT FAILURE: refusal {reference} could not be audited"
        deadline = time.monotonic() + 10
        while not any(failure in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the audit failure was not logged"
            time.sleep(0.02)
    assert "*Guests can't look up invoices*" in json.dumps(refused.shown)
    assert audit_rows(open_stack_, "reference = ?", reference) == []


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            {
                "text": "",
                "blocks": [
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": f"My identity code is {HETU}"},
                    }
                ],
            },
            id="block",
        ),
        pytest.param(
            {"text": "", "attachments": [{"text": f"Forwarded: my code is {HETU}"}]},
            id="attachment",
        ),
    ],
)
def test_a_refused_message_shortcut_audits_whom_the_messages_blocks_name(
    open_stack_: Stack, message: dict[str, Any]
) -> None:
    _, url = open_stack_.response_url()
    assert open_stack_.post(message_shortcut_body(message, url, user_id=GUEST)).status_code == 200
    (call,) = open_stack_.slack.wait_for_api_calls("views.open", 1)
    reference = REFERENCE.search(json.dumps(view_of(call.body))).group(1)
    row = audited(open_stack_, reference)
    assert (row["surface"], row["detail"]) == ("message_shortcut", "guest")
    assert row["identifier_hash"] == identifier_hash(KEY, IDENTIFIER)


def test_a_refusal_as_a_modal_is_a_modal_with_only_a_close_button(open_stack_: Stack) -> None:
    refused = via_global_shortcut(open_stack_, GUEST, DEFAULT_CHANNEL)
    assert refused.shown["type"] == "modal"
    assert refused.shown["close"]["text"] == "Close"
    assert "submit" not in refused.shown


def test_an_external_agent_is_refused_even_when_the_request_names_their_own_workspace(
    open_stack_: Stack,
) -> None:
    # In a Slack Connect channel the payload carries the external agent's own team id.
    _, url = open_stack_.response_url()
    body = slash_command_body("C-1001", url, user_id=EXTERNAL).replace(
        "team_id=T0STANDIN", "team_id=T0OTHERORG"
    )
    response = open_stack_.post(body)
    assert "Only members of this workspace can look up invoices" in response.text
    assert open_stack_.ropo.requests == []


def test_help_is_for_permitted_agents_too_but_is_not_audited_as_a_lookup(
    open_stack_: Stack,
) -> None:
    response, _ = open_stack_.command("help", user_id=GUEST)
    assert "Guests can't look up invoices" in response.text
    reference = REFERENCE.search(response.text).group(1)
    row = audited(open_stack_, reference)
    assert (row["identifier_hash"], row["detail"]) == (None, "guest")


def test_members_of_the_allowed_group_and_channel_look_up_as_usual(
    group_servers: StackServers, channel_servers: StackServers
) -> None:
    for servers in (group_servers, channel_servers):
        with open_stack(servers) as stack:
            _, token = stack.command("C-1001")
            reply = stack.reply(token)
            assert "Invoices for" in reply["text"]
            assert [r.json for r in stack.ropo.lookups] == [{"custnum": "C-1001"}]
            reference = REFERENCE.search(json.dumps(reply)).group(1)
            row = audited(stack, reference)
            assert (row["outcome"], row["invoice_count"], row["detail"]) == ("found", 2, None)
            assert row["ropo_latency_ms"] >= 0


def test_myropo_links_pass_without_a_check(open_stack_: Stack) -> None:
    link = {
        "type": "button",
        "action_id": ids.ACTION_OPEN_MYROPO,
        "block_id": "any",
        "text": {"type": "plain_text", "text": "Open in MyRopo"},
    }
    _, url = open_stack_.response_url()
    response = open_stack_.post(block_actions_body(link, url, user_id="U0NEWGUY1"))
    assert response.status_code == 200
    calls = [
        c for c in open_stack_.slack.api_calls("users.info") if c.body.get("user") == "U0NEWGUY1"
    ]
    assert calls == []
    assert audit_rows(open_stack_, "user_id = ?", "U0NEWGUY1") == []


def published_home(stack: Stack, user: str) -> str:
    """Open ``user``'s Home tab; the text of the view the app published."""
    body = app_home_opened_body(user_id=user)
    headers = {**signed_headers(SIGNING_SECRET, body), "content-type": "application/json"}
    response = stack.http.post(stack.url + EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == 200
    (call,) = stack.slack.wait_for_api_calls("views.publish", 1)
    view = call.body["view"]
    return json.dumps(json.loads(view) if isinstance(view, str) else view)


def test_a_guest_opening_the_home_tab_learns_they_have_no_access_and_nothing_is_audited(
    open_stack_: Stack,
) -> None:
    rows_before = len(audit_rows(open_stack_, "user_id = ?", GUEST))
    shown = published_home(open_stack_, GUEST)
    assert "You don't have access to look up invoices" in shown
    assert "not guests" in shown  # the policy's own reason, not generic advice
    assert ids.ACTION_OPEN_LOOKUP_FORM not in shown
    assert len(audit_rows(open_stack_, "user_id = ?", GUEST)) == rows_before  # Home is no lookup


def test_a_member_opening_the_home_tab_sees_how_to_look_up(open_stack_: Stack) -> None:
    shown = published_home(open_stack_, DEFAULT_USER)
    assert "You don't have access" not in shown
    assert ids.ACTION_OPEN_LOOKUP_FORM in shown


def test_when_slack_cannot_say_who_the_agent_is_the_lookup_is_refused(open_stack_: Stack) -> None:
    open_stack_.slack.users["U0UNVERIF"] = member("U0UNVERIF")
    open_stack_.slack.api_errors["users.info"] = "ratelimited"
    try:
        response, _ = open_stack_.command("C-1001", user_id="U0UNVERIF")
    finally:
        del open_stack_.slack.api_errors["users.info"]
    assert "Your access couldn't be checked" in response.text
    assert "Try again in a minute" in response.text
    assert open_stack_.ropo.requests == []
    assert audited(open_stack_, REFERENCE.search(response.text).group(1))["detail"] == "unverified"
    # Not remembered: once Slack answers, the agent gets through.
    _, token = open_stack_.command("C-1001", user_id="U0UNVERIF")
    assert "Invoices for" in open_stack_.reply(token)["text"]


# --- users.info is cached ------------------------------------------------------------------


def users_info_calls(stack: Stack, user: str) -> int:
    return sum(1 for c in stack.slack.api_calls("users.info") if c.body.get("user") == user)


def test_an_agents_lookups_cost_one_users_info_call(open_stack_: Stack) -> None:
    open_stack_.slack.users["U0CACHE01"] = member("U0CACHE01")
    tokens = [open_stack_.command("C-1001", user_id="U0CACHE01")[1] for _ in range(5)]
    for token in tokens:
        assert "Invoices for" in open_stack_.reply(token)["text"]
    assert len(open_stack_.ropo.lookups) == 5
    assert users_info_calls(open_stack_, "U0CACHE01") == 1


async def test_concurrent_lookups_of_a_new_agent_share_one_users_info_call(
    open_stack_: Stack,
) -> None:
    open_stack_.slack.users["U0CONCUR1"] = member("U0CONCUR1")
    bodies = [
        slash_command_body("C-1001", open_stack_.response_url()[1], user_id="U0CONCUR1")
        for _ in range(20)
    ]
    async with httpx.AsyncClient(timeout=15) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    open_stack_.url + EVENTS_PATH,
                    content=b,
                    headers=signed_headers(SIGNING_SECRET, b),
                )
                for b in bodies
            )
        )
    assert [r.status_code for r in responses] == [200] * 20
    async with asyncio.timeout(15):  # every reply in, before the next test reuses the tokens
        await open_stack_.slack.wait_for_responses_async(20)
    assert users_info_calls(open_stack_, "U0CONCUR1") == 1


async def test_started_services_know_the_workspaces_members_before_anyone_asks(
    open_servers: StackServers,
) -> None:
    """services.start() lists the members (users.list); services.aclose() stops that."""
    settings = stack_settings(open_servers.ropo.url, open_servers.slack_server.url)
    ropo = create_ropo_client(settings)
    services = create_services(settings, ropo)
    slack = open_servers.slack
    slack.clear()
    try:
        await services.start()
        assert len(slack.api_calls("users.list")) == 1  # start() waited for the listing
        access = services.access
        assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
        assert (await access.decide(TEAM_ID, GUEST, DEFAULT_CHANNEL)).reason is AccessReason.GUEST
        external = await access.decide(TEAM_ID, EXTERNAL, DEFAULT_CHANNEL)
        assert external.reason is AccessReason.EXTERNAL
        assert slack.api_calls("users.info") == []
    finally:
        await services.aclose()
        await ropo.aclose()
    assert [t for t in asyncio.all_tasks() if t.get_name() == "access-directory"] == []


# --- the rate limit ---------------------------------------------------------------------------


def test_the_31st_lookup_in_a_minute_is_refused_with_when_to_retry_and_audited(
    open_stack_: Stack,
) -> None:
    agent = "U0BUSY001"
    open_stack_.slack.users[agent] = member(agent)
    tokens = []
    for _ in range(30):
        response, token = open_stack_.command("C-1001", user_id=agent)
        assert response.text == ""
        tokens.append(token)
    for token in tokens:
        assert "Invoices for" in open_stack_.reply(token)["text"]

    response, _ = open_stack_.command("C-1001", user_id=agent)
    shown = response.json()
    assert shown["response_type"] == "ephemeral"
    assert re.search(
        r"Nothing was looked up: try again in ([1-9]|[1-5][0-9]|60) seconds?\.", response.text
    )
    assert len(open_stack_.ropo.lookups) == 30
    # The button surface counts too: a 32nd lookup by clicking is refused the same way.
    refused_click = via_message_button(open_stack_, agent, DEFAULT_CHANNEL)
    assert "*Too many lookups in a minute*" in json.dumps(refused_click.shown)
    assert len(open_stack_.ropo.lookups) == 30

    rows = wait_for_rows(open_stack_, 32, "user_id = ?", agent)
    assert [(r["outcome"], r["detail"]) for r in rows] == [("found", None)] * 30 + [
        ("refused", "rate_limited"),
        ("refused", "rate_limited"),
    ]
    assert rows[-2]["surface"] == "command"
    assert rows[-1]["surface"] == "button"
    # Another agent is not slowed down by this one.
    _, token = open_stack_.command("C-1001")
    assert "Invoices for" in open_stack_.reply(token)["text"]


@pytest.fixture(scope="module")
def limited_servers() -> Iterator[StackServers]:
    """Two lookups a minute: a third tells whether what came before counted."""
    with serve_stack(rate_limit_per_minute=2) as servers:
        yield servers


def test_a_form_submission_refused_on_its_field_does_not_count_towards_the_rate_limit(
    limited_servers: StackServers,
) -> None:
    agent = "U0TYPO001"
    limited_servers.slack.users[agent] = member(agent)
    form = render_lookup_form(RopoEnvironment.CUSTOM)
    with open_stack(limited_servers) as stack:

        def submit(text: str) -> dict[str, Any]:
            response = stack.post(
                view_submission_body(form, lookup_form_values(text), user_id=agent)
            )
            assert response.status_code == 200
            return response.json()

        for typo in ("131052-308U", "", "131052-308U", "not an identifier!"):
            assert submit(typo)["response_action"] == "errors"
        for _ in range(2):
            ack = submit("C-1001")
            assert ack["response_action"] == "update"
            assert "Looking up" in json.dumps(ack["view"])
        refused = submit("C-1001")
        assert "*Too many lookups in a minute*" in json.dumps(refused["view"])

        rows = wait_for_rows(stack, 3, "user_id = ?", agent)
        # In any order: the refusal's row may be written before the lookups' rows.
        assert sorted((r["outcome"], r["detail"] or "") for r in rows) == [
            ("found", ""),
            ("found", ""),
            ("refused", "rate_limited"),
        ]
        assert len(stack.ropo.lookups) == 2


def test_a_message_shortcut_counts_only_when_it_looks_up_at_once_and_a_choice_counts_once(
    limited_servers: StackServers,
) -> None:
    agent = "U0SHORTCT"
    limited_servers.slack.users[agent] = member(agent)
    with open_stack(limited_servers) as stack:

        def shortcut_on(message: dict[str, Any]) -> dict[str, Any]:
            """Use the shortcut on ``message``; the view it opened."""
            stack.slack.clear()
            _, url = stack.response_url()
            assert stack.post(message_shortcut_body(message, url, user_id=agent)).status_code == 200
            (call,) = stack.slack.wait_for_api_calls("views.open", 1)
            return view_of(call.body)

        for _ in range(3):  # no identifier: the form opens, nothing is looked up
            form = shortcut_on({"text": "Why is my invoice so big?? 131052-308U"})
            assert form["callback_id"] == ids.VIEW_LOOKUP
        two = {"text": f"Mine is {HETU}, my spouse's 100190-999P"}
        for _ in range(3):  # several: the agent is asked which
            chooser = shortcut_on(two)
            assert chooser["callback_id"] == ids.VIEW_CHOOSE_IDENTIFIER

        # The choice is the lookup: one.
        stack.slack.clear()
        block = next(b for b in chooser["blocks"] if "accessory" in b)
        click = button_click(block["accessory"], block.get("block_id", ""))
        assert stack.post(modal_click_body(click, chooser, user_id=agent)).status_code == 200
        stack.slack.wait_for_api_calls("views.update", 2)  # "Looking up…", then the invoices
        # One identifier, only in an attachment: looked up at once, and counted.
        loading = shortcut_on({"text": "", "attachments": [{"text": f"From: {HETU}"}]})
        assert loading["callback_id"] != ids.VIEW_LOOKUP
        stack.slack.wait_for_api_calls("views.update", 1)
        # Two lookups made: the third is refused.
        response, _ = stack.command("C-1001", user_id=agent)
        assert "Too many lookups in a minute" in response.text

        rows = wait_for_rows(stack, 3, "user_id = ?", agent)
        assert [(r["surface"], r["outcome"], r["detail"]) for r in rows] == [
            ("message_shortcut", "found", None),
            ("message_shortcut", "found", None),
            ("command", "refused", "rate_limited"),
        ]
        assert len(stack.ropo.lookups) == 2


# --- the audit trail ----------------------------------------------------------------------------


def _ack_text(response: httpx.Response) -> str:
    """What an acknowledgement showed the agent, its reference left out, so alike ones group."""
    try:
        text = str(response.json().get("text", response.text))
    except ValueError:
        text = response.text
    return re.sub(r"R-[0-9A-Z]{6}", "R-…", text)[:160]


async def test_200_concurrent_lookups_make_exactly_200_audit_rows(open_stack_: Stack) -> None:
    agents = [f"U0LOAD{n:03d}" for n in range(200)]
    for agent in agents:
        open_stack_.slack.users[agent] = member(agent)
    sent = []
    for agent in agents:
        token, url = open_stack_.response_url()
        sent.append((token, slash_command_body("C-1001", url, user_id=agent)))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    open_stack_.url + EVENTS_PATH,
                    content=b,
                    headers=signed_headers(SIGNING_SECRET, b),
                )
                for _, b in sent
            )
        )
    assert [r.status_code for r in responses] == [200] * 200
    # A lookup is acknowledged with an empty body; anything else is a refusal in the ack,
    # whose reply will never come: say so now rather than wait for it.
    refused = Counter(_ack_text(r) for r in responses if r.content)
    assert not refused, f"{refused.total()} of 200 agents refused in the ack: {dict(refused)}"
    try:
        async with asyncio.timeout(30):
            replies = await open_stack_.slack.wait_for_responses_async(200)
    except TimeoutError:
        replied = {r.name for r in open_stack_.slack.responses()}
        missing = [
            agent for agent, (token, _) in zip(agents, sent, strict=True) if token not in replied
        ]
        pytest.fail(
            f"{len(replied)} of 200 replies reached the response_url in 30 s; "
            f"no reply for {len(missing)} agents, e.g. {missing[:5]}"
        )
    references = {REFERENCE.search(json.dumps(r.body)).group(1) for r in replies}
    assert len(references) == 200

    rows = audit_rows(open_stack_, "user_id LIKE 'U0LOAD%'")
    assert len(rows) == 200
    assert {r["reference"] for r in rows} == references
    assert {r["user_id"] for r in rows} == set(agents)
    assert {(r["outcome"], r["invoice_count"]) for r in rows} == {("found", 2)}


def test_the_cli_finds_a_persons_lookups_and_the_database_holds_no_hetu(open_stack_: Stack) -> None:
    _, token = open_stack_.command(HETU)
    looked_up = REFERENCE.search(json.dumps(open_stack_.reply(token))).group(1)
    _, token = open_stack_.command(f"{HETU} all")
    with_paid = REFERENCE.search(json.dumps(open_stack_.reply(token))).group(1)
    refused = REFERENCE.search(
        via_command(open_stack_, GUEST, DEFAULT_CHANNEL).shown["text"]
    ).group(1)
    _, token = open_stack_.command("010101A900R")  # someone else
    open_stack_.reply(token)
    audited(open_stack_, refused)  # written in the background

    assert open_stack_.settings is not None
    db = open_stack_.settings.audit_db
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_", "AUDIT_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "--hetu", HETU, "--csv"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",
        env={**env, "PYTHONPATH": str(ROOT), "AUDIT_DB": str(db), "AUDIT_KEY": AUDIT_KEY},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    mine = [r for r in rows if r["reference"] in {looked_up, with_paid, refused}]
    assert [(r["reference"], r["outcome"], r["include_paid"]) for r in mine] == [
        (looked_up, "found 5", "0"),
        (with_paid, "found 6", "1"),
        (refused, "refused: guest", "0"),
    ]
    assert {r["identifier_hash"] for r in rows} == {identifier_hash(KEY, IDENTIFIER)}
    assert_no_identity_code(result.stdout + result.stderr)

    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            raw = path.read_bytes()
            assert HETU.encode() not in raw, f"{path.name} holds the HETU"
            assert b"131052308T" not in raw
            # latin-1 maps each byte to one character, so ASCII text reads as is.
            assert_no_identity_code(raw.decode("latin-1"), where=path.name)
    assert Path(f"{db}-wal").exists()  # WAL mode: the scan above covered the log too


def test_a_lookup_that_cannot_be_audited_is_not_shown(open_stack_: Stack) -> None:
    with audit_writes_failing(open_stack_):
        _, token = open_stack_.command("C-1001")
        reply = open_stack_.reply(token)
    assert reply["response_type"] == "ephemeral"
    assert "This lookup could not be recorded" in reply["text"]
    assert "SBX-" not in json.dumps(reply)  # no invoice reached the agent
    assert len(open_stack_.ropo.lookups) == 1
    assert audit_rows(open_stack_, "reference = ?", REFERENCE.search(reply["text"]).group(1)) == []


def test_a_fresh_app_lists_the_workspace_so_a_first_lookup_asks_slack_nothing() -> None:
    with serve_stack() as servers:
        listed = [c.name for c in servers.slack.api_calls()]
        with open_stack(servers) as stack:  # clears the recordings of start-up
            _, token = stack.command("C-1001")
            assert "Invoices for" in stack.reply(token)["text"]
            assert stack.slack.api_calls("users.info") == []
    assert "users.list" in listed  # at start-up, before any request
