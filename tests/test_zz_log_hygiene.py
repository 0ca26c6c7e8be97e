"""Runs last (by name): the app's log output of the whole test run holds no identity code."""

from __future__ import annotations

from bot.redact import HETU_SHAPE
from tests.conftest import app_log


def test_no_full_hetu_in_the_app_log_of_the_whole_run():
    log = app_log().read_text(encoding="utf-8")
    # Not vacuous: the run did log, at DEBUG, including request payloads with masked codes.
    assert "lookup R-" in log
    assert "131052-****" in log
    leaks = [line for line in log.splitlines() if HETU_SHAPE.search(line)]
    assert leaks == [], f"{len(leaks)} log lines contain a full HETU"


def test_no_secret_in_the_app_log_of_the_whole_run():
    from tests.conftest import BOT_TOKEN, SIGNING_SECRET

    log = app_log().read_text(encoding="utf-8")
    assert BOT_TOKEN not in log
    assert SIGNING_SECRET not in log
    assert "sandbox-apicode" not in log
