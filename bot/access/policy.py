"""Who may look up: full members of the workspace, narrowed by optional allowlists.

Slack lets anyone who can see a slash command or a shortcut use it, guests and people from
other organisations included, so the app decides on every request. The facts come from
``users.info`` and ``usergroups.users.list``, cached for a few minutes so that a busy agent
costs one Slack call, not one per lookup. When Slack cannot be asked, the answer is no.

While the app runs, a directory of the workspace's members (``users.list``) keeps that cache
warm, so that an agent's first request does not wait for a ``users.info`` round trip before
Slack's 3-second acknowledgement. ``users.list`` returns the same user objects, so a member
is judged alike either way; one the directory does not know yet (joined since its last
refresh) is asked about with ``users.info`` as before, and the directory failing only means
that ``users.info`` is asked more often: it never refuses anyone by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Generic, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.i18n import _
from bot.settings import Settings

logger = logging.getLogger(__name__)

SLACKBOT_USER_ID = "USLACKBOT"
ACCESS_CHECK_TIMEOUT_S = 2.0
"""Slack waits 3 s for an acknowledgement, and the check comes before it."""

_MAX_CACHED = 10_000
DIRECTORY_PAGE_SIZE = 1000
DIRECTORY_MAX_PAGES = 50  # 50,000 members; the rest are asked about one by one
DIRECTORY_REFRESH_SHARE = 0.8
"""The directory is listed again after this share of ``ACCESS_CACHE_TTL_S``: before it expires."""
DIRECTORY_MIN_INTERVAL_S = 30.0
"""``users.list`` is Tier 2 (about 20 calls a minute): never listed more often than this."""
DIRECTORY_START_WAIT_S = 5.0
"""How long :meth:`AccessPolicy.start` waits for the first listing before serving anyway."""
_RATELIMIT_RETRIES = 3
_RATELIMIT_MAX_WAIT_S = 60.0
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
    """What access depends on in a Slack account, read from ``users.info`` or ``users.list``."""

    id: str
    team_id: str | None
    teams: frozenset[str]  # Enterprise Grid: every workspace the account is a member of
    guest: bool
    bot: bool
    deleted: bool
    stranger: bool
    locale: str | None = None  # Slack's language for the account (fi-FI), with include_locale

    @classmethod
    def from_api(cls, user: dict[str, Any]) -> SlackUser:
        """Read a ``user`` of ``users.info``, or one of the ``members`` of ``users.list``."""
        enterprise = user.get("enterprise_user") or {}
        return cls(
            id=str(user.get("id", "")),
            team_id=user.get("team_id"),
            teams=frozenset(enterprise.get("teams") or ()),
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            bot=bool(user.get("is_bot") or user.get("is_app_user")),
            deleted=bool(user.get("deleted")),
            stranger=bool(user.get("is_stranger")),
            locale=user.get("locale") or None,
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

    def peek(self, key: str) -> V | None:
        """The value kept for ``key``, even past its time, without loading it; None if none."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` for ``key`` for ``ttl_s`` from now, as if it had just been loaded."""
        self._store(key, value)

    async def _load(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        self._store(key, value)
        return value

    def _store(self, key: str, value: V) -> None:
        if self._ttl_s <= 0:
            return
        # Re-inserted at the end, so that the dict's order stays oldest first for _evict.
        if self._entries.pop(key, None) is None and len(self._entries) >= self._max_entries:
            self._evict()
        self._entries[key] = (self._clock() + self._ttl_s, value)

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _value) in self._entries.items() if expires <= now]:
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
        directory_min_interval_s: float = DIRECTORY_MIN_INTERVAL_S,
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._ttl_s = settings.access_cache_ttl_s
        self._directory_interval_s = max(
            self._ttl_s * DIRECTORY_REFRESH_SHARE, directory_min_interval_s
        )
        self._directory_task: asyncio.Task[None] | None = None
        self._user_ids = settings.allowed_user_ids
        self._channel_ids = settings.allowed_channel_ids
        self._usergroup_ids = settings.allowed_usergroup_ids
        self._contact = settings.access_contact
        # Room for the whole directory and as many agents again asked about one by one.
        self._users: TtlCache[SlackUser | None] = TtlCache(
            settings.access_cache_ttl_s,
            clock=clock,
            max_entries=DIRECTORY_MAX_PAGES * DIRECTORY_PAGE_SIZE + _MAX_CACHED,
        )
        self._groups: TtlCache[frozenset[str]] = TtlCache(settings.access_cache_ttl_s, clock=clock)

    # -- the directory ---------------------------------------------------------------------

    async def start(self, *, wait_s: float = DIRECTORY_START_WAIT_S) -> None:
        """Keep the directory of members fresh in the background until :meth:`aclose`.

        Lists the members once now, waiting up to ``wait_s`` for that (so that a process
        serves its first burst warm, but never hangs its start-up on Slack), then every
        ``ACCESS_CACHE_TTL_S * 0.8`` seconds (but no more often than every 30 s), so that a
        member's entry does not expire while the app runs. Nothing to do when caching is
        off (TTL 0).
        """
        if self._ttl_s <= 0 or self._directory_task is not None:
            return
        listed = asyncio.Event()
        self._directory_task = asyncio.create_task(
            self._keep_directory(listed), name="access-directory"
        )
        try:
            async with asyncio.timeout(wait_s):
                await listed.wait()
        except TimeoutError:
            logger.info("users.list still running after %.0f s: serving meanwhile", wait_s)

    async def aclose(self) -> None:
        """Stop refreshing the directory; what it cached stays until it expires."""
        task, self._directory_task = self._directory_task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # our caller is cancelled too
                raise

    async def _keep_directory(self, listed: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.refresh_directory()
            except Exception:  # a bug, not Slack: keep refreshing, users.info still works
                logger.exception("refreshing the access directory failed")
            listed.set()
            # Counted from the start, so that a slow listing does not let entries expire.
            await asyncio.sleep(max(0.0, started + self._directory_interval_s - loop.time()))

    async def refresh_directory(self) -> int:
        """Put every member ``users.list`` returns into the cache; return how many.

        Pages through ``users.list`` (1000 a page, at most 50 pages). When Slack fails, what
        was listed so far is kept, a warning is logged, and everyone else is asked about
        with ``users.info`` as usual. A ``ratelimited`` answer is waited out (its
        ``Retry-After``, up to a minute, three times); after that the round stops.
        """
        started = time.monotonic()
        cursor = ""
        listed = 0
        retries = 0
        for page in range(1, DIRECTORY_MAX_PAGES + 1):
            while True:
                try:
                    response = await self._client.users_list(
                        limit=DIRECTORY_PAGE_SIZE, cursor=cursor or None, include_locale=True
                    )
                    break
                except SlackApiError as exc:
                    error = str(exc.response.get("error", ""))
                    wait_s = _retry_after(exc) if error == "ratelimited" else None
                    if wait_s is None or retries >= _RATELIMIT_RETRIES:
                        logger.warning(
                            "users.list failed with %s on page %d: the access directory "
                            "keeps what it has and users.info is asked instead",
                            error or "an unreadable answer",
                            page,
                        )
                        return listed
                    retries += 1
                    logger.info("users.list is rate-limited: page %d in %.0f s", page, wait_s)
                    await asyncio.sleep(wait_s)
                except Exception as exc:  # aiohttp and OS errors: Slack unreachable
                    logger.warning(
                        "users.list failed on page %d: %s: the access directory keeps what "
                        "it has and users.info is asked instead",
                        page,
                        type(exc).__name__,
                    )
                    return listed
            for member in response.get("members") or ():
                if isinstance(member, dict) and member.get("id"):
                    self._users.put(str(member["id"]), SlackUser.from_api(member))
                    listed += 1
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        else:
            logger.info(
                "users.list: stopped after %d pages (%d members); the rest are asked about "
                "with users.info",
                DIRECTORY_MAX_PAGES,
                listed,
            )
        logger.info(
            "access directory: %d members from users.list in %.2f s",
            listed,
            time.monotonic() - started,
        )
        return listed

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
            async with asyncio.timeout(self._timeout_s):
                user = await self._users.get(user_id, lambda: self._fetch_user(user_id))
                decision = self._account_decision(user, team_id)
                if decision.allowed and self._usergroup_ids:
                    decision = await self._usergroup_decision(user_id)
        except (SlackUnavailable, TimeoutError):
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
        user = self._users.peek(user_id)
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
                members = await self._groups.get(group_id, partial(self._fetch_group, group_id))
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
            response = await self._client.users_info(user=user_id, include_locale=True)
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


def _retry_after(exc: SlackApiError) -> float | None:
    """The seconds a ``ratelimited`` answer asks to wait, capped; None when it does not say."""
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        seconds = float(value)  # type: ignore[arg-type]  # None and junk land below
    except (TypeError, ValueError):
        return None
    return min(max(seconds, 0.0), _RATELIMIT_MAX_WAIT_S)


def _join(items: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = list(items)
    if len(items) == 1:
        return items[0]
    return _("{items} or {last}").format(items=", ".join(items[:-1]), last=items[-1])
