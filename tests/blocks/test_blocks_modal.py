"""The lookup modal's builders: whole-view goldens, then the behaviours they must keep."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot import ids
from bot.blocks import (
    NOTHING_FOUND_NOTICE,
    read_lookup_form,
    render_choose_identifier,
    render_expired_context,
    render_expired_view,
    render_failure,
    render_invoice_list,
    render_loading_view,
    render_lookup_form,
    render_result_view,
    render_window_not_opened,
    with_lookup_another,
)
from bot.blocks.modal import MAX_CHOICES
from bot.dev.slack_requests import lookup_form_values
from bot.lookup import FailureKind, LookupFailure, LookupResult
from bot.query import Identifier, IdentifierKind, Query
from bot.ropo import sandbox_data as sandbox
from bot.ropo.models import Invoice
from bot.settings import RopoEnvironment
from tests.blocks.limits import check_limits
from tests.privacy import assert_no_identity_code

LOCALE = "en_FI"
HETU = Identifier(IdentifierKind.HETU, sandbox.HETU_MANY_INVOICES)
OTHER_HETU = Identifier(IdentifierKind.HETU, sandbox.HETU_REMINDER_21ST_CENTURY)
CUSTNUM = Identifier(IdentifierKind.CUSTOMER_NUMBER, sandbox.CUSTNUM_SMALL)


def _choice_value(identifier: Identifier) -> str:
    """Readable stand-in for the sealer, masked so a golden never holds a HETU."""
    return f"ctx:{identifier.kind.value}:{identifier.display}"


@pytest.fixture(scope="module")
def views(
    make_result: Callable[..., LookupResult],
    button_value: Callable[[int, bool], str],
    details_value: Callable[[Invoice], str],
) -> dict[str, dict[str, Any]]:
    """Every golden view by name."""
    many = sandbox.CUSTOMERS_BY_SSN[sandbox.HETU_MANY_INVOICES]
    large = sandbox.CUSTOMERS_BY_CUSTNUM[sandbox.CUSTNUM_LARGE]
    large_result = make_result(
        large.matching_jobs(include_paid=False),
        identifier=Identifier(IdentifierKind.CUSTOMER_NUMBER, sandbox.CUSTNUM_LARGE),
    )
    hetu_result = make_result(many.matching_jobs(include_paid=False))
    failure = LookupFailure(
        Query(HETU), FailureKind.UNAVAILABLE, RopoEnvironment.PRODUCTION, "R-7K2QF9"
    )

    def result(reply: dict[str, Any]) -> dict[str, Any]:
        return render_result_view(with_lookup_another(reply))

    return {
        "modal_form": render_lookup_form(RopoEnvironment.PRODUCTION),
        "modal_form_nothing_found": render_lookup_form(
            RopoEnvironment.SANDBOX, notice=NOTHING_FOUND_NOTICE
        ),
        "modal_loading_hetu": render_loading_view(HETU, RopoEnvironment.SANDBOX),
        "modal_result_hetu": result(
            render_invoice_list(
                hetu_result,
                page=0,
                button_value=button_value,
                locale=LOCALE,
                details_value=details_value,
            )
        ),
        "modal_result_large_page2": result(
            render_invoice_list(
                large_result,
                page=1,
                button_value=button_value,
                locale=LOCALE,
                details_value=details_value,
            )
        ),
        "modal_result_failure": result(render_failure(failure)),
        "modal_expired": render_expired_view(RopoEnvironment.PRODUCTION),
        "modal_choose": render_choose_identifier(
            [HETU, CUSTNUM, OTHER_HETU],
            button_value=_choice_value,
            environment=RopoEnvironment.SANDBOX,
        ),
    }


GOLDEN_CASES = [
    "modal_form",
    "modal_form_nothing_found",
    "modal_loading_hetu",
    "modal_result_hetu",
    "modal_result_large_page2",
    "modal_result_failure",
    "modal_expired",
    "modal_choose",
]


def assert_valid_view(view: dict[str, Any]) -> None:
    """Slack's view model round-trips it exactly, and it is within a modal's limits."""
    assert View(**view).to_dict() == view
    check_limits(view, max_blocks=100, require_text=False)


def test_every_case_has_a_golden(views: dict[str, dict[str, Any]]) -> None:
    assert sorted(views) == sorted(GOLDEN_CASES)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_view_matches_golden(
    name: str, views: dict[str, dict[str, Any]], assert_golden: Callable[..., None]
) -> None:
    assert_golden(name, views[name])


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_view_is_valid_block_kit(name: str, views: dict[str, dict[str, Any]]) -> None:
    assert_valid_view(views[name])


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_no_full_hetu_in_any_view(name: str, views: dict[str, dict[str, Any]]) -> None:
    assert_no_identity_code(json.dumps(views[name], ensure_ascii=False))


def test_window_not_opened_is_a_valid_private_message(
    assert_valid: Callable[..., None], assert_golden: Callable[..., None]
) -> None:
    payload = render_window_not_opened(RopoEnvironment.SANDBOX)
    assert_valid(payload)
    assert_golden("modal_window_not_opened", payload)


# --- behaviours ---------------------------------------------------------------------------


def test_look_up_another_joins_the_navigation_buttons(
    make_result: Callable[..., LookupResult], button_value: Callable[[int, bool], str]
) -> None:
    reply = render_invoice_list(make_result([]), page=0, button_value=button_value, locale=LOCALE)
    extended = with_lookup_another(reply)
    (navigation,) = [b for b in extended["blocks"] if b.get("block_id") == ids.BLOCK_NAVIGATION]
    assert [e["action_id"] for e in navigation["elements"]] == [
        ids.ACTION_TOGGLE_PAID,
        ids.ACTION_REFRESH,
        ids.ACTION_LOOKUP_ANOTHER,
    ]
    assert len(extended["blocks"]) == len(reply["blocks"])


def test_look_up_another_gets_its_own_block_above_the_footer() -> None:
    reply = render_expired_context(RopoEnvironment.SANDBOX)
    extended = with_lookup_another(reply)
    assert [b.get("block_id") for b in extended["blocks"]] == [
        ids.BLOCK_SUMMARY,
        ids.BLOCK_NAVIGATION,
        ids.BLOCK_FOOTER,
    ]


def test_look_up_another_leaves_the_reply_it_was_given_alone() -> None:
    reply = render_expired_context(RopoEnvironment.SANDBOX)
    before = json.dumps(reply)
    with_lookup_another(reply)
    assert json.dumps(reply) == before


def test_chooser_offers_at_most_max_choices_and_counts_the_rest() -> None:
    identifiers = [
        Identifier(IdentifierKind.CUSTOMER_NUMBER, f"C-{n}") for n in range(MAX_CHOICES + 7)
    ]
    view = render_choose_identifier(
        identifiers, button_value=_choice_value, environment=RopoEnvironment.SANDBOX
    )
    assert_valid_view(view)
    buttons = [
        b["accessory"]
        for b in view["blocks"]
        if b.get("accessory", {}).get("action_id") == ids.ACTION_CHOOSE_IDENTIFIER
    ]
    assert len(buttons) == MAX_CHOICES
    assert "7 more" in json.dumps(view)


def test_chooser_escapes_what_a_customer_number_could_smuggle() -> None:
    hostile = Identifier(IdentifierKind.CUSTOMER_NUMBER, "<!here>&<@U1>")
    view = render_choose_identifier(
        [hostile, CUSTNUM], button_value=_choice_value, environment=RopoEnvironment.SANDBOX
    )
    text = json.dumps([b.get("text") for b in view["blocks"]])
    assert "<!here>" not in text
    assert "&lt;!here&gt;" in text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (lookup_form_values("C-1001"), ("C-1001", False)),
        (lookup_form_values(" 131052-308T ", include_paid=True), (" 131052-308T ", True)),
        (lookup_form_values(""), ("", False)),
        ({}, ("", False)),
        ({ids.BLOCK_LOOKUP_OPTIONS: {ids.ACTION_LOOKUP_INCLUDE_PAID: {}}}, ("", False)),
    ],
)
def test_form_state_is_read_back(values: dict[str, Any], expected: tuple[str, bool]) -> None:
    assert read_lookup_form(values) == expected


def test_form_is_read_back_by_the_ids_it_was_built_with() -> None:
    form = render_lookup_form(RopoEnvironment.SANDBOX)
    inputs = {
        b["block_id"]: b["element"]["action_id"] for b in form["blocks"] if b["type"] == "input"
    }
    assert inputs == {
        ids.BLOCK_LOOKUP_IDENTIFIER: ids.ACTION_LOOKUP_IDENTIFIER,
        ids.BLOCK_LOOKUP_OPTIONS: ids.ACTION_LOOKUP_INCLUDE_PAID,
    }


def test_every_modal_title_fits_slack() -> None:
    titles = {
        render_lookup_form(RopoEnvironment.SANDBOX)["title"]["text"],
        render_loading_view(HETU, RopoEnvironment.SANDBOX)["title"]["text"],
        render_expired_view(RopoEnvironment.SANDBOX)["title"]["text"],
        render_choose_identifier(
            [HETU, CUSTNUM], button_value=_choice_value, environment=RopoEnvironment.SANDBOX
        )["title"]["text"],
    }
    assert all(len(title) <= 24 for title in titles)
