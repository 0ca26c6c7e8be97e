"""Who may look up: full members of the workspace, narrowed by optional allowlists.

Slack lets anyone who can see a slash command or a shortcut use it, guests and people from
other organisations included, so the app decides on every request. The facts come from
``users.info`` and ``usergroups.users.list``, cached for a few minutes so that a busy agent
costs one Slack call, not one per lookup. When Slack cannot be asked, the answer is no.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.settings import Settings

logger = logging.getLogger(__name__)

SLACKBOT_USER_ID = "USLACKBOT"
ACCESS_CHECK_TIMEOUT_S = 2.0
"""Slack waits 3 s for an acknowledgement, and the check comes before it."""

_MAX_CACHED = 10_000
# Errors only an admin can fix: louder than a passing outage.
_CONFIGURATION_ERRORS = frozenset(
    {"missing_scope", "invalid_auth", "not_authed", "account_inactive", "token_revoked"}
)
_NO_SUCH_GROUP = frozenset({"no_such_subteam", "subteam_not_found"})


class AccessReason(StrEnum):
    """Why a request was allowed or refused; audited with a refusal."""

    ALLOWED = "allowed"
    GUEST = "guest"  # single- or multi-channel guest
    EXTERNAL = "external"  # another organisation (Slack Connect), or unknown to this workspace
    BOT = "bot"  # a bot, an app user or Slackbot
    DEACTIVATED = "deactivated"
    USER_NOT_ALLOWED = "user_not_allowed"  # not in ALLOWED_USER_IDS
    NOT_IN_USERGROUP = "not_in_usergroup"  # in none of ALLOWED_USERGROUP_IDS
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"  # not one of ALLOWED_CHANNEL_IDS
    UNVERIFIED = "unverified"  # Slack could not be asked: refused, try again


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """Allowed, or refused with a reason and what to tell the agent (mrkdwn, no heading)."""

    reason: AccessReason
    message: str = ""

    @property
    def allowed(self) -> bool:
        """True when the request may go on to Ropo One."""
        return self.reason is AccessReason.ALLOWED


ALLOWED = AccessDecision(AccessReason.ALLOWED)


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What access depends on in a Slack account, read from ``users.info``."""

    id: str
    team_id: str | None
    teams: frozenset[str]  # Enterprise Grid: every workspace the account is a member of
    guest: bool
    bot: bool
    deleted: bool
    stranger: bool

    @classmethod
    def from_api(cls, user: dict[str, Any]) -> SlackUser:
        """Read the ``user`` object of a ``users.info`` answer."""
        enterprise = user.get("enterprise_user") or {}
        return cls(
            id=str(user.get("id", "")),
            team_id=user.get("team_id"),
            teams=frozenset(enterprise.get("teams") or ()),
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            bot=bool(user.get("is_bot") or user.get("is_app_user")),
            deleted=bool(user.get("deleted")),
            stranger=bool(user.get("is_stranger")),
        )

    def is_member_of(self, team_id: str | None) -> bool:
        """True for an account of the workspace ``team_id`` (home, or joined in a Grid)."""
        if team_id is None or self.stranger:
            return False
        return self.team_id == team_id or team_id in self.teams


class SlackUnavailable(Exception):
    """Slack could not answer a question access depends on."""


V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values kept for ``ttl_s``; concurrent misses for one key share one load.

    A failed load is not kept: the next caller tries again.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = _MAX_CACHED,
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, V]] = {}
        self._loading: dict[str, asyncio.Task[V]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value for ``key``, or the result of one shared ``load()``."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key, load))
            # Every waiter may have given up; the failure is still retrieved, not warned about.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._loading[key] = task
        # Shielded: one caller giving up (a timeout) must not cancel the load for the rest.
        return await asyncio.shield(task)

    async def _load(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        if self._ttl_s > 0:
            if len(self._entries) >= self._max_entries:
                self._evict()
            self._entries[key] = (self._clock() + self._ttl_s, value)
        return value

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        while len(self._entries) >= self._max_entries:  # all fresh: drop the oldest
            del self._entries[next(iter(self._entries))]


class AccessPolicy:
    """Decides, per request, whether an agent may look up invoices."""

    def __init__(
        self,
        settings: Settings,
        client: AsyncWebClient,
        *,
        timeout_s: float = ACCESS_CHECK_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._user_ids = settings.allowed_user_ids
        self._channel_ids = settings.allowed_channel_ids
        self._usergroup_ids = settings.allowed_usergroup_ids
        self._contact = settings.access_contact or "a Slack admin"
        self._users: TtlCache[SlackUser | None] = TtlCache(settings.access_cache_ttl_s, clock=clock)
        self._groups: TtlCache[frozenset[str]] = TtlCache(settings.access_cache_ttl_s, clock=clock)

    async def decide(
        self, team_id: str | None, user_id: str | None, channel_id: str | None
    ) -> AccessDecision:
        """May ``user_id`` look up from ``channel_id``, in the workspace ``team_id``?

        ``team_id`` is the workspace the app is installed in. The agent is checked first, so
        a guest is told that guests can't look up, not to try another channel. With
        ``ALLOWED_CHANNEL_IDS`` set, a request from no channel (a modal) is refused: it is
        not from an allowed one.
        """
        decision = await self.decide_user(team_id, user_id)
        if decision.allowed and self._channel_ids and channel_id not in self._channel_ids:
            return self._channel_not_allowed()
        return decision

    async def decide_user(self, team_id: str | None, user_id: str | None) -> AccessDecision:
        """Every check but the channel's: what the App Home can tell an agent up front."""
        if not user_id or user_id == SLACKBOT_USER_ID:
            return self._refused(AccessReason.BOT)
        if self._user_ids and user_id not in self._user_ids:
            return self._refused(AccessReason.USER_NOT_ALLOWED)
        try:
            async with asyncio.timeout(self._timeout_s):
                user = await self._users.get(user_id, lambda: self._fetch_user(user_id))
                decision = self._account_decision(user, team_id)
                if decision.allowed and self._usergroup_ids:
                    decision = await self._usergroup_decision(user_id)
        except (SlackUnavailable, TimeoutError):
            logger.warning("access of %s could not be verified with Slack: refused", user_id)
            return self._refused(AccessReason.UNVERIFIED)
        return decision

    # -- the checks ----------------------------------------------------------------------

    def _account_decision(self, user: SlackUser | None, team_id: str | None) -> AccessDecision:
        if user is None:
            return self._refused(AccessReason.EXTERNAL)  # users.info: user_not_found
        if user.deleted:
            return self._refused(AccessReason.DEACTIVATED)
        if user.bot:
            return self._refused(AccessReason.BOT)
        if not user.is_member_of(team_id):
            return self._refused(AccessReason.EXTERNAL)
        if user.guest:
            return self._refused(AccessReason.GUEST)
        return ALLOWED

    async def _usergroup_decision(self, user_id: str) -> AccessDecision:
        """A member of any one allowed group passes; Slack failing for one group is no proof."""
        unverified = False
        for group_id in sorted(self._usergroup_ids):
            try:
                members = await self._groups.get(group_id, lambda g=group_id: self._fetch_group(g))
            except SlackUnavailable:
                unverified = True
                continue
            if user_id in members:
                return ALLOWED
        if unverified:
            raise SlackUnavailable("a user group's members could not be read")
        return self._refused(AccessReason.NOT_IN_USERGROUP)

    # -- Slack ---------------------------------------------------------------------------

    async def _fetch_user(self, user_id: str) -> SlackUser | None:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error == "user_not_found":
                logger.info("users.info does not know %s", user_id)
                return None
            self._log_slack_failure("users.info", error)
            raise SlackUnavailable(error) from None
        except Exception as exc:  # aiohttp and OS errors: Slack unreachable
            logger.warning("users.info for %s failed: %s", user_id, type(exc).__name__)
            raise SlackUnavailable(type(exc).__name__) from None
        return SlackUser.from_api(response.get("user") or {})

    async def _fetch_group(self, group_id: str) -> frozenset[str]:
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in _NO_SUCH_GROUP:
                logger.error(
                    "ALLOWED_USERGROUP_IDS names %s, which Slack does not know: nobody passes "
                    "through it",
                    group_id,
                )
                return frozenset()
            self._log_slack_failure("usergroups.users.list", error)
            raise SlackUnavailable(error) from None
        except Exception as exc:
            logger.warning("usergroups.users.list for %s failed: %s", group_id, type(exc).__name__)
            raise SlackUnavailable(type(exc).__name__) from None
        return frozenset(response.get("users") or ())

    @staticmethod
    def _log_slack_failure(method: str, error: str) -> None:
        if error in _CONFIGURATION_ERRORS:
            logger.error(
                "%s failed with %s: check the bot token and its scopes (users:read, "
                "usergroups:read); every lookup is refused until then",
                method,
                error,
            )
        else:
            logger.warning("%s failed with %s", method, error or "an unreadable answer")

    # -- what the agent is told ------------------------------------------------------------

    def _channel_not_allowed(self) -> AccessDecision:
        channels = _join(f"<#{c}>" for c in sorted(self._channel_ids))
        return AccessDecision(
            AccessReason.CHANNEL_NOT_ALLOWED,
            f"Invoices can be looked up only in {channels}. Run `{ids.COMMAND}` there.",
        )

    def _refused(self, reason: AccessReason) -> AccessDecision:
        ask = self._contact
        if reason is AccessReason.GUEST:
            message = (
                "Invoice lookups show people's debts, so they are only for full members of "
                f"this workspace, not guests. If your work needs them, ask {ask} for a full "
                "account."
            )
        elif reason is AccessReason.EXTERNAL:
            message = (
                "Invoice lookups are only for members of this workspace, and Slack says your "
                "account belongs to another organisation. Ask a colleague in this workspace "
                "to look the customer up."
            )
        elif reason is AccessReason.BOT:
            message = "Invoice lookups are only for people: apps and bots can't make them."
        elif reason is AccessReason.DEACTIVATED:
            message = "This Slack account is deactivated."
        elif reason is AccessReason.USER_NOT_ALLOWED:
            message = (
                "Invoice lookups are limited to named agents, and your account is not one of "
                f"them. If your work needs them, ask {ask} to add you."
            )
        elif reason is AccessReason.NOT_IN_USERGROUP:
            groups = _join(f"<!subteam^{g}>" for g in sorted(self._usergroup_ids))
            message = (
                f"Invoice lookups are limited to members of {groups}. If your work needs "
                f"them, ask {ask} to add you."
            )
        elif reason is AccessReason.UNVERIFIED:
            message = (
                "Slack didn't answer when this app checked your account, so nothing was "
                f"looked up. Try again in a minute; if it keeps happening, tell {ask}."
            )
        else:
            raise ValueError(f"no refusal text for {reason}")
        return AccessDecision(reason, message)


def _join(items: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
