"""Invoice models: lenient about what Ropo may send, exact about money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from bot.ropo.models import Invoice, InvoiceStatus, JobsResponse


def _invoice(**fields: Any) -> Invoice:
    return Invoice.model_validate(fields)


def test_an_empty_job_gets_every_default() -> None:
    assert _invoice() == Invoice(
        case_number=None,
        invoice_number=None,
        original_invoice_date=None,
        status=InvoiceStatus.UNKNOWN,
        open_amount=Decimal(0),
        group_job=False,
        group_invoice_numbers=(),
        group_total_payable=None,
        my_ropo_link=None,
    )


def test_null_fields_read_as_absent() -> None:
    fields = dict.fromkeys(Invoice.model_fields, None)

    assert _invoice(**fields) == _invoice()


def test_unknown_fields_are_ignored() -> None:
    invoice = _invoice(invoice_number="A-1", extra_info={"channel": "e-invoice"}, new_flag=1)

    assert invoice == _invoice(invoice_number="A-1")
    assert not hasattr(invoice, "extra_info")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("due", InvoiceStatus.DUE),
        ("DUE", InvoiceStatus.DUE),
        (" Due ", InvoiceStatus.DUE),
        (" ColLection\n", InvoiceStatus.COLLECTION),
        (InvoiceStatus.PAID, InvoiceStatus.PAID),
        ("unknown", InvoiceStatus.UNKNOWN),
        ("collection", InvoiceStatus.COLLECTION),
        ("Reminder", InvoiceStatus.REMINDER),
        ("invoicing", InvoiceStatus.INVOICING),
        ("PAID", InvoiceStatus.PAID),
        ("payment_plan", InvoiceStatus.UNKNOWN),
        ("", InvoiceStatus.UNKNOWN),
        (3, InvoiceStatus.UNKNOWN),
        (None, InvoiceStatus.UNKNOWN),
    ],
)
def test_status_is_read_case_insensitively_and_unknown_statuses_are_kept(
    raw: object, status: InvoiceStatus
) -> None:
    assert _invoice(status=raw).status is status


def test_urgency_orders_collection_first_and_paid_last() -> None:
    ordered = sorted(InvoiceStatus, key=lambda status: status.urgency)

    assert ordered == [
        InvoiceStatus.COLLECTION,
        InvoiceStatus.REMINDER,
        InvoiceStatus.DUE,
        InvoiceStatus.UNKNOWN,
        InvoiceStatus.INVOICING,
        InvoiceStatus.PAID,
    ]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("412.80", "412.80"),
        (" 12.50 ", "12.50"),
        ("12,50", "12.50"),
        (412, "412"),
        (0, "0"),
        (12.1, "12.1"),
        (0.1, "0.1"),
        (Decimal("57.35"), "57.35"),
        (Decimal("10.0"), "10.0"),
        (None, "0"),
        ("", "0"),
    ],
)
def test_open_amount_becomes_an_exact_decimal(raw: object, text: str) -> None:
    amount = _invoice(open_amount=raw).open_amount

    assert type(amount) is Decimal
    assert str(amount) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [("310.45", "310.45"), (310, "310"), (97.2, "97.2"), (Decimal("97.20"), "97.20")],
)
def test_group_total_payable_becomes_an_exact_decimal(raw: object, text: str) -> None:
    total = _invoice(group_total_payable=raw).group_total_payable

    assert type(total) is Decimal
    assert str(total) == text


@pytest.mark.parametrize("raw", [None, ""])
def test_a_missing_group_total_stays_none(raw: object) -> None:
    assert _invoice(group_total_payable=raw).group_total_payable is None


@pytest.mark.parametrize(
    "raw",
    ["NaN", "Infinity", float("inf"), Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN")],
)
@pytest.mark.parametrize("field", ["open_amount", "group_total_payable"])
def test_a_non_finite_amount_is_a_validation_error(field: str, raw: object) -> None:
    with pytest.raises(ValidationError):
        _invoice(**{field: raw})


@pytest.mark.parametrize("raw", ["n/a", "1,234.50", "12 EUR", True])
def test_an_amount_that_is_not_a_number_is_a_validation_error(raw: object) -> None:
    with pytest.raises(ValidationError):
        _invoice(open_amount=raw)


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2025-01-31", date(2025, 1, 31)),
        ("2025-01-31T10:00:00", date(2025, 1, 31)),
        ("2025-01-31T10:00:00+02:00", date(2025, 1, 31)),
        (" 2025-01-31 ", date(2025, 1, 31)),
        (" 20250131 ", date(2025, 1, 31)),
        ("31.01.2025", None),
        ("2025-02-30", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_read_leniently_and_garbage_is_none(raw: object, day: date | None) -> None:
    assert _invoice(original_invoice_date=raw).original_invoice_date == day


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        (1, True),
        ("1", True),
        (True, True),
        ("true", True),
        (0, False),
        (2, False),
        ("0", False),
        (False, False),
        (None, False),
        ("", False),
    ],
)
def test_group_job_accepts_ropos_spellings_of_a_flag(raw: object, flag: bool) -> None:
    assert _invoice(group_job=raw).group_job is flag


@pytest.mark.parametrize(
    ("raw", "case_number"),
    [(9100001, 9100001), ("9100001", 9100001), ("", None), ("n/a", None), (None, None)],
)
def test_case_number_is_an_int_or_none(raw: object, case_number: int | None) -> None:
    assert _invoice(case_number=raw).case_number == case_number


def test_invoice_number_is_text_even_when_sent_as_a_number() -> None:
    assert _invoice(invoice_number=10001).invoice_number == "10001"
    assert _invoice(invoice_number="").invoice_number is None


def test_group_case_numbers_of_the_old_schema_fill_group_invoice_numbers() -> None:
    invoice = _invoice(group_case_numbers=[9100511, "9100512"])

    assert invoice.group_invoice_numbers == ("9100511", "9100512")


def test_group_invoice_numbers_drop_empty_entries_and_accept_a_single_value() -> None:
    assert _invoice(group_invoice_numbers=["A/1", None, "", "A/2"]).group_invoice_numbers == (
        "A/1",
        "A/2",
    )
    assert _invoice(group_invoice_numbers="A/1").group_invoice_numbers == ("A/1",)
    assert _invoice(group_invoice_numbers=None).group_invoice_numbers == ()


@pytest.mark.parametrize(
    ("raw", "link"),
    [
        ("https://myropo.com/i/1", "https://myropo.com/i/1"),
        ("http://myropo.com/i/1", None),
        ("javascript:alert(1)", None),
        ("myropo.com/i/1", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_only_an_https_my_ropo_link_is_kept(raw: object, link: str | None) -> None:
    assert _invoice(my_ropo_link=raw).my_ropo_link == link


def test_jobs_null_or_missing_is_no_jobs() -> None:
    assert JobsResponse.model_validate({"jobs": None}).jobs == ()
    assert JobsResponse.model_validate({}).jobs == ()


def test_jobs_of_the_wrong_shape_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        JobsResponse.model_validate({"jobs": "maintenance"})


def test_invoices_are_immutable() -> None:
    invoice = _invoice(invoice_number="A-1")

    with pytest.raises(ValidationError):
        invoice.invoice_number = "B-2"  # type: ignore[misc]
