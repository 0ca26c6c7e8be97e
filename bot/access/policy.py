"""Who may look up: full members of the workspace, narrowed by optional allowlists.

Slack lets anyone who can see a slash command or a shortcut use it, guests and people from
other organisations included, so the app decides on every request, from what Slack says
about the agent (:mod:`bot.access.directory`) and the allowlists in the settings. When Slack
cannot be asked about an agent it has not vouched for lately, the answer is no; an agent it
vouched for within the cache time (or the hour after) is not refused because Slack is slow
or down now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.access.directory import (
    ACCESS_CHECK_TIMEOUT_S,
    DIRECTORY_MIN_INTERVAL_S,
    DIRECTORY_START_WAIT_S,
    MemberDirectory,
    SlackUnavailable,
    SlackUser,
)
from bot.i18n import _
from bot.settings import Settings

logger = logging.getLogger(__name__)

SLACKBOT_USER_ID = "USLACKBOT"


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


class AccessPolicy:
    """Decides, per request, whether an agent may look up invoices."""

    def __init__(
        self,
        settings: Settings,
        client: AsyncWebClient,
        *,
        timeout_s: float = ACCESS_CHECK_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        directory_min_interval_s: float = DIRECTORY_MIN_INTERVAL_S,
    ) -> None:
        self.directory = MemberDirectory(
            client,
            ttl_s=settings.access_cache_ttl_s,
            timeout_s=timeout_s,
            clock=clock,
            min_interval_s=directory_min_interval_s,
        )
        self._user_ids = settings.allowed_user_ids
        self._channel_ids = settings.allowed_channel_ids
        self._usergroup_ids = settings.allowed_usergroup_ids
        self._contact = settings.access_contact  # None: _refused() names an admin

    async def start(self, *, wait_s: float = DIRECTORY_START_WAIT_S) -> None:
        """Keep the directory of members warm in the background (see :class:`MemberDirectory`)."""
        await self.directory.start(wait_s=wait_s)

    async def aclose(self) -> None:
        """Stop refreshing the directory."""
        await self.directory.aclose()

    async def refresh_directory(self) -> int:
        """List the workspace's members now; return how many were listed."""
        return await self.directory.refresh()

    # -- deciding ---------------------------------------------------------------------------

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
            decision = self._account_decision(await self.directory.user(user_id), team_id)
            if decision.allowed and self._usergroup_ids:
                decision = await self._usergroup_decision(user_id)
        except SlackUnavailable:
            logger.warning("access of %s could not be verified with Slack: refused", user_id)
            return self._refused(AccessReason.UNVERIFIED)
        return decision

    def user_locale(self, user_id: str) -> str | None:
        """The agent's Slack locale (``fi-FI``) as last read, or None if not read yet.

        Read from the accounts access already keeps (the member directory lists everyone
        with ``include_locale``; ``users.info`` asks with it too), so it costs no Slack call:
        an agent the directory missed gets the default until access has read their account.
        A language is a preference, so an account past its time in the cache still says it.
        """
        user = self.directory.known_user(user_id)
        return user.locale if user is not None else None

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
                members = await self.directory.group_members(group_id)
            except SlackUnavailable:
                unverified = True
                continue
            if user_id in members:
                return ALLOWED
        if unverified:
            raise SlackUnavailable("a user group's members could not be read")
        return self._refused(AccessReason.NOT_IN_USERGROUP)

    # -- what the agent is told ------------------------------------------------------------

    def _channel_not_allowed(self) -> AccessDecision:
        channels = _join(f"<#{c}>" for c in sorted(self._channel_ids))
        return AccessDecision(
            AccessReason.CHANNEL_NOT_ALLOWED,
            _("Invoices can be looked up only in {channels}. Run {command} there.").format(
                channels=channels, command=f"`{ids.COMMAND}`"
            ),
        )

    def _refused(self, reason: AccessReason) -> AccessDecision:
        # Written in the agent's language when decided: a decision is not cached as text.
        ask = self._contact or _("a Slack admin")
        if reason is AccessReason.GUEST:
            message = _(
                "Invoice lookups show people's debts, so they are only for full members of "
                "this workspace, not guests. If your work needs them, ask {contact} for a full "
                "account."
            ).format(contact=ask)
        elif reason is AccessReason.EXTERNAL:
            message = _(
                "Invoice lookups are only for members of this workspace, and Slack says your "
                "account belongs to another organisation. Ask a colleague in this workspace "
                "to look the customer up."
            )
        elif reason is AccessReason.BOT:
            message = _("Invoice lookups are only for people: apps and bots can't make them.")
        elif reason is AccessReason.DEACTIVATED:
            message = _("This Slack account is deactivated.")
        elif reason is AccessReason.USER_NOT_ALLOWED:
            message = _(
                "Invoice lookups are limited to named agents, and your account is not one of "
                "them. If your work needs them, ask {contact} to add you."
            ).format(contact=ask)
        elif reason is AccessReason.NOT_IN_USERGROUP:
            groups = _join(f"<!subteam^{g}>" for g in sorted(self._usergroup_ids))
            message = _(
                "Invoice lookups are limited to members of {groups}. If your work needs "
                "them, ask {contact} to add you."
            ).format(groups=groups, contact=ask)
        elif reason is AccessReason.UNVERIFIED:
            message = _(
                "Slack didn't answer when this app checked your account, so nothing was "
                "looked up. Try again in a minute; if it keeps happening, tell {contact}."
            ).format(contact=ask)
        else:
            raise ValueError(f"no refusal text for {reason}")
        return AccessDecision(reason, message)


def _join(items: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = list(items)
    if len(items) == 1:
        return items[0]
    return _("{items} or {last}").format(items=", ".join(items[:-1]), last=items[-1])
