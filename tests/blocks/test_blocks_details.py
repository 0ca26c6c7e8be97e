"""The details modal's builders: whole-view goldens, then what it must never show."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot import ids
from bot.blocks import render_details_loading, render_details_view
from bot.details import DetailsResult
from bot.lookup import FailureKind, LookupFailure
from bot.query import Identifier, IdentifierKind, Query
from bot.ropo import sandbox_data as sandbox
from bot.ropo.models import JobDetails
from bot.settings import RopoEnvironment
from tests.blocks.limits import check_limits

HETU = Identifier(IdentifierKind.HETU, sandbox.HETU_MANY_INVOICES)
LINK = "https://sandbox.myropo.example/invoice/9100004"
REFERENCE = "R-TEST01"

# Personal data Ropo sends with a job, which the modal must never show. Literal values, not
# the redactor's patterns: the oracle is independent of the code under test.
GOVID = "131052-308T"
ADDRESS = "Pakkahuoneenkatu 9 B 17"
CITY = "ROVANIEMI"
EXTRA_LINE = "c/o Marjatta Virtanen"
CUSTNUM = "CUST-778812"


def _job(**overrides: Any) -> dict[str, Any]:
    job = {
        "accountdate": "2026-11-02",
        "address": ADDRESS,
        "addressaddline1": EXTRA_LINE,
        "addressaddline2": "PL 43",
        "billcode": "91000048",
        "billnum": "SBX-10004",
        "city": CITY,
        "company": "",
        "country": "FIN",
        "currentpaydate": "2026-12-15",
        "currentstatus": 1,
        "currentstatustext": "Reminder",
        "custnum": CUSTNUM,
        "govid": GOVID,
        "jobid": 9100004,
        "nextstatus": 2,
        "nextstatusdate": "2027-01-15",
        "nextstatustext": "Debt collection",
        "origjobdate": "2026-11-01",
        "origjobtext": "Invoice",
        "person": "Marjatta Virtanen",  # an UNCONFIRMED later field: ignored too
    }
    return job | overrides


def _result(job: dict[str, Any] | None, environment: RopoEnvironment) -> DetailsResult:
    details = JobDetails.model_validate(job) if job is not None else None
    return DetailsResult(Query(HETU), 9100004, details, environment, REFERENCE)


@pytest.fixture(scope="module")
def views() -> dict[str, dict[str, Any]]:
    """Every golden details view by name."""
    sandbox_env = RopoEnvironment.SANDBOX
    failure = LookupFailure(Query(HETU), FailureKind.TIMEOUT, RopoEnvironment.PRODUCTION, REFERENCE)
    return {
        "details_loading": render_details_loading(sandbox_env, pushed=False),
        "details_loading_pushed": render_details_loading(sandbox_env, pushed=True),
        "details_reminder": render_details_view(
            _result(_job(), sandbox_env), my_ropo_link=LINK, pushed=False
        ),
        "details_pushed_no_next_step_no_link": render_details_view(
            _result(_job(nextstatus=-1, nextstatustext="", nextstatusdate=""), sandbox_env),
            my_ropo_link=None,
            pushed=True,
        ),
        "details_sparse": render_details_view(
            _result({"jobid": "9100004", "billnum": "<!here> *bold*"}, RopoEnvironment.TEST),
            my_ropo_link=None,
            pushed=False,
        ),
        "details_not_found": render_details_view(
            _result(None, sandbox_env), my_ropo_link=LINK, pushed=True
        ),
        "details_failure_timeout": render_details_view(failure, my_ropo_link=LINK, pushed=False),
    }


GOLDEN_CASES = [
    "details_loading",
    "details_loading_pushed",
    "details_reminder",
    "details_pushed_no_next_step_no_link",
    "details_sparse",
    "details_not_found",
    "details_failure_timeout",
]


def test_every_case_has_a_golden(views: dict[str, dict[str, Any]]) -> None:
    assert sorted(views) == sorted(GOLDEN_CASES)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_view_matches_golden(
    name: str, views: dict[str, dict[str, Any]], assert_golden: Callable[..., None]
) -> None:
    assert_golden(name, views[name])


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_view_is_valid_block_kit(name: str, views: dict[str, dict[str, Any]]) -> None:
    view = views[name]
    assert View(**view).to_dict() == view
    check_limits(view, max_blocks=100, require_text=False)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_nothing_personal_beyond_the_listed_fields(
    name: str, views: dict[str, dict[str, Any]]
) -> None:
    text = json.dumps(views[name], ensure_ascii=False)
    for personal in (GOVID, ADDRESS, CITY, EXTRA_LINE, "PL 43", CUSTNUM, "Virtanen"):
        assert personal not in text


def test_the_model_keeps_no_personal_field() -> None:
    details = JobDetails.model_validate(_job())
    dumped = json.dumps(details.model_dump(mode="json"))
    for personal in (GOVID, ADDRESS, CITY, EXTRA_LINE, CUSTNUM, "Virtanen"):
        assert personal not in dumped
    assert GOVID not in repr(details)


def test_shows_what_the_agent_is_asked_on_the_phone(views: dict[str, dict[str, Any]]) -> None:
    view = views["details_reminder"]
    text = json.dumps(view, ensure_ascii=False)
    assert view["callback_id"] == ids.VIEW_DETAILS
    assert "Reminder" in text
    assert "SBX-10004" in text
    # Dates are Slack tokens at noon UTC, each with a fallback in the agent's language.
    assert "<!date^1797336000^{date_short}|15 Dec 2026>" in text
    assert "<!date^1793534400^{date_short}|1 Nov 2026>" in text
    assert "Debt collection on <!date^1800014400^{date_short}|15 Jan 2027>" in text
    # The payment reference stands alone in a code block, to be copied in one click.
    (rich,) = [b for b in view["blocks"] if b["type"] == "rich_text"]
    assert rich["elements"][1] == {
        "type": "rich_text_preformatted",
        "elements": [{"type": "text", "text": "91000048"}],
    }
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in MyRopo", "emoji": True},
            "action_id": ids.ACTION_OPEN_MYROPO,
            "url": LINK,
        }
    ]


def test_no_next_step_when_nextstatus_is_minus_one(views: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(views["details_pushed_no_next_step_no_link"])
    assert "None scheduled" in text
    assert "Debt collection" not in text
    assert views["details_pushed_no_next_step_no_link"]["close"]["text"] == "Back"


def test_failure_reads_as_the_lookups_failure(views: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(views["details_failure_timeout"])
    assert "Ropo One is too slow right now" in text
    assert "Try again in a minute." in text
    assert REFERENCE in text
