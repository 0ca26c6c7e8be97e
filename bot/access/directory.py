"""What Slack says about an agent: the member directory, ``users.info`` and user groups.

Access depends on facts only Slack has: whether an account is a full member of this
workspace, and which user groups it is in. They are cached for ``ACCESS_CACHE_TTL_S``, so
that a busy agent costs one Slack call, not one per lookup.

While the app runs, a directory of the workspace's members (``users.list``, Slack's largest
page size) keeps that cache warm, so that an agent's first request does not wait for a
``users.info`` round trip before Slack's 3-second acknowledgement. ``users.list`` returns the
same user objects, so a member is judged alike either way; one the directory does not know
yet (joined since its last listing) is asked about with ``users.info``. The listing runs in
the background and yields between pages, so lookups are served while a large workspace is
listed; the directory failing only means that ``users.info`` is asked more often.

An answer Slack gave within the cache time is not thrown away because Slack is slow or down
now: once it expires it is served for up to ``STALE_FOR_S`` more while ``users.info`` is asked
again in the background (stale-while-revalidate). Only an agent Slack has never vouched for,
or not for that long, waits for Slack, and then only ``timeout_s`` for Slack's own answer:
the clock starts when the request is sent, not while it waits for its turn in a busy process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.cache import MAX_ENTRIES, TtlCache
from bot.retry_after import parse_retry_after
from bot.slack.answer_time import answer_within

logger = logging.getLogger(__name__)

ACCESS_CHECK_TIMEOUT_S = 2.0
"""How long Slack may take to answer one question; the access check comes before the 3 s ack.

Counted from when the request is sent (:func:`~bot.slack.answer_time.answer_within`).
"""
ACCESS_CALL_LIMIT_S = 5
"""The HTTP limit of one call, a wait for a free connection included: a stuck pool still ends."""
STALE_FOR_S = 60 * 60.0
"""How long past its cache time an answer Slack gave is still served while Slack is asked again.

Long enough to ride out a Slack incident; a deactivated account is signed out by Slack itself,
so what this can let through is an agent turned guest within the hour.
"""
DIRECTORY_PAGE_SIZE = 1000
"""Slack's largest page for ``users.list``."""
DIRECTORY_MAX_PAGES = 50  # 50,000 members; the rest are asked about one by one
DIRECTORY_REFRESH_SHARE = 0.8
"""The directory is listed again after this share of ``ACCESS_CACHE_TTL_S``: before it expires."""
DIRECTORY_MIN_INTERVAL_S = 30.0
"""``users.list`` is Tier 2 (about 20 calls a minute): never listed more often than this."""
DIRECTORY_START_WAIT_S = 5.0
"""How long :meth:`MemberDirectory.start` waits for the first listing before serving anyway."""
_RATELIMIT_RETRIES = 3
_RATELIMIT_MAX_WAIT_S = 60.0
# Errors only an admin can fix: louder than a passing outage.
_CONFIGURATION_ERRORS = frozenset(
    {"missing_scope", "invalid_auth", "not_authed", "account_inactive", "token_revoked"}
)
_NO_SUCH_GROUP = frozenset({"no_such_subteam", "subteam_not_found"})


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


class MemberDirectory:
    """Slack's answers about accounts and user groups, cached, and kept warm by ``users.list``."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl_s: float,
        timeout_s: float = ACCESS_CHECK_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = DIRECTORY_MIN_INTERVAL_S,
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._ttl_s = ttl_s
        self._interval_s = max(ttl_s * DIRECTORY_REFRESH_SHARE, min_interval_s)
        self._task: asyncio.Task[None] | None = None
        # Room for the whole directory and as many agents again asked about one by one.
        self._users: TtlCache[SlackUser | None] = TtlCache(
            ttl_s,
            stale_s=STALE_FOR_S,
            clock=clock,
            max_entries=DIRECTORY_MAX_PAGES * DIRECTORY_PAGE_SIZE + MAX_ENTRIES,
        )
        self._groups: TtlCache[frozenset[str]] = TtlCache(ttl_s, stale_s=STALE_FOR_S, clock=clock)

    # -- asking ------------------------------------------------------------------------------

    async def user(self, user_id: str) -> SlackUser | None:
        """The account ``user_id``, or None when Slack does not know it.

        Raises :class:`SlackUnavailable` when Slack must be asked and cannot answer.
        """
        return await self._users.get(user_id, partial(self._fetch_user, user_id))

    async def group_members(self, group_id: str) -> frozenset[str]:
        """The user ids in the user group ``group_id``; empty when Slack does not know it.

        Raises :class:`SlackUnavailable` when Slack must be asked and cannot answer.
        """
        return await self._groups.get(group_id, partial(self._fetch_group, group_id))

    def known_user(self, user_id: str) -> SlackUser | None:
        """The account as last read, fresh or stale, without asking Slack; None if not read."""
        return self._users.peek(user_id)

    def refreshing(self, user_id: str) -> asyncio.Task[SlackUser | None] | None:
        """The ``users.info`` call for ``user_id`` in flight, if any: something to wait on."""
        return self._users.loading(user_id)

    # -- keeping the directory warm ------------------------------------------------------------

    async def start(self, *, wait_s: float = DIRECTORY_START_WAIT_S) -> None:
        """Keep the directory of members fresh in the background until :meth:`aclose`.

        Lists the members once now, waiting up to ``wait_s`` for that (so that a process
        serves its first burst warm, but never hangs its start-up on Slack), then every
        ``ACCESS_CACHE_TTL_S * 0.8`` seconds (but no more often than every 30 s), so that a
        member's entry does not expire while the app runs. Nothing to do when caching is
        off (TTL 0).
        """
        if self._ttl_s <= 0 or self._task is not None:
            return
        listed = asyncio.Event()
        self._task = asyncio.create_task(self._keep_listing(listed), name="access-directory")
        try:
            async with asyncio.timeout(wait_s):
                await listed.wait()
        except TimeoutError:
            logger.info("users.list still running after %.0f s: serving meanwhile", wait_s)

    async def aclose(self) -> None:
        """Stop refreshing the directory and asking Slack; what it cached stays."""
        await self._users.aclose()
        await self._groups.aclose()
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # our caller is cancelled too
                raise

    async def _keep_listing(self, listed: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.refresh()
            except Exception:  # a bug, not Slack: keep refreshing, users.info still works
                logger.exception("refreshing the access directory failed")
            listed.set()
            # Counted from the start, so that a slow listing does not let entries expire.
            await asyncio.sleep(max(0.0, started + self._interval_s - loop.time()))

    async def refresh(self) -> int:
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
            await asyncio.sleep(0)  # a page is a thousand members: let waiting lookups run
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

    # -- Slack ---------------------------------------------------------------------------

    async def _fetch_user(self, user_id: str) -> SlackUser | None:
        try:
            # Slack's answer is timed, not the agent's request: in a burst, that would count
            # waiting for the event loop and for a free connection, and refuse members
            # because the process is busy rather than because Slack is.
            async with answer_within(self._timeout_s):
                response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error == "user_not_found":
                logger.info("users.info does not know %s", user_id)
                return None
            _log_slack_failure("users.info", error)
            raise SlackUnavailable(error) from None
        except Exception as exc:  # timeouts, aiohttp and OS errors: Slack unreachable
            logger.warning("users.info for %s failed: %s", user_id, type(exc).__name__)
            raise SlackUnavailable(type(exc).__name__) from None
        return SlackUser.from_api(response.get("user") or {})

    async def _fetch_group(self, group_id: str) -> frozenset[str]:
        try:
            async with answer_within(self._timeout_s):
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
            _log_slack_failure("usergroups.users.list", error)
            raise SlackUnavailable(error) from None
        except Exception as exc:
            logger.warning("usergroups.users.list for %s failed: %s", group_id, type(exc).__name__)
            raise SlackUnavailable(type(exc).__name__) from None
        return frozenset(response.get("users") or ())


def _log_slack_failure(method: str, error: str) -> None:
    if error in _CONFIGURATION_ERRORS:
        logger.error(
            "%s failed with %s: check the bot token and its scopes (users:read, "
            "usergroups:read); agents Slack has not vouched for lately are refused until then",
            method,
            error,
        )
    else:
        logger.warning("%s failed with %s", method, error or "an unreadable answer")


def _retry_after(exc: SlackApiError) -> float | None:
    """The seconds a ``ratelimited`` answer asks to wait, capped; None when it does not say."""
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    return parse_retry_after(value, cap_s=_RATELIMIT_MAX_WAIT_S)
