"""The agent's language, end to end: chosen on App Home, Slack's own, or the default.

Signed requests go to the real HTTP app; the Home tab and the replies are read back from the
Slack stand-in, and the stored choice from the app's SQLite file.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

import httpx

from bot import ids
from bot.dev.slack_requests import (
    JSON,
    app_home_opened_body,
    modal_click_body,
    signed_headers,
    slash_command_body,
)
from bot.dev.slack_standin import TEAM_ID, SlackStandIn, member
from bot.ropo import sandbox_data as sandbox
from bot.slack.web import EVENTS_PATH
from bot.store.agent_settings import AgentSettings
from tests.conftest import SIGNING_SECRET, Stack, open_stack, serve_stack

HETU = sandbox.HETU_MANY_INVOICES


def post_event(stack: Stack, body: str) -> httpx.Response:
    headers = signed_headers(SIGNING_SECRET, body, content_type=JSON)
    return stack.http.post(stack.url + EVENTS_PATH, content=body, headers=headers)


def published_homes(stack: Stack, count: int) -> list[dict[str, Any]]:
    calls = stack.slack.wait_for_api_calls("views.publish", count)
    assert len(calls) == count
    return [call.body["view"] for call in calls]


def choose(stack: Stack, home: dict[str, Any], user: str, language: str) -> httpx.Response:
    """Pick ``language`` in the Home tab's select, as Slack sends it."""
    (block,) = [b for b in home["blocks"] if b.get("block_id") == ids.BLOCK_HOME_LANGUAGE]
    select = block["accessory"]
    (option,) = [o for o in select["options"] if o["value"] == language]
    action = {
        "type": "static_select",
        "action_id": select["action_id"],
        "block_id": block["block_id"],
        "selected_option": option,
    }
    return stack.post(modal_click_body(action, home, user_id=user))


def reply_to(stack: Stack, text: str, user: str) -> str:
    """The answer to ``/invoices text``: the acknowledgement (help, a refusal) or the reply."""
    response, token = stack.command(text, user_id=user)
    assert response.status_code == 200
    if response.content and "blocks" in response.json():
        return json.dumps(response.json(), ensure_ascii=False)
    return json.dumps(stack.reply(token), ensure_ascii=False)


def stored_languages(stack: Stack) -> list[tuple[str, str, str, str]]:
    assert stack.settings is not None
    with closing(sqlite3.connect(stack.settings.audit_db)) as connection:
        return connection.execute(
            "SELECT team_id, user_id, key, value FROM agent_settings ORDER BY user_id"
        ).fetchall()


def test_a_language_chosen_on_app_home_is_stored_and_answers_the_next_command(stack: Stack):
    user = "U0LANGFI1"
    stack.slack.users[user] = member(user)
    post_event(stack, app_home_opened_body(user_id=user))
    (home,) = published_homes(stack, 1)
    assert "Look up invoices" in json.dumps(home)  # the default, English
    assert stored_languages(stack) == []

    assert choose(stack, home, user, "fi").status_code == 200

    _, republished = published_homes(stack, 2)
    shown = json.dumps(republished, ensure_ascii=False)
    assert "Hae laskuja" in shown
    assert "Look up invoices" not in shown
    select = next(b for b in republished["blocks"] if b.get("block_id") == ids.BLOCK_HOME_LANGUAGE)
    assert select["accessory"]["initial_option"]["value"] == "fi"
    assert stored_languages(stack) == [(TEAM_ID, user, "language", "fi")]

    reply = reply_to(stack, HETU, user)
    for finnish in ("Laskut:", "Perinnässä", "Vain sinä näet tämän."):
        assert finnish in reply
    assert "Invoices for" not in reply


def test_a_refusal_by_the_gate_comes_in_the_chosen_language(stack: Stack):
    user = "U0LANGSV1"
    stack.slack.users[user] = member(user, is_restricted=True)  # a guest: refused
    post_event(stack, app_home_opened_body(user_id=user))
    (home,) = published_homes(stack, 1)
    choose(stack, home, user, "sv")
    published_homes(stack, 2)

    refusal = reply_to(stack, HETU, user)
    assert "Gäster kan inte söka fakturor" in refusal
    assert "en Slack-administratör" in refusal  # no ACCESS_CONTACT: the default, translated
    assert "a Slack admin" not in refusal


def test_slacks_language_for_the_agent_is_used_once_access_has_read_it(stack: Stack):
    user = "U0LANGNB1"
    stack.slack.users[user] = member(user, locale="nb-NO")

    first = reply_to(stack, "help", user)
    # Not in the directory yet: access reads the account (asking for its locale) as it checks.
    (info,) = stack.slack.api_calls("users.info")
    assert info.body["user"] == user
    assert info.body["include_locale"] in ("1", "true", "True")
    assert "Look up invoices with /invoices" in first

    second = reply_to(stack, "help", user)
    assert "Slå opp fakturaer med /invoices" in second
    assert stored_languages(stack) == [] or all(row[1] != user for row in stored_languages(stack))


def test_a_chosen_language_beats_slacks(stack: Stack):
    user = "U0LANGSV2"
    stack.slack.users[user] = member(user, locale="nb-NO")
    post_event(stack, app_home_opened_body(user_id=user))
    (home,) = published_homes(stack, 1)
    assert "Slå opp fakturaer med /invoices" in reply_to(stack, "hjelp", user)  # Slack's, read
    choose(stack, home, user, "sv")
    published_homes(stack, 2)

    assert "Sök fakturor med /invoices" in reply_to(stack, "hjälp", user)


def test_a_slack_language_the_app_does_not_speak_gets_the_default(stack: Stack):
    user = "U0LANGDE1"
    stack.slack.users[user] = member(user, locale="de-DE")
    reply_to(stack, "help", user)
    assert "Look up invoices with /invoices" in reply_to(stack, "help", user)


def test_default_language_answers_an_agent_who_chose_nothing():
    with serve_stack(default_language="fi") as servers, open_stack(servers) as stack:
        reply = reply_to(stack, "apua", "U0AGENT01")
    assert "Laskujen haku komennolla /invoices" in reply
    assert "`/invoices &lt;hetu tai asiakasnumero&gt; [kaikki]`" in reply


def test_what_is_said_before_the_agent_is_known_is_in_the_default_language():
    # Slack does not answer auth.test: Bolt refuses before any agent's language is known.
    slack = SlackStandIn()
    slack.fail_api("auth.test", *([503] * 30))
    with serve_stack(slack, default_language="fi") as servers, open_stack(servers) as stack:
        _, token = stack.command("C-1001")
        not_answering = stack.reply(token)["text"]
        # A command Slack sent without a response_url: refused before it reaches Bolt.
        unanswerable = stack.post(slash_command_body("C-1001", "")).json()["text"]
    assert not_answering.startswith("Slack ei vastaa tälle sovellukselle juuri nyt")
    assert unanswerable.startswith("Slack lähetti tämän komennon ilman tietoja")


def test_a_choice_that_cannot_be_stored_is_shown_and_said(stack: Stack, monkeypatch):
    async def broken(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(AgentSettings, "set", broken)
    user = "U0LANGNO1"
    stack.slack.users[user] = member(user)
    post_event(stack, app_home_opened_body(user_id=user))
    (home,) = published_homes(stack, 1)
    choose(stack, home, user, "nb")

    _, republished = published_homes(stack, 2)
    shown = json.dumps(republished, ensure_ascii=False)
    assert "Slå opp fakturaer" in shown  # the choice, for now
    assert "Valget ditt kunne ikke lagres" in shown  # and that it will not last
    assert all(row[1] != user for row in stored_languages(stack))
