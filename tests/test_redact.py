"""Identity codes and secrets are masked in any text, and in every part of a log record."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.query import Identifier, IdentifierKind, parse_identifier
from bot.redact import HETU_SHAPE, RedactingFilter, mask_hetu, redact
from tests.privacy import (
    assert_no_identity_code,
    codes_the_tests_use,
    disguises,
    identity_codes_in,
    plain_disguises,
)

HETU = "131052-308T"
MASKED = "131052-****"
CENTURY_SIGNS = "+-ABCDEFUVWXY"


def test_a_hetu_is_masked_to_its_birth_date_and_century_sign() -> None:
    assert redact(HETU) == MASKED
    assert mask_hetu(HETU) == MASKED


@pytest.mark.parametrize("sign", CENTURY_SIGNS + CENTURY_SIGNS.lower().replace("-", ""))
def test_every_century_sign_is_masked(sign: str) -> None:
    assert redact(f"id 010105{sign}123A here") == f"id 010105{sign.upper()}**** here"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('{"ssn": "131052-308T", "all_invoices": 1}', '{"ssn": "131052-****", "all_invoices": 1}'),
        (
            "https://x.example/find?ssn=131052-308T&all=1",
            "https://x.example/find?ssn=131052-****&all=1",
        ),
        ("/customers/131052-308T/invoices", "/customers/131052-****/invoices"),
        ("131052-308t", "131052-****"),
        ("100190y999p", "100190Y****"),
        ("a: 131052-308T, b: 100190Y999P.", "a: 131052-****, b: 100190Y****."),
        ("(131052-308T)", "(131052-****)"),
        ("131052-999X", "131052-****"),  # invalid checksum: still HETU-shaped, still masked
    ],
)
def test_hetus_are_masked_wherever_they_appear(text: str, masked: str) -> None:
    assert redact(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "SBX-10001",
        "invoice 9100001 of 412.80 EUR",
        "C-1001",
        "2025-01-31T10:00:00",
    ],
)
def test_text_that_is_not_hetu_shaped_is_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("token xoxb-1234-5678-abcdefABCDEF", "token [redacted]"),
        ("xoxp-1234-5678-abcdef in a URL", "[redacted] in a URL"),
        ("app token=xapp-1-A0123-456-abcdef", "app token=[redacted]"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
            "Authorization: Bearer [redacted]",
        ),
        ("{'authorization': 'Bearer abc.def-ghi_jkl'}", "{'authorization': 'Bearer [redacted]'}"),
    ],
)
def test_slack_tokens_and_bearer_tokens_are_masked(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_the_hetu_pattern_is_case_insensitive_and_unanchored() -> None:
    found = [m.group(0) for m in HETU_SHAPE.finditer('{"a":"131052-308t","b":"010101A900R"}')]

    assert found == ["131052-308t", "010101A900R"]


@pytest.fixture
def redacted_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler formats through a RedactingFilter into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(("apicode-literal-42", "abc")))
    logger = logging.getLogger("tests.redact.isolated")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_the_filter_masks_a_hetu_passed_as_an_argument(
    redacted_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacted_logger

    logger.info("looking up %s for %s", HETU, "agent U1")

    assert stream.getvalue() == f"INFO looking up {MASKED} for agent U1\n"


def test_the_filter_rewrites_the_record_for_every_later_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ssn=%s", (HETU,), None)

    assert RedactingFilter().filter(record) is True
    assert record.msg == f"ssn={MASKED}"
    assert record.args is None
    assert record.getMessage() == f"ssn={MASKED}"


def test_the_filter_masks_an_exceptions_traceback(
    redacted_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacted_logger

    try:
        raise ValueError(f"no customer {HETU}")
    except ValueError:
        logger.exception("lookup of %s failed", HETU)

    output = stream.getvalue()
    assert output.startswith(f"ERROR lookup of {MASKED} failed\nTraceback (most recent call last):")
    assert output.endswith(f"ValueError: no customer {MASKED}\n")
    assert_no_identity_code(output, [HETU])


def test_the_filter_masks_stack_info(redacted_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = redacted_logger

    # The stack shows this source line, literal identity code and all.
    logger.warning("where am I", stack_info=True, extra={"ssn": "131052-308T"})

    output = stream.getvalue()
    assert "Stack (most recent call last):" in output
    assert 'extra={"ssn": "131052-****"}' in output
    assert_no_identity_code(output, [HETU])


def test_the_filter_masks_literal_secrets_it_was_given(
    redacted_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacted_logger

    logger.info("login with %s", "apicode-literal-42")

    assert stream.getvalue() == "INFO login with [redacted]\n"


def test_secrets_shorter_than_four_characters_are_not_masked(
    redacted_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacted_logger

    logger.info("abc is a tabcd")

    assert stream.getvalue() == "INFO abc is a tabcd\n"


def test_the_filter_masks_tokens_in_messages(
    redacted_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacted_logger

    logger.debug("headers %s", {"Authorization": "Bearer eyJhbGciOi.payload.sig"})
    logger.debug("slack said %s", "xoxb-1234-5678-abcdef")

    assert stream.getvalue() == (
        "DEBUG headers {'Authorization': 'Bearer [redacted]'}\nDEBUG slack said [redacted]\n"
    )


def test_a_broken_format_string_keeps_the_record_and_still_masks(
    redacted_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacted_logger

    logger.info("id %d", HETU)

    assert stream.getvalue() == f"INFO 'id %d' ('{MASKED}',)\n"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("FI131052-308T", "FI131052-****"),  # glued to letters: still a person's code
        ("0131052-308T", "0131052-****"),
        ("131052\u2013308T", "131052\u2013****"),  # autocorrect's en dash
        ("131052\u2212308T", "131052\u2212****"),  # the minus sign
        ("text=010101%2B123X&user=U1", "text=010101%2B****&user=U1"),  # a form body's "+"
        ("131052-30\u200b8T", "131052-****"),  # a zero-width space pasted along
    ],
)
def test_codes_the_parser_accepts_are_masked_in_every_disguise(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_a_customer_number_with_a_code_inside_is_refused_not_shown() -> None:
    from bot.query import Refusal, parse_command

    for text in ("FI131052-308T", "A131052-308T", "0131052-308T"):
        assert isinstance(parse_command(text), Refusal)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("text=131052%2D308T&user=U1", "text=131052%2D****&user=U1"),  # a forced-encoded "-"
        ("131052%2d308t", "131052%2d****"),
        ('{"text": "131052\\u2013308T"}', '{"text": "131052\\u2013****"}'),  # JSON's en dash
        ("131052\\u002d308T", "131052\\u002d****"),
        ("131052\uff0d308T", "131052\uff0d****"),  # the full-width hyphen
        ("131%E2%80%8B052-308T", "131052-****"),  # an encoded zero-width space
        ("13105\\u200b2-308T", "131052-****"),  # ... and an escaped one
        (
            "payload=%7B%22v%22%3A%22131052%5Cu2013308T%22%7D",
            "payload=%7B%22v%22%3A%22131052%5Cu2013****%22%7D",
        ),
    ],
)
def test_encoded_and_escaped_codes_are_masked_keeping_what_is_shown(text: str, masked: str) -> None:
    assert redact(text) == masked


@pytest.mark.parametrize("code", codes_the_tests_use())
def test_no_disguise_of_a_code_the_tests_use_survives_redaction(code: str) -> None:
    written = disguises(code)
    assert len(written) > 20  # not vacuous: the oracle reads each of them as the code
    assert all(identity_codes_in(text, [code]) == [code] for text in written)

    survived = [text for text in written if identity_codes_in(redact(text), [code])]

    assert survived == []


@pytest.mark.parametrize("code", ["131052-308T", "010101A900R", "100190Y999P", "290200A901C"])
def test_every_plain_disguise_is_read_by_the_parser_as_the_code_itself(code: str) -> None:
    """The disguises are the parser's: each would reach Ropo One as this very person's code."""
    expected = Identifier(IdentifierKind.HETU, code)

    assert {text: parse_identifier(text) for text in plain_disguises(code)} == dict.fromkeys(
        plain_disguises(code), expected
    )
