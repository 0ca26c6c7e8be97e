"""What the agent typed -> a question for Ropo One, or a typed refusal. No Slack, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.redact import mask_hetu


class IdentifierKind(StrEnum):
    """Which Ropo field an identifier goes into."""

    HETU = "hetu"  # sent as ``ssn``
    CUSTOMER_NUMBER = "custnum"  # sent as ``custnum``


@dataclass(frozen=True, slots=True)
class Identifier:
    """A validated identifier. Its ``repr`` is masked, so logging one by mistake leaks nothing."""

    kind: IdentifierKind
    value: str = field(repr=False)

    @property
    def display(self) -> str:
        """What may be shown to an agent: a masked HETU, or the customer number as is."""
        return mask_hetu(self.value) if self.kind is IdentifierKind.HETU else self.value

    def __repr__(self) -> str:
        return f"Identifier({self.kind.value}, {self.display!r})"


@dataclass(frozen=True, slots=True)
class Query:
    """One lookup: who, and whether paid invoices are wanted too."""

    identifier: Identifier
    include_paid: bool = False


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """The agent typed nothing, or ``help``."""


class RefusalReason(StrEnum):
    """Why an input cannot be looked up."""

    INVALID_HETU = "invalid_hetu"  # HETU-shaped but fails validation (checksum, date, ...)
    UNUSABLE = "unusable"  # neither a HETU nor an acceptable customer number
    TOO_MANY_WORDS = "too_many_words"  # extra words that are not a known flag


@dataclass(frozen=True, slots=True)
class Refusal:
    """A typed refusal with an agent-facing explanation that never contains a full HETU."""

    reason: RefusalReason
    message: str
