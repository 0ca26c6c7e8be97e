"""Fixtures for the Block Kit builder tests: model factories, golden files, validation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.lookup import LookupResult, sort_invoices
from bot.query import Identifier, IdentifierKind, Query
from bot.ropo.models import Invoice
from bot.settings import RopoEnvironment
from tests import golden
from tests.blocks.limits import check_limits

REFERENCE = "R-TEST01"


@pytest.fixture(scope="session")
def assert_golden() -> Callable[[str, dict[str, Any]], None]:
    """Compare a whole payload to its golden file (see tests/golden.py)."""
    return golden.assert_golden


@pytest.fixture(scope="session")
def assert_valid() -> Callable[..., None]:
    """Check a payload with slack_sdk's models (exact round trip) and with ``check_limits``."""

    def check(payload: dict[str, Any], *, max_blocks: int = 50) -> None:
        check_limits(payload, max_blocks=max_blocks)
        for block in payload["blocks"]:
            parsed = Block.parse(block)
            assert parsed is not None, f"slack_sdk does not know this block: {block}"
            # to_dict() validates Slack's limits; equality proves no key was misspelt or lost.
            assert parsed.to_dict() == block

    return check


@pytest.fixture(scope="session")
def button_value() -> Callable[[int, bool], str]:
    """A stand-in for the sealer: readable, so goldens show which page each button asks for."""
    return lambda page, include_paid: f"ctx:{page}:{int(include_paid)}"


@pytest.fixture(scope="session")
def details_value() -> Callable[[Invoice], str]:
    """A stand-in for the sealer's Details value: readable, naming the invoice's case."""
    return lambda invoice: f"details:{invoice.case_number}"


@pytest.fixture(scope="session")
def make_result() -> Callable[..., LookupResult]:
    """Build a :class:`LookupResult` from job dicts (or invoices), sorted as lookup sorts."""

    def build(
        jobs: Iterable[dict[str, Any] | Invoice],
        *,
        identifier: Identifier | None = None,
        include_paid: bool = False,
        currency: str = "EUR",
        environment: RopoEnvironment = RopoEnvironment.SANDBOX,
        reference: str = REFERENCE,
    ) -> LookupResult:
        invoices = tuple(j if isinstance(j, Invoice) else Invoice.model_validate(j) for j in jobs)
        return LookupResult(
            query=Query(
                identifier or Identifier(IdentifierKind.HETU, "131052-308T"),
                include_paid=include_paid,
            ),
            invoices=sort_invoices(invoices),
            currency=currency,
            environment=environment,
            reference=reference,
        )

    return build
