"""What the listeners need, built once per process and handed to them explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import ContextSealer
from bot.lookup import InvoiceLookup
from bot.settings import RopoEnvironment, Settings


@dataclass(frozen=True, slots=True)
class Services:
    """The lookup use case and the helpers every surface shares."""

    settings: Settings
    lookup: InvoiceLookup
    sealer: ContextSealer

    @property
    def environment(self) -> RopoEnvironment:
        """Where the invoice data comes from."""
        return self.settings.ropo_environment

    @property
    def locale(self) -> str:
        """The locale amounts are formatted in."""
        return self.settings.locale
