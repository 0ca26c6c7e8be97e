"""No Swedish or Norwegian identity code in any log line, while other numbers stay readable.

The records go through the run's real logging set-up (``configure_logging`` at DEBUG, see
conftest.py) into the run's app log file, read back here. The oracle is the literal codes
written in this file and the codes the strategies build, never the redactor's own regex.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings

from bot.national_ids import Country
from bot.query import Identifier, IdentifierKind, parse_identifier
from bot.redact import redact
from tests.conftest import app_log
from tests.national_id_strategies import fodselsnummer, personnummer_written

# (written, what the log may show instead)
CODES = [
    ("811228-9841", "811228-****"),
    ("8112289841", "811228****"),
    ("198112289841", "19811228****"),
    ("19811228-9841", "19811228-****"),
    ("701063-2391", "701063-****"),  # a samordningsnummer
    ("15108695088", "151086*****"),
    ("41018036736", "410180*****"),  # a D-number
    ("12046049371", "120460*****"),  # an H-number
]
# Numbers of the same shapes that fail the check: a log must keep them readable.
LOOK_ALIKES = [
    "20261129171754",  # a timestamp, 14 digits
    "1732900000",  # epoch seconds
    "8112289843",  # a personnummer's shape, wrong check digit
    "15108695077",  # a fødselsnummer's shape, wrong check digits
    "12345678901",  # an order number
    "9100601",  # a Ropo case number
]


def written_since(start: int) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    with app_log().open(encoding="utf-8") as log:
        log.seek(start)
        return log.read()


@pytest.mark.parametrize(("code", "masked"), CODES)
def test_a_code_is_masked_in_message_args_exception_and_stack(code: str, masked: str) -> None:
    logger = logging.getLogger("slack_bolt.AsyncApp")
    start = app_log().stat().st_size
    logger.debug(f"message {code}")  # noqa: G004 - already formatted, as careless code does
    logger.debug("args %s %r", code, {"ssn": code})
    try:
        raise ValueError(f"bad customer {code}")
    except ValueError:
        logger.exception("exception for %s", "someone")
    logger.debug("stack of %s", code, stack_info=True)
    text = written_since(start)
    assert f"message {masked}" in text
    assert f"args {masked} {{'ssn': '{masked}'}}" in text
    assert f"ValueError: bad customer {masked}" in text
    assert f"stack of {masked}\nStack (most recent call last):" in text
    assert code not in text


def test_numbers_that_fail_the_check_stay_readable_in_the_log() -> None:
    logger = logging.getLogger("bot.lookup")
    start = app_log().stat().st_size
    for number in LOOK_ALIKES:
        logger.info("order %s done", number)
    text = written_since(start)
    for number in LOOK_ALIKES:
        assert f"order {number} done" in text


@settings(max_examples=50)
@given(personnummer_written())
def test_any_generated_personnummer_is_kept_out_of_the_log(case: tuple[str, str]) -> None:
    written, canonical = case
    start = app_log().stat().st_size
    logging.getLogger("httpx").debug('POST body {"ssn": "%s"} (%s)', written, canonical)
    text = written_since(start)
    assert written not in text
    assert canonical not in text


@settings(max_examples=50)
@given(fodselsnummer())
def test_any_generated_fodselsnummer_is_kept_out_of_the_log(code: str) -> None:
    start = app_log().stat().st_size
    logging.getLogger("httpx").debug('POST body {"ssn": "%s"}', code)
    assert code not in written_since(start)


@pytest.mark.parametrize(
    ("text", "country", "kind"),
    [
        ("811228-9841", Country.SE, IdentifierKind.PERSONNUMMER),
        ("15108695088", Country.NO, IdentifierKind.FODSELSNUMMER),
    ],
)
def test_an_identifier_logged_by_mistake_shows_only_the_birth_date(
    text: str, country: Country, kind: IdentifierKind
) -> None:
    identifier = parse_identifier(text, country)
    assert isinstance(identifier, Identifier)
    assert identifier.kind is kind
    shown = f"{identifier!r} {identifier.display} {redact(repr(identifier))}"
    assert text not in shown
    assert identifier.value not in shown
