"""The per-test log hygiene check (``log_hygiene`` in conftest.py) sees the log and can fail.

Every test of the run is checked after it ends; these tests pin that the check reads what
the test logged, through the app's real logging set-up at DEBUG, and that it fails on a
leak. Each stands alone: run this file alone, or any subset in any order.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.dev.slack_requests import slash_command_body
from bot.dev.slack_standin import Received
from tests.conftest import SIGNING_SECRET, LogHygiene, SlackPayloadScan, Stack, run_secrets
from tests.privacy import disguises

HETU = "131052-308T"


@pytest.mark.parametrize("typed", ["131052-308T", "131052\u2013308t", "1310\u200b52-308T"])
def test_a_lookup_and_its_raw_request_body_are_logged_with_the_code_masked(
    stack: Stack, log_hygiene: LogHygiene, slack_payload_scan: SlackPayloadScan, typed: str
) -> None:
    scanned = slack_payload_scan.scanned
    token, url = stack.response_url()
    body = slash_command_body(typed, url)

    response = stack.post(body)
    reply = stack.reply(token)
    # What a library logging whole requests at DEBUG would write: the form-encoded body.
    logging.getLogger("slack_bolt.AsyncApp").debug("request body: %s", body)

    assert response.status_code == 200
    assert "131052-****" in reply["text"]
    logged = log_hygiene.written()
    # Not vacuous: the app logged at DEBUG, the lookup was logged, and the body with its
    # (URL-encoded) code went through the app's own redacting set-up.
    assert "DEBUG slack_bolt" in logged
    assert "lookup R-" in logged
    assert "&text=131052" in logged
    assert slack_payload_scan.scanned > scanned  # the reply went through the scan
    log_hygiene.check()


def test_secrets_logged_by_mistake_are_masked(log_hygiene: LogHygiene) -> None:
    logger = logging.getLogger("slack_bolt.AsyncApp")
    for secret in run_secrets().values():
        logger.debug("configured with %s", secret)

    assert log_hygiene.written().count("configured with [redacted]") == len(run_secrets()) == 4
    log_hygiene.check()


def _log_file(tmp_path: Path, text: str) -> LogHygiene:
    path = tmp_path / "app.log"
    path.write_text("", encoding="utf-8")
    hygiene = LogHygiene(path)
    path.write_text(f"2026-11-29 12:00:00 DEBUG x: {text}\n", encoding="utf-8")
    return hygiene


@pytest.mark.parametrize("written", disguises(HETU)[::17])
def test_the_check_fails_on_a_code_in_the_log_in_any_disguise(tmp_path: Path, written: str) -> None:
    with pytest.raises(AssertionError, match=r"'131052-308T'.*readable in the app log"):
        _log_file(tmp_path, f"body text={written}").check()


def test_the_check_fails_on_a_secret_in_the_log(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="the signing secret in the app log"):
        _log_file(tmp_path, f"secret {SIGNING_SECRET}").check()


def test_the_check_passes_a_masked_code(tmp_path: Path) -> None:
    _log_file(tmp_path, "lookup of 131052-**** and 131052%E2%80%93****").check()


def test_the_slack_scan_reports_a_code_in_any_disguise() -> None:
    scan = SlackPayloadScan()
    for index, written in enumerate(disguises(HETU)):
        scan.scan(Received("response_url", f"r{index}", {"text": f"for {written}"}, {}))
    scan.scan(Received("api", "chat.postEphemeral", {"text": "for 131052-****"}, {}))

    assert scan.scanned == len(disguises(HETU)) + 1
    assert len(scan.leaks) == len(disguises(HETU))
    assert "chat.postEphemeral" not in " ".join(scan.leaks)
