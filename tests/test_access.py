"""Who may look up (bot/access/), the rate limit, their settings and their answers' blocks.

The policy asks a real Slack stand-in over loopback, through the same Web API client the app
uses; end-to-end refusals on every surface are in test_e2e_access.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import ids
from bot.access import directory as directory_module
from bot.access.cache import TtlCache
from bot.access.directory import ACCESS_CALL_LIMIT_S, SlackUser
from bot.access.gate import Gate, gate_for
from bot.access.policy import AccessDecision, AccessPolicy, AccessReason
from bot.blocks import render_access_refused, render_refusal_view, render_slow_down
from bot.dev.slack_requests import DEFAULT_CHANNEL, DEFAULT_USER, lookup_form_values
from bot.dev.slack_standin import TEAM_ID, SlackStandIn, member
from bot.lookup import Surface
from bot.settings import RopoEnvironment, Settings, SettingsError, load_settings
from bot.slack import session as session_module
from bot.slack.session import SlackHttp
from tests.blocks.limits import check_limits
from tests.conftest import BOT_TOKEN
from tests.golden import assert_golden
from tests.servers import ServedApp

GROUP = "S0CSTEAM"
OTHER_GROUP = "S0BILLING"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def served_slack() -> Iterator[tuple[SlackStandIn, str]]:
    """One Slack stand-in on loopback for the module; each test gets its users afresh."""
    slack = SlackStandIn()
    with ServedApp(slack.app, lifespan="off") as server:
        yield slack, f"{server.url}/api/"


@pytest.fixture
def slack(served_slack: tuple[SlackStandIn, str]) -> SlackStandIn:
    """The stand-in, with only the default agent as a user and nothing received."""
    standin, _ = served_slack
    standin.clear()
    standin.users.clear()
    standin.users[DEFAULT_USER] = member(DEFAULT_USER)
    standin.usergroup_members.clear()
    standin.api_errors.clear()
    standin.rate_limited.clear()
    standin.users_list_page_size = 1000
    return standin


def policy(
    served_slack: tuple[SlackStandIn, str], clock: Clock | None = None, **settings: Any
) -> AccessPolicy:
    """A policy asking the stand-in, with ``settings`` overriding the defaults."""
    _, api_url = served_slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    return AccessPolicy(
        Settings(_env_file=None, **settings), client, clock=clock or Clock(), timeout_s=2.0
    )


def users_info_calls(slack: SlackStandIn, user_id: str) -> int:
    return sum(1 for call in slack.api_calls("users.info") if call.body.get("user") == user_id)


async def refreshed(access: AccessPolicy, user_id: str) -> None:
    """Wait for the background ``users.info`` call an expired entry started, however it ends."""
    task = access.directory.refreshing(user_id)
    assert task is not None, f"no users.info call for {user_id} in the background"
    async with asyncio.timeout(10):
        await asyncio.wait([task])


def directory_policy(
    served_slack: tuple[SlackStandIn, str], ttl_s: float, **settings: Any
) -> AccessPolicy:
    """A policy whose directory is listed every ``ttl_s * 0.8`` s, however short that is."""
    _, api_url = served_slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    return AccessPolicy(
        Settings(_env_file=None, access_cache_ttl_s=ttl_s, **settings),
        client,
        clock=Clock(),
        timeout_s=2.0,
        directory_min_interval_s=0,
    )


# --- the account ------------------------------------------------------------------------


async def test_a_full_member_may_look_up(slack: SlackStandIn, served_slack) -> None:
    decision = await policy(served_slack).decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert decision == AccessDecision(AccessReason.ALLOWED, "")
    assert decision.allowed is True


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"is_restricted": True}, AccessReason.GUEST),  # multi-channel guest
        ({"is_restricted": True, "is_ultra_restricted": True}, AccessReason.GUEST),
        ({"is_ultra_restricted": True}, AccessReason.GUEST),  # single-channel guest
        ({"team_id": "T0OTHERORG"}, AccessReason.EXTERNAL),  # Slack Connect
        ({"is_stranger": True}, AccessReason.EXTERNAL),
        ({"is_bot": True}, AccessReason.BOT),
        ({"is_app_user": True}, AccessReason.BOT),
        ({"deleted": True}, AccessReason.DEACTIVATED),
    ],
)
async def test_only_full_members_of_the_workspace_may_look_up(
    slack: SlackStandIn, served_slack, fields: dict[str, Any], reason: AccessReason
) -> None:
    slack.users["U0SOMEONE"] = member("U0SOMEONE", **fields)
    decision = await policy(served_slack).decide(TEAM_ID, "U0SOMEONE", DEFAULT_CHANNEL)
    assert decision.reason is reason
    assert decision.allowed is False
    assert decision.message


async def test_a_user_slack_does_not_know_here_is_refused_as_external(
    slack: SlackStandIn, served_slack
) -> None:
    decision = await policy(served_slack).decide(TEAM_ID, "U0NOBODY", DEFAULT_CHANNEL)
    assert decision.reason is AccessReason.EXTERNAL
    assert users_info_calls(slack, "U0NOBODY") == 1


async def test_slackbot_and_requests_without_a_user_are_refused_without_asking_slack(
    slack: SlackStandIn, served_slack
) -> None:
    access = policy(served_slack)
    assert (await access.decide(TEAM_ID, "USLACKBOT", DEFAULT_CHANNEL)).reason is AccessReason.BOT
    assert (await access.decide(TEAM_ID, None, DEFAULT_CHANNEL)).reason is AccessReason.BOT
    assert slack.api_calls("users.info") == []


async def test_a_grid_account_that_joined_this_workspace_is_a_member(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["W0GRID001"] = member(
        "W0GRID001",
        team_id="T0HOMEWS",
        enterprise_user={"enterprise_id": "E0ORG", "teams": ["T0HOMEWS", TEAM_ID]},
    )
    decision = await policy(served_slack).decide(TEAM_ID, "W0GRID001", DEFAULT_CHANNEL)
    assert decision.allowed is True


async def test_external_agent_refusal_says_to_ask_a_colleague(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0EXTERN1"] = member("U0EXTERN1", team_id="T0OTHERORG")
    decision = await policy(served_slack).decide(TEAM_ID, "U0EXTERN1", None)
    assert decision.message == (
        "Invoice lookups are only for members of this workspace, and Slack says your account "
        "belongs to another organisation. Ask a colleague in this workspace to look the "
        "customer up."
    )


async def test_a_guest_is_told_whom_to_ask_for_a_full_account(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0GUEST01"] = member("U0GUEST01", is_restricted=True)
    access = policy(served_slack, access_contact="<#C0ITHELP>")
    decision = await access.decide(TEAM_ID, "U0GUEST01", DEFAULT_CHANNEL)
    assert decision.message == (
        "Invoice lookups show people's debts, so they are only for full members of this "
        "workspace, not guests. If your work needs them, ask <#C0ITHELP> for a full account."
    )


# --- the allowlists ---------------------------------------------------------------------


async def test_with_a_user_allowlist_only_listed_members_pass(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0OTHER01"] = member("U0OTHER01")
    access = policy(served_slack, allowed_user_ids=f"{DEFAULT_USER},U0LISTED1")
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    refused = await access.decide(TEAM_ID, "U0OTHER01", DEFAULT_CHANNEL)
    assert refused.reason is AccessReason.USER_NOT_ALLOWED
    assert users_info_calls(slack, "U0OTHER01") == 0  # refused before asking Slack


async def test_a_listed_user_must_still_be_a_full_member(slack: SlackStandIn, served_slack) -> None:
    slack.users["U0GUEST02"] = member("U0GUEST02", is_ultra_restricted=True)
    access = policy(served_slack, allowed_user_ids="U0GUEST02")
    assert (await access.decide(TEAM_ID, "U0GUEST02", DEFAULT_CHANNEL)).reason is (
        AccessReason.GUEST
    )


async def test_with_group_allowlists_a_member_of_any_one_group_passes(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0BILLER1"] = member("U0BILLER1")
    slack.users["U0OUTSIDE"] = member("U0OUTSIDE")
    slack.usergroup_members[GROUP] = [DEFAULT_USER]
    slack.usergroup_members[OTHER_GROUP] = ["U0BILLER1"]
    access = policy(served_slack, allowed_usergroup_ids=f"{GROUP},{OTHER_GROUP}")

    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert (await access.decide(TEAM_ID, "U0BILLER1", DEFAULT_CHANNEL)).allowed is True
    refused = await access.decide(TEAM_ID, "U0OUTSIDE", DEFAULT_CHANNEL)
    assert refused.reason is AccessReason.NOT_IN_USERGROUP
    assert refused.message == (
        "Invoice lookups are limited to members of <!subteam^S0BILLING> or <!subteam^S0CSTEAM>. "
        "If your work needs them, ask a Slack admin to add you."
    )


async def test_group_members_are_cached_like_users(slack: SlackStandIn, served_slack) -> None:
    for user in ("U0A000001", "U0A000002", "U0A000003"):
        slack.users[user] = member(user)
    slack.usergroup_members[GROUP] = ["U0A000001", "U0A000002", "U0A000003"]
    access = policy(served_slack, allowed_usergroup_ids=GROUP)
    for user in ("U0A000001", "U0A000002", "U0A000003", "U0A000001"):
        assert (await access.decide(TEAM_ID, user, DEFAULT_CHANNEL)).allowed is True
    assert len(slack.api_calls("usergroups.users.list")) == 1


async def test_a_group_slack_does_not_know_lets_nobody_through_and_is_logged(
    slack: SlackStandIn, served_slack, caplog: pytest.LogCaptureFixture
) -> None:
    access = policy(served_slack, allowed_usergroup_ids="S0TYPO")
    decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert decision.reason is AccessReason.NOT_IN_USERGROUP
    assert any(r.levelno == logging.ERROR and "S0TYPO" in r.getMessage() for r in caplog.records)


async def test_with_a_channel_allowlist_other_channels_and_modals_are_refused(
    slack: SlackStandIn, served_slack
) -> None:
    access = policy(served_slack, allowed_channel_ids="C0SUPPORT,C0BILLING")
    assert (await access.decide(TEAM_ID, DEFAULT_USER, "C0SUPPORT")).allowed is True
    elsewhere = await access.decide(TEAM_ID, DEFAULT_USER, "C0RANDOM")
    assert elsewhere == AccessDecision(
        AccessReason.CHANNEL_NOT_ALLOWED,
        "Invoices can be looked up only in <#C0BILLING> or <#C0SUPPORT>. Run `/invoices` there.",
    )
    assert (await access.decide(TEAM_ID, DEFAULT_USER, None)).reason is (
        AccessReason.CHANNEL_NOT_ALLOWED
    )


async def test_decide_user_answers_the_home_tab_without_a_channel(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0GUEST03"] = member("U0GUEST03", is_restricted=True)
    access = policy(served_slack, allowed_channel_ids="C0SUPPORT")
    assert (await access.decide_user(TEAM_ID, DEFAULT_USER)).allowed is True
    assert (await access.decide_user(TEAM_ID, "U0GUEST03")).reason is AccessReason.GUEST


# --- Slack failing: closed, not open ----------------------------------------------------


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "missing_scope"])
async def test_when_slack_fails_the_agent_is_refused_and_the_failure_is_not_cached(
    slack: SlackStandIn, served_slack, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    access = policy(served_slack)
    slack.api_errors["users.info"] = error
    refused = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert refused.reason is AccessReason.UNVERIFIED
    assert refused.message.startswith("Slack didn't answer when this app checked your account")
    assert "could not be verified" in caplog.text

    del slack.api_errors["users.info"]
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 2


async def test_unreachable_slack_refuses(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    access = AccessPolicy(Settings(_env_file=None), client, timeout_s=2.0)
    decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert decision.reason is AccessReason.UNVERIFIED


class HangingSlack:
    """A Web API client whose users.info never answers."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = asyncio.Event()

    async def users_info(self, *, user: str, **kwargs: Any) -> Any:
        self.calls += 1
        self.called.set()
        await asyncio.sleep(3600)


async def test_slack_too_slow_to_answer_within_the_ack_budget_refuses() -> None:
    access = AccessPolicy(Settings(_env_file=None), HangingSlack(), timeout_s=0.2)  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert decision.reason is AccessReason.UNVERIFIED
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_failing_group_is_no_proof_of_membership(slack: SlackStandIn, served_slack) -> None:
    slack.api_errors["usergroups.users.list"] = "ratelimited"
    access = policy(served_slack, allowed_usergroup_ids=GROUP)
    decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert decision.reason is AccessReason.UNVERIFIED


# --- the cache ---------------------------------------------------------------------------


async def test_a_busy_agent_costs_one_users_info_call(slack: SlackStandIn, served_slack) -> None:
    access = policy(served_slack)
    for _ in range(25):
        assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 1


async def test_concurrent_checks_of_one_agent_share_one_users_info_call(
    slack: SlackStandIn, served_slack
) -> None:
    access = policy(served_slack)
    decisions = await asyncio.gather(
        *(access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL) for _ in range(50))
    )
    assert all(d.allowed for d in decisions)
    assert users_info_calls(slack, DEFAULT_USER) == 1


async def test_users_are_asked_again_after_the_cache_time(
    slack: SlackStandIn, served_slack
) -> None:
    clock = Clock()
    access = policy(served_slack, clock, access_cache_ttl_s=300)
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    slack.users[DEFAULT_USER] = member(DEFAULT_USER, deleted=True)  # deactivated meanwhile
    clock.now += 299
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 1
    clock.now += 2
    # Expired: this request is answered from what Slack said last, and Slack is asked again.
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    await refreshed(access, DEFAULT_USER)
    refused = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert refused.reason is AccessReason.DEACTIVATED
    assert users_info_calls(slack, DEFAULT_USER) == 2


# --- Slack slow now: what it said before still counts ------------------------------------


@pytest.mark.parametrize("error", ["ratelimited", "internal_error"])
async def test_an_agent_verified_earlier_is_served_while_slack_fails_after_the_cache_time(
    slack: SlackStandIn, served_slack, error: str
) -> None:
    clock = Clock()
    access = policy(served_slack, clock, access_cache_ttl_s=300)
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    slack.api_errors["users.info"] = error
    clock.now += 301

    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    await refreshed(access, DEFAULT_USER)
    assert users_info_calls(slack, DEFAULT_USER) == 2  # asked again, in the background
    # Slack still failing: served again, and asked again rather than trusted forever.
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    await refreshed(access, DEFAULT_USER)
    assert users_info_calls(slack, DEFAULT_USER) == 3


async def test_a_listed_member_is_served_while_users_info_hangs_after_the_cache_time(
    slack: SlackStandIn, served_slack
) -> None:
    clock = Clock()
    access = policy(served_slack, clock, access_cache_ttl_s=300)
    await access.refresh_directory()
    clock.now += 301
    hanging = HangingSlack()
    access.directory._client.users_info = hanging.users_info  # type: ignore[method-assign]

    async with asyncio.timeout(10):  # a check that waited for Slack would be refused below
        decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert decision.allowed is True
    refresh = access.directory.refreshing(DEFAULT_USER)
    assert refresh is not None
    assert not refresh.done()  # still waiting for Slack
    async with asyncio.timeout(10):
        await hanging.called.wait()  # Slack is being asked, in the background
    assert hanging.calls == 1
    await access.aclose()  # a shutdown does not wait for Slack: the refresh is cancelled
    assert refresh.cancelled()


async def test_an_answer_older_than_the_stale_time_is_not_trusted_when_slack_fails(
    slack: SlackStandIn, served_slack
) -> None:
    clock = Clock()
    access = policy(served_slack, clock, access_cache_ttl_s=300)
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    slack.api_errors["users.info"] = "internal_error"
    clock.now += 300 + directory_module.STALE_FOR_S
    refused = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert refused.reason is AccessReason.UNVERIFIED


async def test_an_expired_answer_is_not_kept_when_caching_is_off(
    slack: SlackStandIn, served_slack
) -> None:
    access = policy(served_slack, access_cache_ttl_s=0)
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    slack.api_errors["users.info"] = "internal_error"
    refused = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
    assert refused.reason is AccessReason.UNVERIFIED


async def test_the_budget_counts_slacks_answer_not_the_wait_for_a_busy_process(
    slack: SlackStandIn, served_slack
) -> None:
    _, api_url = served_slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    access = AccessPolicy(Settings(_env_file=None), client, timeout_s=0.3)
    check = asyncio.create_task(access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL))
    await asyncio.sleep(0)  # the check has begun and waits for its turn to ask Slack
    time.sleep(0.6)  # noqa: ASYNC251  # a busy process: the loop is held for twice the budget
    decision = await check
    assert decision.allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 1


class HoldingSlack:
    """Slack's ``users.info`` on loopback, holding its answer for the users in ``held``."""

    def __init__(self, *held: str) -> None:
        self.held = set(held)
        self.release = threading.Event()
        self.holding = threading.Event()
        self.received: list[str] = []
        self.app = Starlette(routes=[Route("/api/users.info", self._users_info, methods=["GET"])])

    async def _users_info(self, request: Request) -> JSONResponse:
        user = str(request.query_params.get("user"))
        self.received.append(user)
        if user in self.held:
            self.holding.set()
            await asyncio.to_thread(self.release.wait)
        return JSONResponse({"ok": True, "user": member(user)})


@asynccontextmanager
async def one_connection_to(slack: HoldingSlack) -> AsyncIterator[tuple[SlackHttp, str]]:
    """The app's shared Slack session, allowed a single connection, and the stand-in's API URL."""
    with ServedApp(slack.app, lifespan="off") as server:
        slack_http = SlackHttp()
        await slack_http.start()
        try:
            yield slack_http, f"{server.url}/api/"
        finally:
            slack.release.set()
            await slack_http.aclose()


async def test_waiting_for_a_free_connection_is_not_counted_as_slack_being_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "MAX_CONNECTIONS_PER_HOST", 1)
    slack = HoldingSlack("U0BUSY001")
    async with one_connection_to(slack) as (slack_http, api_url):
        other = slack_http.attach(AsyncWebClient(token=BOT_TOKEN, base_url=api_url))
        client = slack_http.attach(
            AsyncWebClient(token=BOT_TOKEN, base_url=api_url, timeout=ACCESS_CALL_LIMIT_S)
        )
        access = AccessPolicy(Settings(_env_file=None), client, timeout_s=0.3)
        busy = asyncio.create_task(other.users_info(user="U0BUSY001"))
        assert await asyncio.to_thread(slack.holding.wait, 10)  # the one connection is taken
        check = asyncio.create_task(access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL))
        await asyncio.sleep(0.6)  # the check waits for the connection, twice its budget
        assert slack.received == ["U0BUSY001"]
        slack.release.set()
        async with asyncio.timeout(10):
            decision = await check
            await busy
        assert decision.allowed is True
        assert slack.received == ["U0BUSY001", DEFAULT_USER]


async def test_an_agent_verified_earlier_is_served_while_slack_is_slow_after_expiry() -> None:
    slack = HoldingSlack()
    clock = Clock()
    async with one_connection_to(slack) as (slack_http, api_url):
        client = slack_http.attach(
            AsyncWebClient(token=BOT_TOKEN, base_url=api_url, timeout=ACCESS_CALL_LIMIT_S)
        )
        access = AccessPolicy(
            Settings(_env_file=None, access_cache_ttl_s=300), client, clock=clock, timeout_s=2.0
        )
        assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
        slack.held.add(DEFAULT_USER)  # from now on Slack takes its time to answer
        clock.now += 301

        async with asyncio.timeout(10):  # a check that waited for Slack would be refused below
            decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
        assert decision.allowed is True
        assert await asyncio.to_thread(slack.holding.wait, 10)  # asked again, in the background
        assert slack.received == [DEFAULT_USER, DEFAULT_USER]
        await access.aclose()


async def test_through_the_shared_session_a_slow_answer_still_refuses() -> None:
    slack = HoldingSlack(DEFAULT_USER)
    async with one_connection_to(slack) as (slack_http, api_url):
        client = slack_http.attach(
            AsyncWebClient(token=BOT_TOKEN, base_url=api_url, timeout=ACCESS_CALL_LIMIT_S)
        )
        access = AccessPolicy(Settings(_env_file=None), client, timeout_s=0.3)
        async with asyncio.timeout(10):
            decision = await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)
        assert decision.reason is AccessReason.UNVERIFIED
        assert slack.received == [DEFAULT_USER]


class GatedDirectorySlack:
    """A Web API client listing one member a page, holding the second page until released."""

    def __init__(self) -> None:
        self.first_page_sent = asyncio.Event()
        self.release = asyncio.Event()
        self.users_info_calls: list[str] = []

    async def users_list(self, *, limit: int, cursor: str | None, **_: Any) -> Any:
        if cursor is None:
            self.first_page_sent.set()
            return {"members": [member("U0PAGE001")], "response_metadata": {"next_cursor": "2"}}
        await self.release.wait()
        return {"members": [member("U0PAGE002")], "response_metadata": {"next_cursor": ""}}

    async def users_info(self, *, user: str, **_: Any) -> Any:
        self.users_info_calls.append(user)
        return {"ok": True, "user": member(user)}


async def test_lookups_are_served_while_a_large_directory_is_still_being_listed() -> None:
    fake = GatedDirectorySlack()
    access = AccessPolicy(Settings(_env_file=None), fake, timeout_s=2.0)  # type: ignore[arg-type]
    listing = asyncio.create_task(access.refresh_directory())
    async with asyncio.timeout(10):
        await fake.first_page_sent.wait()
        assert (await access.decide(TEAM_ID, "U0PAGE001", DEFAULT_CHANNEL)).allowed is True
        assert (await access.decide(TEAM_ID, "U0NOTYET1", DEFAULT_CHANNEL)).allowed is True
        assert fake.users_info_calls == ["U0NOTYET1"]  # listed members are not asked about
        assert not listing.done()
        fake.release.set()
        assert await listing == 2
    assert (await access.decide(TEAM_ID, "U0PAGE002", DEFAULT_CHANNEL)).allowed is True
    assert fake.users_info_calls == ["U0NOTYET1"]


# --- the directory: users.list keeps the cache warm ------------------------------------------


async def test_members_listed_by_the_directory_are_decided_without_users_info(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0LISTED1"] = member("U0LISTED1")
    access = policy(served_slack)
    assert await access.refresh_directory() == 2
    for user in (DEFAULT_USER, "U0LISTED1", DEFAULT_USER):
        assert (await access.decide(TEAM_ID, user, DEFAULT_CHANNEL)).allowed is True
    assert slack.api_calls("users.info") == []
    [listing] = slack.api_calls("users.list")
    assert listing.body["limit"] == "1000"
    assert "cursor" not in listing.body


async def test_the_directory_follows_the_cursor_through_every_page(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users_list_page_size = 2
    for user in ("U0PAGE001", "U0PAGE002"):
        slack.users[user] = member(user)
    access = policy(served_slack)
    assert await access.refresh_directory() == 3
    first, second = slack.api_calls("users.list")
    assert "cursor" not in first.body
    assert second.body["cursor"] == "2"  # the stand-in's next_cursor after the first page
    assert (await access.decide(TEAM_ID, "U0PAGE002", DEFAULT_CHANNEL)).allowed is True
    assert slack.api_calls("users.info") == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, AccessReason.ALLOWED),
        ({"is_restricted": True}, AccessReason.GUEST),
        ({"is_ultra_restricted": True}, AccessReason.GUEST),
        ({"team_id": "T0OTHERORG"}, AccessReason.EXTERNAL),
        ({"is_stranger": True}, AccessReason.EXTERNAL),
        ({"is_bot": True}, AccessReason.BOT),
        ({"is_app_user": True}, AccessReason.BOT),
        ({"deleted": True}, AccessReason.DEACTIVATED),
        (
            {"team_id": "T0HOMEWS", "enterprise_user": {"teams": ["T0HOMEWS", TEAM_ID]}},
            AccessReason.ALLOWED,
        ),
    ],
)
async def test_a_listed_user_is_judged_exactly_as_users_info_would(
    slack: SlackStandIn, served_slack, fields: dict[str, Any], reason: AccessReason
) -> None:
    slack.users["U0SOMEONE"] = member("U0SOMEONE", **fields)
    from_info = await policy(served_slack).decide(TEAM_ID, "U0SOMEONE", DEFAULT_CHANNEL)
    assert users_info_calls(slack, "U0SOMEONE") == 1

    listed = policy(served_slack)
    await listed.refresh_directory()
    from_list = await listed.decide(TEAM_ID, "U0SOMEONE", DEFAULT_CHANNEL)
    assert from_list == from_info
    assert from_list.reason is reason
    assert users_info_calls(slack, "U0SOMEONE") == 1  # only the first policy's


async def test_a_guest_in_the_directory_is_refused_without_users_info(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0GUEST05"] = member("U0GUEST05", is_restricted=True)
    access = policy(served_slack)
    await access.refresh_directory()
    assert (await access.decide(TEAM_ID, "U0GUEST05", DEFAULT_CHANNEL)).reason is (
        AccessReason.GUEST
    )
    assert slack.api_calls("users.info") == []


async def test_a_user_who_joined_since_the_listing_is_asked_about_with_users_info(
    slack: SlackStandIn, served_slack
) -> None:
    access = policy(served_slack)
    await access.refresh_directory()
    slack.users["U0NEWHIRE"] = member("U0NEWHIRE")
    assert (await access.decide(TEAM_ID, "U0NEWHIRE", DEFAULT_CHANNEL)).allowed is True
    assert (await access.decide(TEAM_ID, "U0NEWHIRE", DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, "U0NEWHIRE") == 1
    assert users_info_calls(slack, DEFAULT_USER) == 0


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "missing_scope"])
async def test_the_directory_failing_refuses_nobody_and_is_logged(
    slack: SlackStandIn, served_slack, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    slack.api_errors["users.list"] = error
    access = policy(served_slack)
    assert await access.refresh_directory() == 0
    assert any(
        r.levelno == logging.WARNING and f"users.list failed with {error}" in r.getMessage()
        for r in caplog.records
    )
    assert len(slack.api_calls("users.list")) == 1  # no Retry-After: this round stops
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 1


async def test_an_unreachable_directory_refuses_nobody_by_itself(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    access = AccessPolicy(Settings(_env_file=None), client, timeout_s=2.0)
    assert await access.refresh_directory() == 0  # logged, not raised


async def test_a_failing_page_keeps_the_pages_listed_before_it(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users_list_page_size = 1
    slack.users["U0PAGE001"] = member("U0PAGE001")
    slack.users["U0PAGE002"] = member("U0PAGE002")
    access = policy(served_slack)

    real_users_list = access.directory._client.users_list
    pages = 0

    async def users_list(**kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 2:
            slack.api_errors["users.list"] = "internal_error"
        try:
            return await real_users_list(**kwargs)
        finally:
            slack.api_errors.pop("users.list", None)

    access.directory._client.users_list = users_list  # type: ignore[method-assign]
    assert await access.refresh_directory() == 1
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 0
    assert (await access.decide(TEAM_ID, "U0PAGE001", DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, "U0PAGE001") == 1


async def test_a_rate_limited_listing_waits_as_slack_asks_and_goes_on(
    slack: SlackStandIn, served_slack
) -> None:
    slack.rate_limited["users.list"] = 0  # HTTP 429, Retry-After: 0, once
    access = policy(served_slack)
    assert await access.refresh_directory() == 1
    assert len(slack.api_calls("users.list")) == 2
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert slack.api_calls("users.info") == []


async def test_a_huge_workspace_is_listed_up_to_the_page_limit(
    slack: SlackStandIn, served_slack, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setattr(directory_module, "DIRECTORY_MAX_PAGES", 2)
    slack.users_list_page_size = 1
    for user in ("U0PAGE001", "U0PAGE002"):
        slack.users[user] = member(user)
    access = policy(served_slack)
    caplog.set_level(logging.INFO, logger="bot.access.directory")
    assert await access.refresh_directory() == 2
    assert len(slack.api_calls("users.list")) == 2
    assert "users.list: stopped after 2 pages" in caplog.text
    assert (await access.decide(TEAM_ID, "U0PAGE002", DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, "U0PAGE002") == 1


async def test_listed_members_expire_like_any_other_entry(
    slack: SlackStandIn, served_slack
) -> None:
    clock = Clock()
    access = policy(served_slack, clock, access_cache_ttl_s=300)
    await access.refresh_directory()
    clock.now += 299
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    assert users_info_calls(slack, DEFAULT_USER) == 0
    clock.now += 2
    assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
    await refreshed(access, DEFAULT_USER)
    assert users_info_calls(slack, DEFAULT_USER) == 1


async def test_the_directory_is_listed_again_while_the_app_runs_and_stops_cleanly(
    slack: SlackStandIn, served_slack, caplog: pytest.LogCaptureFixture
) -> None:
    access = directory_policy(served_slack, ttl_s=0.05)  # listed every 40 ms
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await access.start()
        assert len(slack.api_calls("users.list")) >= 1  # start() waited for the first listing
        slack.users["U0NEWHIRE"] = member("U0NEWHIRE")
        async with asyncio.timeout(5):
            await slack.wait_for_api_calls_async("users.list", 3)
        assert (await access.decide(TEAM_ID, "U0NEWHIRE", DEFAULT_CHANNEL)).allowed is True
        assert slack.api_calls("users.info") == []

        await access.aclose()
        # The refresher is gone the moment aclose() returns: nothing is left to list again.
        assert [t for t in asyncio.all_tasks() if t.get_name() == "access-directory"] == []
        await access.aclose()  # twice is harmless
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "access-directory"]
    assert tasks == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_start_twice_runs_one_refresher(slack: SlackStandIn, served_slack) -> None:
    access = directory_policy(served_slack, ttl_s=300)
    await access.start()
    await access.start()
    try:
        assert len([t for t in asyncio.all_tasks() if t.get_name() == "access-directory"]) == 1
        assert len(slack.api_calls("users.list")) == 1
    finally:
        await access.aclose()


async def test_with_caching_off_there_is_no_directory(slack: SlackStandIn, served_slack) -> None:
    access = directory_policy(served_slack, ttl_s=0)
    await access.start()
    # No refresher was started that could list later.
    assert [t for t in asyncio.all_tasks() if t.get_name() == "access-directory"] == []
    await access.aclose()
    assert slack.api_calls("users.list") == []
    assert [t for t in asyncio.all_tasks() if t.get_name() == "access-directory"] == []


class SlowDirectorySlack:
    """A Web API client whose users.list never answers, while users.info does."""

    async def users_list(self, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)

    async def users_info(self, *, user: str, **kwargs: Any) -> Any:
        return {"ok": True, "user": member(user)}


async def test_start_up_does_not_wait_long_for_a_slow_directory_and_close_cancels_it() -> None:
    access = AccessPolicy(Settings(_env_file=None), SlowDirectorySlack(), timeout_s=0.5)  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await access.start(wait_s=0.1)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert (await access.decide(TEAM_ID, DEFAULT_USER, DEFAULT_CHANNEL)).allowed is True
        await access.aclose()  # cancels the listing in the middle of its request
    assert [t for t in asyncio.all_tasks() if t.get_name() == "access-directory"] == []


async def test_put_keeps_a_value_for_the_ttl_and_nothing_when_caching_is_off() -> None:
    clock = Clock()
    user = SlackUser.from_api(member("U0PUT0001"))
    loads: list[str] = []

    async def load() -> SlackUser | None:
        loads.append("U0PUT0001")
        return None

    cache: TtlCache[SlackUser | None] = TtlCache(300, clock=clock)
    cache.put("U0PUT0001", user)
    assert await cache.get("U0PUT0001", load) is user
    assert loads == []
    clock.now += 301
    assert await cache.get("U0PUT0001", load) is None
    assert loads == ["U0PUT0001"]

    off: TtlCache[SlackUser | None] = TtlCache(0, clock=clock)
    off.put("U0PUT0001", user)
    assert await off.get("U0PUT0001", load) is None
    assert loads == ["U0PUT0001", "U0PUT0001"]


async def test_a_full_cache_drops_the_least_recently_used_entry() -> None:
    cache: TtlCache[int] = TtlCache(300, clock=Clock(), max_entries=2)
    loads: list[str] = []

    def loader(key: str) -> Callable[[], Awaitable[int]]:
        async def load() -> int:
            loads.append(key)
            return 0

        return load

    cache.put("a", 1)
    cache.put("b", 2)
    assert await cache.get("a", loader("a")) == 1  # used: b is now the least recent
    cache.put("c", 4)  # drops b

    assert await cache.get("a", loader("a")) == 1
    assert await cache.get("c", loader("c")) == 4
    assert await cache.get("b", loader("b")) == 0
    assert loads == ["b"]


async def test_an_expired_value_is_served_while_one_shared_load_refreshes_it() -> None:
    clock = Clock()
    cache: TtlCache[str] = TtlCache(300, stale_s=600, clock=clock)
    release = asyncio.Event()
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "new"

    cache.put("k", "old")
    clock.now += 301
    assert [await cache.get("k", load) for _ in range(3)] == ["old"] * 3
    refresh = cache.loading("k")
    assert refresh is not None
    release.set()
    assert await refresh == "new"
    assert loads == 1
    assert await cache.get("k", load) == "new"
    clock.now += 301 + 600  # past the stale time too: the next caller waits for a load
    assert await cache.get("k", load) == "new"
    assert loads == 2


async def test_a_failed_refresh_keeps_the_stale_value_and_is_tried_again() -> None:
    clock = Clock()
    cache: TtlCache[str] = TtlCache(300, stale_s=600, clock=clock)
    attempts = 0

    async def failing() -> str:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("Slack is down")

    cache.put("k", "old")
    clock.now += 301
    for expected_attempts in (1, 2):
        assert await cache.get("k", failing) == "old"
        refresh = cache.loading("k")
        assert refresh is not None
        await asyncio.wait([refresh])
        assert attempts == expected_attempts


# The rate limit: tests/store/test_store_both.py (counted in the store, on both databases).


# --- settings ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No variable from the shell and no .env from the working directory."""
    for name in list(os.environ):
        if name.startswith(("ALLOWED_", "ACCESS_", "RATE_LIMIT", "AUDIT_", "ROPO_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_access_defaults_allow_every_full_member_at_30_lookups_a_minute(clean_env) -> None:
    settings = load_settings()
    assert settings.allowed_usergroup_ids == frozenset()
    assert settings.allowed_channel_ids == frozenset()
    assert settings.allowed_user_ids == frozenset()
    assert settings.rate_limit_per_minute == 30
    assert settings.access_cache_ttl_s == 300
    assert settings.audit_db == Path("audit.db")
    assert settings.audit_required is True
    assert settings.audit_retention_days == 365
    assert settings.audit_key is None


def test_allowlists_are_comma_separated(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ALLOWED_USERGROUP_IDS", "S0CSTEAM, S0BILLING,")
    clean_env.setenv("ALLOWED_CHANNEL_IDS", "C0SUPPORT")
    clean_env.setenv("ALLOWED_USER_IDS", "U0AGENT01,W0GRID001")
    settings = load_settings()
    assert settings.allowed_usergroup_ids == {"S0CSTEAM", "S0BILLING"}
    assert settings.allowed_channel_ids == {"C0SUPPORT"}
    assert settings.allowed_user_ids == {"U0AGENT01", "W0GRID001"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLOWED_USERGROUP_IDS", "@customer-service"),
        ("ALLOWED_CHANNEL_IDS", "#support"),
        ("ALLOWED_USER_IDS", "S0CSTEAM"),
    ],
)
def test_an_id_of_the_wrong_kind_stops_start_up_naming_the_variable(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{name}: .* is not a Slack id of this kind"):
        load_settings()


def test_a_short_audit_key_stops_start_up_without_echoing_it(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("AUDIT_KEY", "too-short-key")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "AUDIT_KEY: must be at least 32 characters" in str(caught.value)
    assert "too-short-key" not in str(caught.value)


# --- what the agent is shown ----------------------------------------------------------------

REFERENCE = "R-TEST01"
DECISIONS = {
    AccessReason.GUEST: "Invoice lookups show people's debts, so they are only for full members "
    "of this workspace, not guests. If your work needs them, ask a Slack admin for a full "
    "account.",
    AccessReason.EXTERNAL: "Invoice lookups are only for members of this workspace.",
    AccessReason.BOT: "Invoice lookups are only for people: apps and bots can't make them.",
    AccessReason.DEACTIVATED: "This Slack account is deactivated.",
    AccessReason.USER_NOT_ALLOWED: "Invoice lookups are limited to named agents.",
    AccessReason.NOT_IN_USERGROUP: "Invoice lookups are limited to members of "
    "<!subteam^S0CSTEAM>. If your work needs them, ask <#C0ITHELP> to add you.",
    AccessReason.CHANNEL_NOT_ALLOWED: "Invoices can be looked up only in <#C0SUPPORT>. "
    "Run `/invoices` there.",
    AccessReason.UNVERIFIED: "Slack didn't answer when this app checked your account, so "
    "nothing was looked up. Try again in a minute.",
}


def assert_valid_message(payload: dict[str, Any]) -> None:
    check_limits(payload)
    for block in payload["blocks"]:
        assert Block.parse(block).to_dict() == block


@pytest.mark.parametrize("reason", list(DECISIONS))
def test_refusal_matches_golden(reason: AccessReason) -> None:
    payload = render_access_refused(
        AccessDecision(reason, DECISIONS[reason]), RopoEnvironment.PRODUCTION, REFERENCE
    )
    assert_valid_message(payload)
    assert_golden(f"access_refused_{reason.value}", payload)


def test_refusal_names_the_reason_the_reference_and_is_private() -> None:
    payload = render_access_refused(
        AccessDecision(AccessReason.GUEST, DECISIONS[AccessReason.GUEST]),
        RopoEnvironment.SANDBOX,
        REFERENCE,
    )
    assert payload["text"] == "Guests can't look up invoices. Reference: R-TEST01"
    assert payload["blocks"][0]["block_id"] == ids.BLOCK_SUMMARY
    assert payload["blocks"][0]["text"]["text"] == (
        ":lock: *Guests can't look up invoices*\n"
        f"{DECISIONS[AccessReason.GUEST]}\nReference: `R-TEST01`"
    )
    assert payload["blocks"][-1]["block_id"] == ids.BLOCK_FOOTER
    assert "Only you can see this." in payload["blocks"][-1]["elements"][0]["text"]


def test_every_refusal_reason_has_a_heading() -> None:
    for reason in AccessReason:
        if reason is AccessReason.ALLOWED:
            with pytest.raises(ValueError, match="needs no refusal"):
                render_access_refused(AccessDecision(reason), RopoEnvironment.SANDBOX, REFERENCE)
        else:
            render_access_refused(AccessDecision(reason, "x"), RopoEnvironment.SANDBOX, REFERENCE)


def test_slow_down_matches_golden_and_says_when_to_retry() -> None:
    payload = render_slow_down(42, RopoEnvironment.PRODUCTION, REFERENCE)
    assert_valid_message(payload)
    assert payload["text"] == (
        "Too many lookups in a minute: try again in 42 seconds. Reference: R-TEST01"
    )
    assert "Nothing was looked up: try again in 42 seconds." in payload["blocks"][0]["text"]["text"]
    assert_golden("slow_down", payload)
    assert "1 second." in render_slow_down(1, RopoEnvironment.SANDBOX, REFERENCE)["text"]


def test_refusal_as_a_modal_is_a_valid_view_matching_golden() -> None:
    message = render_access_refused(
        AccessDecision(AccessReason.GUEST, DECISIONS[AccessReason.GUEST]),
        RopoEnvironment.PRODUCTION,
        REFERENCE,
    )
    view = render_refusal_view(message)
    assert View(**view).to_dict() == view
    check_limits(view, max_blocks=100, require_text=False)
    assert view["blocks"] == message["blocks"]
    assert "submit" not in view  # nothing to submit: only Close
    assert_golden("access_refused_view", view)


async def test_a_guest_in_the_wrong_channel_is_told_about_being_a_guest_first(
    slack: SlackStandIn, served_slack
) -> None:
    slack.users["U0GUEST04"] = member("U0GUEST04", is_restricted=True)
    access = policy(served_slack, allowed_channel_ids="C0SUPPORT")
    assert (await access.decide(TEAM_ID, "U0GUEST04", "C0RANDOM")).reason is AccessReason.GUEST


# --- which requests the middleware gates ------------------------------------------------------


def _actions(*action_ids: str) -> dict[str, Any]:
    return {"type": "block_actions", "actions": [{"action_id": a} for a in action_ids]}


def _shortcut_on(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message_action", "message": message}


def _form_submitted(text: str, callback_id: str = ids.VIEW_LOOKUP) -> dict[str, Any]:
    view = {"callback_id": callback_id, "state": {"values": lookup_form_values(text)}}
    return {"type": "view_submission", "view": view}


@pytest.mark.parametrize(
    ("body", "gate"),
    [
        ({"command": "/invoices", "text": "131052-308T"}, Gate(Surface.COMMAND, True)),
        ({"command": "/invoices", "text": "help"}, Gate(Surface.COMMAND, False)),
        ({"command": "/invoices", "text": "131052-308U"}, Gate(Surface.COMMAND, False)),
        (_actions(ids.ACTION_PAGE_NEXT), Gate(Surface.BUTTON, True)),
        (_actions(ids.ACTION_CHOOSE_IDENTIFIER), Gate(Surface.BUTTON, True)),
        (_actions(ids.ACTION_LOOKUP_ANOTHER), Gate(Surface.BUTTON, False)),
        (_actions(ids.ACTION_OPEN_LOOKUP_FORM), Gate(Surface.BUTTON, False)),
        (_actions("invoices.some_future_button"), Gate(Surface.BUTTON, True)),
        (_actions(ids.ACTION_OPEN_MYROPO, ids.ACTION_PAGE_NEXT), Gate(Surface.BUTTON, True)),
        # A message shortcut is a lookup only if its message names exactly one customer,
        # wherever in the message; else it opens the form or a chooser, and that counts.
        (_shortcut_on({"text": "My code is 131052-308T"}), Gate(Surface.MESSAGE_SHORTCUT, True)),
        (
            _shortcut_on({"text": "", "attachments": [{"fallback": "asiakasnumero C-1001"}]}),
            Gate(Surface.MESSAGE_SHORTCUT, True),
        ),
        (
            _shortcut_on(
                {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "131052-308T"}}]}
            ),
            Gate(Surface.MESSAGE_SHORTCUT, True),
        ),
        (_shortcut_on({"text": "Why so much? 131052-308U"}), Gate(Surface.MESSAGE_SHORTCUT, False)),
        (
            _shortcut_on({"text": "131052-308T", "attachments": [{"text": "100190-999P"}]}),
            Gate(Surface.MESSAGE_SHORTCUT, False),
        ),
        ({"type": "message_action"}, Gate(Surface.MESSAGE_SHORTCUT, False)),
        ({"type": "shortcut"}, Gate(Surface.MODAL, False)),
        # The lookup form is a lookup only if its field is not refused on the spot.
        (_form_submitted("131052-308T"), Gate(Surface.MODAL, True)),
        (_form_submitted("C-1001"), Gate(Surface.MODAL, True)),
        (_form_submitted("131052-308U"), Gate(Surface.MODAL, False)),
        (_form_submitted(""), Gate(Surface.MODAL, False)),
        (_form_submitted("131052-308U", "invoices.some_future_form"), Gate(Surface.MODAL, True)),
        ({"type": "view_submission"}, Gate(Surface.MODAL, True)),
        ({"type": "block_suggestion"}, Gate(Surface.MODAL, True)),
        ({"type": "something_slack_adds_later"}, Gate(Surface.MODAL, True)),
        (_actions(ids.ACTION_OPEN_MYROPO), None),
        ({"type": "view_closed"}, None),
        ({"type": "event_callback", "event": {"type": "app_home_opened"}}, None),
    ],
)
def test_everything_that_may_reach_ropo_is_gated_and_lookups_are_counted(
    body: dict[str, Any], gate: Gate | None
) -> None:
    assert gate_for(body) == gate
