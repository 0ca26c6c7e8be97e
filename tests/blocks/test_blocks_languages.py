"""Every surface in every language: goldens per language, and Slack's limits whatever the text.

The English goldens are in the other test modules; these pin the Finnish, Swedish and
Norwegian ones (texts, amounts, dates) for the main reply, the help and the Home tab, a
refusal and a failure, and an invoice's details modal. A translation change shows up here as
a diff to read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks import (
    NOTHING_FOUND_NOTICE,
    render_choose_identifier,
    render_details_loading,
    render_details_view,
    render_failure,
    render_help,
    render_home,
    render_invoice_list,
    render_lookup_form,
    render_refusal,
)
from bot.details import DetailsResult
from bot.i18n import current_locale, use_language
from bot.lookup import FailureKind, LookupFailure, LookupResult
from bot.national_ids import Country
from bot.query import Identifier, IdentifierKind, Query, Refusal, RefusalReason, parse_command
from bot.ropo import sandbox_data as sandbox
from bot.ropo.models import JobDetails
from bot.settings import RopoEnvironment
from tests.blocks.limits import check_limits

TRANSLATED = ["fi", "sv", "nb"]
LANGUAGES = ["en", *TRANSLATED]
HETU = Identifier(IdentifierKind.HETU, sandbox.HETU_MANY_INVOICES)
MYROPO_LINK = "https://sandbox.myropo.example/invoice/9100004"

# One job's details as Ropo One sends them, with statuses MyRopo names (so translated).
REMINDER_JOB = {
    "jobid": 9100004,
    "billnum": "SBX-10004",
    "billcode": "91000048",
    "currentpaydate": "2026-12-15",
    "currentstatus": 1,
    "currentstatustext": "Reminder",
    "nextstatus": 2,
    "nextstatustext": "Collection",
    "nextstatusdate": "2027-01-15",
    "origjobdate": "2026-11-01",
}


def _details(job: dict[str, Any] | None) -> DetailsResult:
    details = JobDetails.model_validate(job) if job is not None else None
    return DetailsResult(Query(HETU), 9100004, details, RopoEnvironment.SANDBOX, "R-7K2QF9")


def _payloads(
    make_result: Callable[..., LookupResult], button_value: Callable[[int, bool], str]
) -> dict[str, dict[str, Any]]:
    """The golden cases, rendered in the current language (as a request would set it)."""
    many = sandbox.CUSTOMERS_BY_SSN[sandbox.HETU_MANY_INVOICES]
    large = sandbox.CUSTOMERS_BY_CUSTNUM[sandbox.CUSTNUM_LARGE]
    locale = current_locale()
    refused = parse_command("131052-308X")
    assert isinstance(refused, Refusal)
    return {
        "list_hetu_all_statuses": render_invoice_list(
            make_result(many.matching_jobs(include_paid=True), include_paid=True),
            page=0,
            button_value=button_value,
            locale=locale,
        ),
        "list_large_page2": render_invoice_list(
            make_result(
                large.matching_jobs(include_paid=False),
                identifier=Identifier(IdentifierKind.CUSTOMER_NUMBER, sandbox.CUSTNUM_LARGE),
            ),
            page=1,
            button_value=button_value,
            locale=locale,
        ),
        "help": render_help(RopoEnvironment.SANDBOX),
        "home_allowed": render_home(RopoEnvironment.PRODUCTION),
        "modal_lookup_form": render_lookup_form(RopoEnvironment.PRODUCTION),
        "refusal_invalid_hetu": render_refusal(refused, RopoEnvironment.PRODUCTION),
        "failure_unavailable": render_failure(
            LookupFailure(
                Query(HETU), FailureKind.UNAVAILABLE, RopoEnvironment.PRODUCTION, "R-7K2QF9"
            )
        ),
        "details_loading_pushed": render_details_loading(RopoEnvironment.SANDBOX, pushed=True),
        "details_reminder": render_details_view(
            _details(REMINDER_JOB), my_ropo_link=MYROPO_LINK, pushed=False
        ),
        "details_no_next_step": render_details_view(
            _details(REMINDER_JOB | {"nextstatus": -1, "billcode": None}),
            my_ropo_link=None,
            pushed=True,
        ),
        "details_not_found": render_details_view(
            _details(None), my_ropo_link=MYROPO_LINK, pushed=True
        ),
    }


CASES = [
    "list_hetu_all_statuses",
    "list_large_page2",
    "help",
    "home_allowed",
    "modal_lookup_form",
    "refusal_invalid_hetu",
    "failure_unavailable",
    "details_loading_pushed",
    "details_reminder",
    "details_no_next_step",
    "details_not_found",
]


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("name", CASES)
def test_payload_matches_golden_in_each_language(
    language: str,
    name: str,
    make_result: Callable[..., LookupResult],
    button_value: Callable[[int, bool], str],
    assert_golden: Callable[..., None],
) -> None:
    with use_language(language):
        payload = _payloads(make_result, button_value)[name]
    assert_golden(f"{name}_{language}", payload)


@pytest.mark.parametrize(("retry_in_s", "name"), [(240.0, "minutes"), (33.0, "seconds")])
def test_the_circuit_open_failure_says_when_in_finnish(
    retry_in_s: float, name: str, assert_golden: Callable[..., None]
) -> None:
    failure = LookupFailure(
        Query(HETU), FailureKind.CIRCUIT_OPEN, RopoEnvironment.PRODUCTION, "R-7K2QF9", retry_in_s
    )
    with use_language("fi"):
        payload = render_failure(failure)
    assert_golden(f"failure_circuit_open_{name}_fi", payload)


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translated_reply_has_no_english_left(
    language: str,
    make_result: Callable[..., LookupResult],
    button_value: Callable[[int, bool], str],
) -> None:
    with use_language(language):
        payloads = _payloads(make_result, button_value)
    with use_language("en"):
        english = _payloads(make_result, button_value)
    # Words only the English texts use: none may survive in a translated payload.
    for word in (
        "Previous",
        "Next",
        "invoiced",
        "Reference",
        "Only you can see",
        "open in total",
        "Refresh",
        "Invoice details",
        "Payment reference",
        "Due date",
        "Next step",
        "Reminder",
        "None scheduled",
        "Loading",
        "no longer has",
        "Back",
    ):
        assert any(word in str(p) for p in english.values()), word  # the oracle sees it...
        assert not any(word in str(p) for p in payloads.values()), (language, word)  # ...here not


def test_amounts_and_dates_follow_the_language(
    make_result: Callable[..., LookupResult], button_value: Callable[[int, bool], str]
) -> None:
    result = make_result(
        [
            {
                "invoice_number": "1",
                "status": "due",
                "open_amount": "1234.5",
                "original_invoice_date": "2026-01-15",
            }
        ]
    )
    texts = {}
    for language in LANGUAGES:
        with use_language(language, "FI"):
            payload = render_invoice_list(
                result, page=0, button_value=button_value, locale=current_locale()
            )
        texts[language] = payload["blocks"][2]["text"]["text"]
    assert "*1\u00a0234,50\u00a0€* open" in texts["en"]
    assert "|15 Jan 2026>" in texts["en"]
    assert "avoinna *1\u00a0234,50\u00a0€*" in texts["fi"]
    assert "|15.1.2026>" in texts["fi"]
    assert "*1\u00a0234,50\u00a0€* öppet" in texts["sv"]  # sv_FI
    assert "|15 jan. 2026>" in texts["sv"]
    assert "*1\u00a0234,50\u00a0€* åpent" in texts["nb"]  # nb_NO: no Norwegian data for Finland
    assert "|15. jan. 2026>" in texts["nb"]


# --- Slack's limits, in every language ---------------------------------------------------

amounts = st.one_of(
    st.none(), st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False)
)
long_text = st.one_of(st.text(max_size=40), st.builds(lambda n: "&" * n, st.integers(0, 2000)))
invoices = st.fixed_dictionaries(
    {
        "case_number": st.one_of(st.none(), st.integers(0, 10**18)),
        "invoice_number": st.one_of(st.none(), long_text),
        "original_invoice_date": st.one_of(st.none(), st.dates().map(str)),
        "status": st.sampled_from(
            ["collection", "reminder", "due", "invoicing", "paid", "disputed"]
        ),
        "open_amount": amounts.map(lambda a: None if a is None else str(a)),
        "group_job": st.booleans(),
        "group_invoice_numbers": st.builds(lambda n, s: [s] * n, st.integers(0, 500), long_text),
        "group_total_payable": amounts.map(lambda a: None if a is None else str(a)),
    }
)


@settings(max_examples=120, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    jobs=st.lists(invoices, max_size=4),
    repeat=st.integers(1, 80),
    page=st.integers(-1, 20),
    include_paid=st.booleans(),
    customer=st.one_of(long_text.filter(bool), st.just("C-1001")),
)
def test_any_reply_in_any_language_is_valid_block_kit(
    language: str,
    jobs: list[dict[str, Any]],
    repeat: int,
    page: int,
    include_paid: bool,
    customer: str,
    make_result: Callable[..., LookupResult],
    button_value: Callable[[int, bool], str],
    assert_valid: Callable[..., None],
) -> None:
    result = make_result(
        jobs * repeat,
        identifier=Identifier(IdentifierKind.CUSTOMER_NUMBER, customer),
        include_paid=include_paid,
        currency="EUR",
    )
    with use_language(language):
        payload = render_invoice_list(
            result, page=page, button_value=button_value, locale=current_locale()
        )
        failure = render_failure(
            LookupFailure(Query(HETU), FailureKind.PROTOCOL, RopoEnvironment.CUSTOM, "R-1")
        )
        help_ = render_help(RopoEnvironment.SANDBOX)
    for message in (payload, failure, help_):
        assert_valid(message)


@settings(max_examples=60, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    reason=st.sampled_from(RefusalReason),
    text=st.one_of(long_text, st.text(min_size=1, max_size=5000)),
    country=st.sampled_from(Country),
    chosen=st.integers(2, 60),
)
def test_any_refusal_form_home_and_chooser_in_any_language_is_valid(
    language: str,
    reason: RefusalReason,
    text: str,
    country: Country,
    chosen: int,
    assert_valid: Callable[..., None],
) -> None:
    identifiers = [Identifier(IdentifierKind.CUSTOMER_NUMBER, f"C-{i}") for i in range(chosen)]
    with use_language(language):
        refusal = render_refusal(Refusal(reason, text), RopoEnvironment.PRODUCTION, country)
        views = [
            render_home(RopoEnvironment.CUSTOM, country=country, language_not_saved=True),
            render_home(RopoEnvironment.CUSTOM, allowed=False),
            render_lookup_form(
                RopoEnvironment.CUSTOM, notice=NOTHING_FOUND_NOTICE, country=country
            ),
            render_choose_identifier(
                identifiers, button_value=str, environment=RopoEnvironment.SANDBOX
            ),
        ]
    assert_valid(refusal)
    for view in views:
        check_limits(view, max_blocks=100, require_text=False)
        if view["type"] == "modal":
            assert len(view["title"]["text"]) <= 24


@settings(max_examples=60, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    number=st.one_of(st.none(), long_text),
    reference=st.one_of(st.none(), long_text, st.text(min_size=1, max_size=3000)),
    status=st.one_of(st.none(), st.sampled_from(["Reminder", "collection", "Paid"]), long_text),
    next_status=st.one_of(st.none(), st.sampled_from(["Collection", "Due"]), long_text),
    next_date=st.one_of(st.none(), st.dates().map(str)),
    link=st.one_of(
        st.none(),
        st.just(MYROPO_LINK),
        st.builds(lambda n: MYROPO_LINK + "x" * n, st.integers(0, 3000)),
    ),
    pushed=st.booleans(),
)
def test_any_details_modal_in_any_language_is_valid_block_kit(
    language: str,
    number: str | None,
    reference: str | None,
    status: str | None,
    next_status: str | None,
    next_date: str | None,
    link: str | None,
    pushed: bool,
) -> None:
    job = {
        "jobid": 9100004,
        "billnum": number,
        "billcode": reference,
        "currentstatustext": status,
        "nextstatus": 2,
        "nextstatustext": next_status,
        "nextstatusdate": next_date,
    }
    with use_language(language):
        views = [
            render_details_loading(RopoEnvironment.CUSTOM, pushed=pushed),
            render_details_view(_details(job), my_ropo_link=link, pushed=pushed),
            render_details_view(_details(None), my_ropo_link=link, pushed=pushed),
            render_details_view(
                LookupFailure(
                    Query(HETU), FailureKind.CIRCUIT_OPEN, RopoEnvironment.CUSTOM, "R-1", 10**6
                ),
                my_ropo_link=link,
                pushed=pushed,
            ),
        ]
    for view in views:
        check_limits(view, max_blocks=100, require_text=False)
        assert 0 < len(view["title"]["text"]) <= 24
        assert 0 < len(view["close"]["text"]) <= 24
