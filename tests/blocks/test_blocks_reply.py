"""The /invoices reply builders: whole-payload goldens, then the behaviours they must keep."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from bot import ids
from bot.blocks import (
    STATUS_LEGEND,
    render_expired_context,
    render_failure,
    render_help,
    render_invoice_list,
    render_refusal,
    render_unexpected_error,
    with_lookup_another,
)
from bot.lookup import FailureKind, LookupFailure, LookupResult
from bot.query import Identifier, IdentifierKind, Query, Refusal, RefusalReason
from bot.ropo import sandbox_data as sandbox
from bot.ropo.models import Invoice
from bot.settings import RopoEnvironment
from tests.blocks.limits import MAX_BUTTON_VALUE
from tests.privacy import assert_no_identity_code

LOCALE = "en_FI"
HETU = Identifier(IdentifierKind.HETU, sandbox.HETU_MANY_INVOICES)

REFUSALS = {
    RefusalReason.INVALID_HETU: "The check character of 131052-**** does not match the rest "
    "of the code.",
    RefusalReason.UNUSABLE: "“asiakas 12?” is neither a HETU nor a customer number.",
    RefusalReason.TOO_MANY_WORDS: "Expected one identifier and optionally “all”, got 3 words.",
    RefusalReason.INVALID_CODE: "811228-**** isn't a valid personnummer. The check digit "
    "doesn't match: the code may be mistyped.",
    RefusalReason.FOREIGN_CODE: "That looks like a Swedish personnummer; this app is connected "
    "to Ropo One Finland, so it looks up Finnish identity codes (HETU) and customer numbers.",
}

SPARSE_JOBS = [
    # Everything Ropo may leave out, and a status newer than this code.
    {"status": "disputed", "open_amount": "12.5"},
    {
        "invoice_number": "A&B <1>",
        "status": "reminder",
        "open_amount": "1000000",
        "group_job": 1,
        "my_ropo_link": "https://sandbox.myropo.example/invoice/x",
    },
]


def _jobs(customer: sandbox.SandboxCustomer, *, include_paid: bool) -> list[dict[str, Any]]:
    return customer.matching_jobs(include_paid=include_paid)


def _custnum(value: str) -> Identifier:
    return Identifier(IdentifierKind.CUSTOMER_NUMBER, value)


@pytest.fixture(scope="module")
def payloads(
    make_result: Callable[..., LookupResult],
    button_value: Callable[[int, bool], str],
    details_value: Callable[[Invoice], str],
) -> dict[str, dict[str, Any]]:
    """Every golden case by name: the representative replies an agent can get."""

    def invoice_list(result: LookupResult, page: int = 0) -> dict[str, Any]:
        return render_invoice_list(
            result,
            page=page,
            button_value=button_value,
            locale=LOCALE,
            details_value=details_value,
        )

    many = sandbox.CUSTOMERS_BY_SSN[sandbox.HETU_MANY_INVOICES]
    large = make_result(
        _jobs(sandbox.CUSTOMERS_BY_CUSTNUM[sandbox.CUSTNUM_LARGE], include_paid=False),
        identifier=_custnum(sandbox.CUSTNUM_LARGE),
    )
    cases = {
        "list_hetu_all_statuses": invoice_list(
            make_result(_jobs(many, include_paid=True), include_paid=True)
        ),
        "list_hetu_open_only": invoice_list(make_result(_jobs(many, include_paid=False))),
        "list_large_page1": invoice_list(large, 0),
        "list_large_page2": invoice_list(large, 1),
        "list_large_last_page": invoice_list(large, 11),
        "list_old_schema": invoice_list(
            make_result(
                _jobs(sandbox.CUSTOMERS_BY_CUSTNUM[sandbox.CUSTNUM_OLD_SCHEMA], include_paid=False),
                identifier=_custnum(sandbox.CUSTNUM_OLD_SCHEMA),
                environment=RopoEnvironment.TEST,
            )
        ),
        "list_sparse": invoice_list(
            make_result(
                SPARSE_JOBS,
                identifier=_custnum("<!here> & <@U1>"),
                include_paid=True,
                environment=RopoEnvironment.PRODUCTION,
            )
        ),
        "empty_open_only": invoice_list(
            make_result([], identifier=Identifier(IdentifierKind.HETU, sandbox.HETU_ONLY_PAID))
        ),
        "empty_include_paid": invoice_list(
            make_result([], identifier=_custnum("C-404"), include_paid=True)
        ),
        "help": render_help(RopoEnvironment.SANDBOX),
        "expired": render_expired_context(RopoEnvironment.PRODUCTION),
        "unexpected_error": render_unexpected_error("R-7K2QF9", RopoEnvironment.PRODUCTION),
    }
    for reason, text in REFUSALS.items():
        cases[f"refusal_{reason.value}"] = render_refusal(
            Refusal(reason, text), RopoEnvironment.PRODUCTION
        )
    for kind in FailureKind:
        retry_in_s = 28.7 if kind is FailureKind.CIRCUIT_OPEN else None
        cases[f"failure_{kind.value}"] = render_failure(
            LookupFailure(
                Query(HETU), kind, RopoEnvironment.PRODUCTION, "R-7K2QF9", retry_in_s=retry_in_s
            )
        )
    return cases


GOLDEN_CASES = [
    "list_hetu_all_statuses",
    "list_hetu_open_only",
    "list_large_page1",
    "list_large_page2",
    "list_large_last_page",
    "list_old_schema",
    "list_sparse",
    "empty_open_only",
    "empty_include_paid",
    "help",
    "expired",
    "unexpected_error",
    *(f"refusal_{reason.value}" for reason in RefusalReason),
    *(f"failure_{kind.value}" for kind in FailureKind),
]


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_payload_matches_golden(
    name: str, payloads: dict[str, dict[str, Any]], assert_golden: Callable[..., None]
) -> None:
    assert_golden(name, payloads[name])


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_payload_is_valid_block_kit(
    name: str, payloads: dict[str, dict[str, Any]], assert_valid: Callable[..., None]
) -> None:
    assert_valid(payloads[name])


def test_every_case_has_a_golden(payloads: dict[str, dict[str, Any]]) -> None:
    assert sorted(payloads) == sorted(GOLDEN_CASES)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_no_full_hetu_in_any_payload(name: str, payloads: dict[str, dict[str, Any]]) -> None:
    assert_no_identity_code(json.dumps(payloads[name], ensure_ascii=False))


# --- the invoice list ---------------------------------------------------------------------


def _texts(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _navigation(payload: dict[str, Any]) -> dict[str, Any]:
    (block,) = [b for b in payload["blocks"] if b.get("block_id") == ids.BLOCK_NAVIGATION]
    return block


def _buttons(payload: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        e["action_id"]: (e["text"]["text"], e["value"]) for e in _navigation(payload)["elements"]
    }


def _large(make_result: Callable[..., LookupResult], **kwargs: Any) -> LookupResult:
    customer = sandbox.CUSTOMERS_BY_CUSTNUM[sandbox.CUSTNUM_LARGE]
    return make_result(
        _jobs(customer, include_paid=kwargs.get("include_paid", False)),
        identifier=_custnum(sandbox.CUSTNUM_LARGE),
        **kwargs,
    )


@pytest.mark.parametrize("page", [12, 50, 10**9])
def test_page_past_the_end_shows_the_last_page(
    page: int, make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    result = _large(make_result)
    last = render_invoice_list(result, page=11, button_value=button_value, locale=LOCALE)
    assert render_invoice_list(result, page=page, button_value=button_value, locale=LOCALE) == (
        last
    )


def test_negative_page_shows_the_first_page(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    result = _large(make_result)
    first = render_invoice_list(result, page=0, button_value=button_value, locale=LOCALE)
    assert render_invoice_list(result, page=-3, button_value=button_value, locale=LOCALE) == first


def test_a_full_page_of_group_jobs_with_details_fits_a_message(
    make_result: Callable[..., LookupResult],
    button_value: Callable[..., str],
    assert_valid: Callable[..., None],
) -> None:
    # The most blocks a page can take: ten group jobs, each with a link and a Details row.
    jobs = [
        {
            "case_number": 9000 + n,
            "invoice_number": f"G-{n}",
            "status": "due",
            "group_job": 1,
            "group_invoice_numbers": [f"G-{n}/1", f"G-{n}/2"],
            "my_ropo_link": f"https://myropo.example/{n}",
        }
        for n in range(25)
    ]
    sealed = "x" * MAX_BUTTON_VALUE  # the longest value Slack takes
    payload = with_lookup_another(
        render_invoice_list(
            make_result(jobs),
            page=1,
            button_value=button_value,
            locale=LOCALE,
            details_value=lambda invoice: sealed,
        )
    )
    assert_valid(payload)  # 50 blocks at most, every element within Slack's limits
    details = [
        e
        for b in payload["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == ids.ACTION_SHOW_DETAILS
    ]
    assert len(details) == 10
    assert len(payload["blocks"]) == 35  # 2 + 10 * 3 + divider, navigation, footer


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (0, {ids.ACTION_PAGE_NEXT: ("Next", "ctx:1:0")}),
        (
            5,
            {
                ids.ACTION_PAGE_PREVIOUS: ("Previous", "ctx:4:0"),
                ids.ACTION_PAGE_NEXT: ("Next", "ctx:6:0"),
            },
        ),
        (11, {ids.ACTION_PAGE_PREVIOUS: ("Previous", "ctx:10:0")}),
    ],
)
def test_paging_buttons_exist_only_where_a_page_does(
    page: int,
    expected: dict[str, tuple[str, str]],
    make_result: Callable[..., LookupResult],
    button_value: Callable[..., str],
) -> None:
    payload = render_invoice_list(
        _large(make_result), page=page, button_value=button_value, locale=LOCALE
    )
    toggle = {ids.ACTION_TOGGLE_PAID: ("Include paid invoices", "ctx:0:1")}
    refresh = {ids.ACTION_REFRESH: ("Refresh", f"ctx:{page}:0")}
    assert _buttons(payload) == expected | toggle | refresh


def test_showing_line_counts_the_page(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    payload = render_invoice_list(
        _large(make_result), page=11, button_value=button_value, locale=LOCALE
    )
    assert "Showing 111–120 of 120 · page 12 of 12" in payload["blocks"][0]["text"]["text"]
    assert payload["text"].endswith("Showing 111–120 of 120.")


def test_single_page_has_no_showing_line_and_only_the_toggle_and_refresh(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    customer = sandbox.CUSTOMERS_BY_SSN[sandbox.HETU_MANY_INVOICES]
    result = make_result(_jobs(customer, include_paid=True), include_paid=True)
    payload = render_invoice_list(result, page=0, button_value=button_value, locale=LOCALE)
    assert "Showing" not in _texts(payload)
    assert _buttons(payload) == {
        ids.ACTION_TOGGLE_PAID: ("Open invoices only", "ctx:0:0"),
        ids.ACTION_REFRESH: ("Refresh", "ctx:0:1"),
    }


def test_page_shows_its_ten_invoices_in_order(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    result = _large(make_result)
    payload = render_invoice_list(result, page=3, button_value=button_value, locale=LOCALE)
    shown = re.findall(r'"text": ":[a-z_]+: \*(SBX-\d+)\*', _texts(payload))
    assert shown == [i.invoice_number for i in result.invoices[30:40]]


def test_identifier_never_goes_into_a_value_or_block_id(
    make_result: Callable[..., LookupResult],
) -> None:
    seen: list[tuple[int, bool]] = []

    def sealed(page: int, include_paid: bool) -> str:
        seen.append((page, include_paid))
        return "sealed"

    def sealed_details(invoice: Invoice) -> str:
        return "sealed"

    result = _large(make_result)
    payload = render_invoice_list(
        result, page=1, button_value=sealed, locale=LOCALE, details_value=sealed_details
    )
    assert seen == [(0, False), (2, False), (0, True), (1, False)]
    for block in payload["blocks"]:
        assert sandbox.CUSTNUM_LARGE not in block.get("block_id", "")
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            assert sandbox.CUSTNUM_LARGE not in element.get("value", "")


def test_link_button_only_when_there_is_a_usable_link(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    jobs = [
        {"invoice_number": "WITH", "status": "due", "my_ropo_link": "https://x.example/1"},
        {"invoice_number": "WITHOUT", "status": "due"},
        {"invoice_number": "TOO-LONG", "status": "due", "my_ropo_link": "https://x/" + "a" * 3000},
    ]
    payload = render_invoice_list(
        make_result(jobs), page=0, button_value=button_value, locale=LOCALE
    )
    accessories = {
        b["text"]["text"].split("*")[1]: b.get("accessory")
        for b in payload["blocks"]
        if b["type"] == "section" and b.get("block_id") is None
    }
    assert accessories["WITH"] == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open in MyRopo", "emoji": True},
        "action_id": ids.ACTION_OPEN_MYROPO,
        "url": "https://x.example/1",
    }
    assert accessories["WITHOUT"] is None
    assert accessories["TOO-LONG"] is None


def test_huge_group_job_is_summarised(
    make_result: Callable[..., LookupResult],
    button_value: Callable[..., str],
    assert_valid: Callable[..., None],
) -> None:
    job = {
        "invoice_number": "G-1",
        "status": "due",
        "group_job": 1,
        "group_invoice_numbers": [f"G-1/{n}" for n in range(1, 501)],
        "group_total_payable": "99999.99",
    }
    payload = render_invoice_list(
        make_result([job]), page=0, button_value=button_value, locale=LOCALE
    )
    assert_valid(payload)
    (group,) = [b for b in payload["blocks"] if b["type"] == "context" and "block_id" not in b]
    text = group["elements"][0]["text"]
    assert text.startswith(
        "Group job of 500 invoices, *99\u00a0999,99\u00a0€* payable in total: G-1/1, "
    )
    assert text.endswith("G-1/20, …and 480 more")


def test_group_of_huge_numbers_stays_within_limits(
    make_result: Callable[..., LookupResult],
    button_value: Callable[..., str],
    assert_valid: Callable[..., None],
) -> None:
    job = {
        "invoice_number": "&" * 2000,
        "status": "due",
        "group_job": 1,
        "group_invoice_numbers": ["<" * 2000] * 500,
    }
    payload = render_invoice_list(
        make_result([job] * 10), page=0, button_value=button_value, locale=LOCALE
    )
    assert_valid(payload)
    # Each number is cut to 80 characters, then escaped: 4 fit the 1,500-character budget.
    assert "&lt;" * 79 + "…, …and 496 more" in _texts(payload)


@pytest.mark.parametrize(
    "customer_number", ["<!here>", "<!channel>", "<@U1>", "A&B", "<https://evil.example|x>"]
)
def test_customer_number_cannot_mention_or_link(
    customer_number: str,
    make_result: Callable[..., LookupResult],
    button_value: Callable[..., str],
) -> None:
    identifier = _custnum(customer_number)
    jobs = [{"invoice_number": "1", "status": "due"}]
    rendered = [
        render_invoice_list(
            make_result(jobs, identifier=identifier),
            page=0,
            button_value=button_value,
            locale=LOCALE,
        ),
        render_invoice_list(
            make_result([], identifier=identifier), page=0, button_value=button_value, locale=LOCALE
        ),
        render_failure(
            LookupFailure(Query(identifier), FailureKind.TIMEOUT, RopoEnvironment.TEST, "R-1")
        ),
    ]
    escaped = customer_number.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for payload in rendered:
        text = _texts(payload)
        assert customer_number not in text
        assert escaped in text
    for payload in rendered[:2]:  # the failure's fallback names no customer
        assert escaped in payload["text"]


def test_date_is_a_slack_token_at_noon_utc(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    jobs = [
        {"invoice_number": "D", "status": "due", "original_invoice_date": "2026-01-15"},
        {"invoice_number": "N", "status": "due"},
    ]
    text = _texts(
        render_invoice_list(make_result(jobs), page=0, button_value=button_value, locale=LOCALE)
    )
    assert "invoiced <!date^1768478400^{date_short}|15 Jan 2026>" in text  # 2026-01-15T12:00Z
    assert "invoice date unknown" in text


def test_amounts_follow_the_locale(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    result = make_result(
        [{"invoice_number": "1", "status": "due", "open_amount": "1234.5"}], currency="SEK"
    )
    payload = render_invoice_list(result, page=0, button_value=button_value, locale="en_SE")
    assert "*1\u00a0234,50\u00a0kr* open" in payload["blocks"][2]["text"]["text"]


def test_total_leaves_out_paid_invoices(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    jobs = [
        {"invoice_number": "1", "status": "due", "open_amount": "10"},
        {"invoice_number": "2", "status": "paid", "open_amount": "5"},
    ]
    payload = render_invoice_list(
        make_result(jobs, include_paid=True), page=0, button_value=button_value, locale=LOCALE
    )
    assert (
        payload["text"]
        == "Invoices for 131052-****: 2 invoices (1 paid), 10,00\u00a0€ open in total; "
        "paid invoices included."
    )


@pytest.mark.parametrize(
    ("environment", "label"),
    [
        (RopoEnvironment.SANDBOX, "Ropo One sandbox — fake data"),
        (RopoEnvironment.TEST, "Ropo One test environment"),
        (RopoEnvironment.PRODUCTION, "Ropo One production"),
        (RopoEnvironment.CUSTOM, "Ropo One (custom endpoint)"),
    ],
)
def test_footer_names_the_data_source_and_reference(
    environment: RopoEnvironment,
    label: str,
    make_result: Callable[..., LookupResult],
    button_value: Callable[..., str],
) -> None:
    result = make_result([], environment=environment, reference="R-ABC234")
    payload = render_invoice_list(result, page=0, button_value=button_value, locale=LOCALE)
    assert payload["blocks"][-1] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f":lock: Only you can see this. · Data: {label} · Reference: `R-ABC234`",
            }
        ],
        "block_id": ids.BLOCK_FOOTER,
    }


def test_every_status_shows_its_own_emoji_and_label(
    make_result: Callable[..., LookupResult], button_value: Callable[..., str]
) -> None:
    jobs = [{"invoice_number": s.value, "status": s.value} for s in STATUS_LEGEND]
    text = _texts(
        render_invoice_list(
            make_result(jobs, include_paid=True), page=0, button_value=button_value, locale=LOCALE
        )
    )
    for status, info in STATUS_LEGEND.items():
        assert f"{info.emoji} *{status.value}* · {info.label}\\n" in text


# --- help, refusals, failures, expiry -----------------------------------------------------


def test_help_explains_usage_flags_and_statuses() -> None:
    text = _texts(render_help(RopoEnvironment.TEST))
    for part in [
        "`/invoices &lt;HETU or customer number&gt; [all]`",
        "`/invoices DDMMYY-NNNX`",
        "`/invoices C-1001 all`",
        "`all`",
        "`--all`",
        "`kaikki`",
        "`alla`",
        "Ropo One test environment",
        *(info.label for info in STATUS_LEGEND.values()),
    ]:
        assert part in text


def test_each_refusal_has_its_own_heading() -> None:
    headings = {
        render_refusal(Refusal(reason, "x"), RopoEnvironment.SANDBOX)["blocks"][0]["text"][
            "text"
        ].split("\n")[0]
        for reason in RefusalReason
    }
    assert len(headings) == len(RefusalReason)


def test_refusal_message_is_escaped_and_redacted() -> None:
    refusal = Refusal(RefusalReason.UNUSABLE, "<!here> 131052-308T & more")
    payload = render_refusal(refusal, RopoEnvironment.SANDBOX)
    assert "&lt;!here&gt; 131052-**** &amp; more" in payload["blocks"][0]["text"]["text"]
    assert "308T" not in _texts(payload)


@pytest.mark.parametrize("kind", list(FailureKind))
def test_failure_names_the_reference_and_masks_the_identifier(kind: FailureKind) -> None:
    failure = LookupFailure(Query(HETU), kind, RopoEnvironment.SANDBOX, "R-7K2QF9")
    payload = render_failure(failure)
    body = payload["blocks"][0]["text"]["text"]
    assert body.endswith("\nReference: `R-7K2QF9`")
    assert payload["text"].endswith("Reference: R-7K2QF9")
    assert payload["blocks"][-1]["block_id"] == ids.BLOCK_FOOTER
    assert "308T" not in _texts(payload)
    if kind is not FailureKind.AUTH:  # an admin-only problem names no customer
        assert "`131052-****`" in body


def test_each_failure_kind_has_its_own_answer() -> None:
    bodies = {
        render_failure(LookupFailure(Query(HETU), kind, RopoEnvironment.SANDBOX, "R-1"))["blocks"][
            0
        ]["text"]["text"]
        for kind in FailureKind
    }
    assert len(bodies) == len(FailureKind)


@pytest.mark.parametrize("kind", [FailureKind.UNAVAILABLE, FailureKind.TIMEOUT])
def test_passing_outages_suggest_a_retry_in_a_minute(kind: FailureKind) -> None:
    failure = LookupFailure(Query(HETU), kind, RopoEnvironment.SANDBOX, "R-1")
    assert "Try again in a minute." in render_failure(failure)["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(
    ("retry_in_s", "wording"),
    [
        (0.0, "in a few seconds"),
        (4.9, "in a few seconds"),
        (28.7, "in about 30 seconds"),
        (61.0, "in about 60 seconds"),
        (150.0, "in about 2 minutes"),
    ],
)
def test_an_open_circuit_says_roughly_when_ropo_is_tried_again(
    retry_in_s: float, wording: str
) -> None:
    failure = LookupFailure(
        Query(HETU), FailureKind.CIRCUIT_OPEN, RopoEnvironment.SANDBOX, "R-1", retry_in_s
    )
    body = render_failure(failure)["blocks"][0]["text"]["text"]
    assert "*Ropo One is unavailable*" in body
    assert f"it will try Ropo One again {wording}." in body


def test_rejected_credentials_send_the_agent_to_an_admin_not_a_retry() -> None:
    failure = LookupFailure(Query(HETU), FailureKind.AUTH, RopoEnvironment.SANDBOX, "R-1")
    body = render_failure(failure)["blocks"][0]["text"]["text"]
    assert "Slack admin" in body
    assert "Try again" not in body


def test_expired_reply_says_to_run_the_command_again() -> None:
    payload = render_expired_context(RopoEnvironment.SANDBOX)
    assert payload["text"] == "This reply has expired, run /invoices again."
    assert not any(b["type"] == "actions" for b in payload["blocks"])
