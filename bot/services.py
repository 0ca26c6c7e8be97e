"""What the listeners need, built once per process and handed to them explicitly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.access.policy import AccessPolicy
from bot.access.ratelimit import SlidingWindowLimiter
from bot.audit import AuditTrail
from bot.details import InvoiceDetailsLookup
from bot.health import Readiness
from bot.i18n import current_locale
from bot.lookup import InvoiceLookup
from bot.settings import RopoEnvironment, Settings
from bot.slack.context import ContextSealer
from bot.slack.identity import BotIdentity
from bot.slack.in_flight import InFlight
from bot.store.agent_settings import AgentSettings
from bot.store.base import Store

logger = logging.getLogger(__name__)

SHUTDOWN_MARGIN_S = 5.0  # beyond Ropo's budget: time to render, audit and post the answer


@dataclass(frozen=True, slots=True)
class Services:
    """The lookup use case and the helpers every surface shares.

    ``access`` decides who may look up (the middleware asks it on every request; the Home
    tab may ask it too), ``rate_limit`` counts each agent's lookups, and ``audit`` records
    every attempt: ``lookup`` writes its own rows, the middleware the refusals. Both keep
    what they count and record in ``store``, shared with the app's other processes.
    """

    settings: Settings
    lookup: InvoiceLookup
    sealer: ContextSealer
    access: AccessPolicy
    rate_limit: SlidingWindowLimiter
    audit: AuditTrail
    details: InvoiceDetailsLookup  # one invoice's details, for a reply's Details buttons
    store: Store  # audit rows, rate-limit counts and agents' settings: SQLite or PostgreSQL
    # The bot's auth.test, asked at start-up; None offline (the demo console has no token).
    identity: BotIdentity | None = None
    # What /readyz asks: every component adds its check where it is built.
    readiness: Readiness = field(default_factory=Readiness)
    # The agents' own choices (their language); None: none remembered (the default applies).
    agent_settings: AgentSettings | None = None
    # Requests not yet acknowledged (lookups wait for them), and lookups and refusals that
    # are acknowledged but not yet answered (shutdown waits for them): see bot/slack/in_flight.py.
    pending_acks: InFlight = field(default_factory=InFlight)
    unanswered: InFlight = field(default_factory=InFlight)
    # Work going on after an acknowledgement: the event loop holds a task only weakly.
    _after_ack: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    @property
    def environment(self) -> RopoEnvironment:
        """Where the invoice data comes from."""
        return self.settings.ropo_environment

    @property
    def locale(self) -> str:
        """The locale amounts are formatted in: the agent's language, DISPLAY_LOCALE's country."""
        return current_locale()

    async def start(self) -> None:
        """Start the background work: the store's connections, the directory of members.

        Call once the event loop runs (the web app's lifespan, Socket Mode's start-up).
        """
        await self.store.start()
        if self.identity is not None:
            await self.identity.start()
        await self.access.start()

    def after_ack(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Go on with ``work`` in a task of its own, once the listener has acknowledged.

        Every listener acknowledges and hands what follows (Slack calls, lookups) to this:
        Bolt keeps the request, its context and a Web API client of its own alive for as
        long as the listener runs, which adds up with hundreds of lookups in flight. The work is
        counted as unanswered, so a shutdown waits for it; if it fails, that is logged, never
        raised: telling the agent is the work's own business.
        """
        task = asyncio.create_task(self._guarded(work, what))
        self.unanswered.begin()  # now, not when the task first runs: a shutdown may come first
        self._after_ack.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._after_ack.discard(task)
        self.unanswered.end()

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, object], what: str) -> None:
        try:
            await work
        except Exception:
            logger.exception("%s failed", what)

    async def finish_lookups(self) -> None:
        """Let what is already acknowledged be answered before shutting down (bounded)."""
        if not await self.unanswered.idle(self.settings.ropo_timeout_s + SHUTDOWN_MARGIN_S):
            logger.warning("shutting down with %d answers undelivered", self.unanswered.count)

    async def aclose(self) -> None:
        """Release what the services hold.

        The access directory stops refreshing, then the audit trail stores its queue and
        closes the store.
        """
        if self.identity is not None:
            await self.identity.aclose()
        await self.access.aclose()
        await self.audit.aclose()
