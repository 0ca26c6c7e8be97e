"""Sealed button context: a Details button's job id and link travel sealed and come back."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_value_opens_for_its_lifetime_and_not_after() -> None:
    clock = Clock()
    sealer = ContextSealer(b"secret" * 8, ttl_s=3600, clock=clock)
    sealed = sealer.seal(LookupContext(QUERY, page=3))
    clock.now += 3600
    assert sealer.open(sealed) == LookupContext(QUERY, page=3)
    clock.now += 1
    with pytest.raises(ContextError):
        sealer.open(sealed)


def test_a_value_from_too_far_in_the_future_does_not_open() -> None:
    clock = Clock()
    sealed = ContextSealer(b"secret" * 8, clock=clock).seal(LookupContext(QUERY))
    clock.now -= 120  # another instance's clock is two minutes ahead of this one
    with pytest.raises(ContextError):
        ContextSealer(b"secret" * 8, clock=clock).open(sealed)


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1])
def test_a_value_changed_anywhere_does_not_open(position: int) -> None:
    sealer = ContextSealer(b"secret" * 8)
    raw = bytearray(base64.urlsafe_b64decode(sealer.seal(LookupContext(QUERY)) + "=="))
    raw[position] ^= 0x01
    with pytest.raises(ContextError):
        sealer.open(base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))


@pytest.mark.parametrize("garbage", ["", "x", "!!!", "AQ", "gAAAAA", "a" * 3000])
def test_garbage_does_not_open(garbage: str) -> None:
    with pytest.raises(ContextError):
        ContextSealer(b"secret" * 8).open(garbage)


def test_a_value_sealed_by_the_previous_version_still_opens_until_it_expires() -> None:
    # What version 1 (Fernet, its own HKDF label) put in the buttons of replies on screen.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ropo-invoices-bot/context/v1"
    ).derive(b"secret" * 8)
    legacy = (
        Fernet(base64.urlsafe_b64encode(key))
        .encrypt(json.dumps({"k": "hetu", "v": HETU, "a": 1, "p": 2}).encode())
        .decode()
    )
    assert ContextSealer(b"secret" * 8).open(legacy) == LookupContext(QUERY, page=2)
    with pytest.raises(ContextError):
        ContextSealer(b"other!" * 8).open(legacy)
