"""Runs last (by name): nothing the whole test run logged or sent Slack holds an identity code."""

from __future__ import annotations

from bot.redact import HETU_SHAPE
from tests.conftest import SlackPayloadScan, app_log


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


def test_nothing_any_slack_stand_in_received_in_the_whole_run_holds_a_full_hetu(
    slack_payload_scan: SlackPayloadScan,
):
    # Not vacuous: the run sent Slack replies, modals and refusals for HETU lookups.
    assert slack_payload_scan.scanned > 100
    assert slack_payload_scan.leaks == [], "a readable HETU reached Slack"


def test_no_audit_key_in_the_app_log_of_the_whole_run():
    from tests.conftest import AUDIT_KEY

    assert AUDIT_KEY not in app_log().read_text(encoding="utf-8")
