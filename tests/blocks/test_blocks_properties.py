"""Whatever Ropo returns and whatever the agent typed, every reply is one Slack accepts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks import render_failure, render_invoice_list, render_refusal
from bot.lookup import PAGE_SIZE, FailureKind, LookupFailure, LookupResult
from bot.query import Identifier, IdentifierKind, Query, Refusal, RefusalReason
from bot.ropo.models import Invoice, InvoiceStatus
from bot.settings import RopoEnvironment
from tests.privacy import assert_no_identity_code, disguises

# Text Slack or Block Kit might choke on: markup, entities, emoji, long runs.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="<>&*_~`|@!#:\n ", max_size=60),
    st.builds(lambda c, n: c * n, st.sampled_from("&<x"), st.integers(0, 2000)),
)

HETUS = ["131052-308T", "010101A900R", "100190-999P", "100190Y999P"]
hetus = st.sampled_from(HETUS)
# An identity code somewhere in free text, in any disguise the parser would still read.
disguised_hetus = st.sampled_from(HETUS).flatmap(lambda code: st.sampled_from(disguises(code)))
text_with_a_hetu = st.builds(
    lambda a, code, b: f"{a}{code}{b}", hostile_text, disguised_hetus, hostile_text
)
identifiers = st.one_of(
    st.builds(lambda v: Identifier(IdentifierKind.HETU, v), hetus),
    st.builds(lambda v: Identifier(IdentifierKind.CUSTOMER_NUMBER, v), hostile_text),
)

amounts = st.one_of(
    st.none(), st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False)
)

invoices = st.builds(
    lambda **fields: Invoice.model_validate(fields),
    case_number=st.one_of(st.none(), st.integers(0, 10**18)),
    invoice_number=st.one_of(st.none(), hostile_text),
    original_invoice_date=st.one_of(st.none(), st.dates()),
    status=st.one_of(st.sampled_from(InvoiceStatus), st.text(max_size=10)),
    open_amount=amounts,
    group_job=st.booleans(),
    group_invoice_numbers=st.one_of(
        st.lists(hostile_text, max_size=30),
        st.builds(lambda n, s: [s] * n, st.integers(0, 500), hostile_text),
    ),
    group_total_payable=amounts,
    my_ropo_link=st.one_of(
        st.none(),
        st.builds(lambda n: "https://myropo.example/" + "x" * n, st.integers(0, 4000)),
    ),
)


@st.composite
def results(draw: st.DrawFn) -> LookupResult:
    # A few distinct invoices repeated up to 300 times: big results without slow generation.
    pool = draw(st.lists(invoices, min_size=1, max_size=4))
    count = draw(st.integers(0, 300))
    return LookupResult(
        query=Query(draw(identifiers), include_paid=draw(st.booleans())),
        invoices=tuple(pool[i % len(pool)] for i in range(count)),
        currency=draw(st.sampled_from(["EUR", "SEK", "NOK"])),
        environment=draw(st.sampled_from(RopoEnvironment)),
        reference="R-PROP01",
    )


def _no_readable_identifier(payload: dict[str, Any], identifier: Identifier) -> None:
    if identifier.kind is IdentifierKind.HETU:
        assert_no_identity_code(json.dumps(payload, ensure_ascii=False), [identifier.value])


@settings(max_examples=150, deadline=None)
@given(result=results(), page=st.integers(-5, 10**6), locale=st.sampled_from(["en_FI", "fi_FI"]))
def test_any_invoice_list_is_valid_block_kit(
    result: LookupResult,
    page: int,
    locale: str,
    assert_valid: Callable[..., None],
    button_value: Callable[[int, bool], str],
) -> None:
    payload = render_invoice_list(result, page=page, button_value=button_value, locale=locale)
    assert_valid(payload)
    _no_readable_identifier(payload, result.query.identifier)
    # Exactly the clamped page's invoices: one section without a block id each.
    last = result.page_count() - 1
    expected = len(result.invoices[min(max(page, 0), last) * PAGE_SIZE :][:PAGE_SIZE])
    shown = [b for b in payload["blocks"] if b["type"] == "section" and "block_id" not in b]
    assert len(shown) == expected


@settings(max_examples=100, deadline=None)
@given(
    identifier=identifiers, kind=st.sampled_from(FailureKind), env=st.sampled_from(RopoEnvironment)
)
def test_any_failure_is_valid_block_kit(
    identifier: Identifier,
    kind: FailureKind,
    env: RopoEnvironment,
    assert_valid: Callable[..., None],
) -> None:
    payload = render_failure(LookupFailure(Query(identifier), kind, env, "R-PROP01"))
    assert_valid(payload)
    _no_readable_identifier(payload, identifier)


@settings(max_examples=100, deadline=None)
@given(
    reason=st.sampled_from(RefusalReason),
    text=st.one_of(hostile_text, st.text(min_size=1, max_size=5000), text_with_a_hetu),
    env=st.sampled_from(RopoEnvironment),
)
def test_any_refusal_is_valid_block_kit(
    reason: RefusalReason, text: str, env: RopoEnvironment, assert_valid: Callable[..., None]
) -> None:
    payload = render_refusal(Refusal(reason, text), env)
    assert_valid(payload)
    assert_no_identity_code(json.dumps(payload, ensure_ascii=False), HETUS)
