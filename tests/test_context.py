"""Sealed button context: a Details button's job id and link travel sealed and come back."""

from __future__ import annotations

import pytest

from bot.query import Identifier, IdentifierKind, Query
from bot.slack.context import MAX_SEALED_LINK, ContextError, ContextSealer, LookupContext

HETU = "131052-308T"
QUERY = Query(Identifier(IdentifierKind.HETU, HETU), include_paid=True)
LINK = "https://sandbox.myropo.example/invoice/9100004"


def test_a_details_context_round_trips_and_shows_nothing_readable() -> None:
    sealer = ContextSealer(b"secret" * 8)
    sealed = sealer.seal(LookupContext(QUERY, page=2, job_id=9100004, my_ropo_link=LINK))
    for readable in (HETU, "308T", "9100004", "myropo"):
        assert readable not in sealed
    assert sealer.open(sealed) == LookupContext(QUERY, page=2, job_id=9100004, my_ropo_link=LINK)


def test_a_paging_context_has_no_job() -> None:
    sealer = ContextSealer(b"secret" * 8)
    assert sealer.open(sealer.seal(LookupContext(QUERY, page=1))) == LookupContext(QUERY, 1)


def test_a_link_too_long_to_seal_is_left_out_and_the_value_fits_a_button() -> None:
    sealer = ContextSealer(b"secret" * 8)
    longest = "https://" + "x" * (MAX_SEALED_LINK - 8)
    kept = sealer.seal(LookupContext(QUERY, job_id=1, my_ropo_link=longest))
    dropped = sealer.seal(LookupContext(QUERY, job_id=1, my_ropo_link=longest + "x"))
    assert len(kept) <= 2000  # Slack's limit for a button value
    assert sealer.open(kept).my_ropo_link == longest
    assert sealer.open(dropped) == LookupContext(QUERY, job_id=1)


def test_another_apps_seal_does_not_open() -> None:
    sealed = ContextSealer(b"secret" * 8).seal(LookupContext(QUERY, job_id=1))
    with pytest.raises(ContextError):
        ContextSealer(b"other!" * 8).open(sealed)
