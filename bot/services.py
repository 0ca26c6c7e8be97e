"""What the listeners need, built once per process and handed to them explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.access import AccessPolicy
from bot.ack_first import AckFirst
from bot.audit import AuditTrail
from bot.context import ContextSealer
from bot.lookup import InvoiceLookup
from bot.ratelimit import SlidingWindowLimiter
from bot.settings import RopoEnvironment, Settings


@dataclass(frozen=True, slots=True)
class Services:
    """The lookup use case and the helpers every surface shares.

    ``access`` decides who may look up (the middleware asks it on every request; the Home
    tab may ask it too), ``rate_limit`` counts each agent's lookups, and ``audit`` records
    every attempt: ``lookup`` writes its own rows, the middleware the refusals.
    """

    settings: Settings
    lookup: InvoiceLookup
    sealer: ContextSealer
    access: AccessPolicy
    rate_limit: SlidingWindowLimiter
    audit: AuditTrail
    ack_first: AckFirst = field(default_factory=AckFirst)

    @property
    def environment(self) -> RopoEnvironment:
        """Where the invoice data comes from."""
        return self.settings.ropo_environment

    @property
    def locale(self) -> str:
        """The locale amounts are formatted in."""
        return self.settings.locale

    async def start(self) -> None:
        """Start the background work: the access policy's directory of members.

        Call once the event loop runs (the web app's lifespan, Socket Mode's start-up).
        """
        await self.access.start()

    async def aclose(self) -> None:
        """Release what the services hold.

        The access directory stops refreshing, then the audit trail stores its queue and
        stops.
        """
        await self.access.aclose()
        await self.audit.aclose()
