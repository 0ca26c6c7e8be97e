"""bot/retry_after.py: HTTP's Retry-After, as Ropo One and Slack send it (RFC 9110, 10.2.3)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from bot.retry_after import parse_retry_after


def http_date(seconds_from_now: float) -> str:
    """An IMF-fixdate ``seconds_from_now`` away, as a server would write it."""
    return formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0", 0.0), ("7", 7.0), ("2.5", 2.5), (" 12 ", 12.0), ("-3", 0.0)],
)
def test_delay_seconds_are_read_and_a_negative_one_means_now(value: str, seconds: float) -> None:
    assert parse_retry_after(value, cap_s=30) == seconds


def test_delay_seconds_beyond_the_cap_are_capped() -> None:
    assert parse_retry_after("3600", cap_s=30) == 30.0


def test_an_http_date_in_the_future_is_the_seconds_until_then() -> None:
    seconds = parse_retry_after(http_date(20), cap_s=60)
    assert seconds is not None
    assert 15 <= seconds <= 20  # the date has whole seconds; the test may run a little late


def test_an_http_date_beyond_the_cap_is_capped() -> None:
    assert parse_retry_after(http_date(3600), cap_s=30) == 30.0


def test_an_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", cap_s=30) == 0.0


@pytest.fixture
def helsinki_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time two or three hours off GMT, as on a server in Finland."""
    monkeypatch.setenv("TZ", "Europe/Helsinki")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("helsinki_time")
def test_an_http_date_with_an_unknown_zone_is_read_as_gmt_not_local_time() -> None:
    gmt = http_date(20)
    seconds = parse_retry_after(gmt.replace("GMT", "-0000"), cap_s=60)
    assert seconds is not None
    assert 15 <= seconds <= 20


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "Infinity", "1e999"])
def test_nan_and_infinity_are_refused(value: str) -> None:
    assert parse_retry_after(value, cap_s=30) is None


@pytest.mark.parametrize(
    "value",
    [None, "", "soon", "1 minute", "0x10", "Wed, 32 Oct 2015 07:28:00 GMT", "Mon, 99 Foo"],
)
def test_junk_and_absence_say_nothing(value: str | None) -> None:
    assert parse_retry_after(value, cap_s=30) is None
