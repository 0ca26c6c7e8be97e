"""Typed, lenient models of what Ropo One's invoice query returns.

Ropo says it may add fields without notice, and an older published schema used
``group_case_numbers`` where the current one has ``group_invoice_numbers``. So: unknown
fields are ignored, every field but the list itself may be missing or ``null``, and money
is a :class:`~decimal.Decimal` read from the JSON text, never a float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator


class InvoiceStatus(StrEnum):
    """The statuses Ropo One (and the consumer portal MyRopo) use, most urgent first."""

    COLLECTION = "collection"
    REMINDER = "reminder"
    DUE = "due"
    INVOICING = "invoicing"
    PAID = "paid"
    UNKNOWN = "unknown"  # a status Ropo added after this code was written

    @property
    def urgency(self) -> int:
        """Sort key: 0 is the most urgent."""
        return _URGENCY[self]


_URGENCY = {
    InvoiceStatus.COLLECTION: 0,
    InvoiceStatus.REMINDER: 1,
    InvoiceStatus.DUE: 2,
    InvoiceStatus.UNKNOWN: 3,
    InvoiceStatus.INVOICING: 4,
    InvoiceStatus.PAID: 5,
}

# Looked up rather than InvoiceStatus(text): calling an Enum class is slow, and a miss is
# just UNKNOWN rather than an exception to catch.
_STATUS_BY_TEXT = {status.value: status for status in InvoiceStatus}
_TRUE_FLAGS = frozenset({"1", "true", "yes"})


class Invoice(BaseModel):
    """One job (invoice) of an end customer, as ``findbyendcustomer`` describes it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    case_number: int | None = None
    invoice_number: str | None = None
    original_invoice_date: date | None = None
    status: InvoiceStatus = InvoiceStatus.UNKNOWN
    open_amount: Decimal = Decimal(0)
    group_job: bool = False
    group_invoice_numbers: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("group_invoice_numbers", "group_case_numbers")
    )
    group_total_payable: Decimal | None = None
    my_ropo_link: str | None = None

    @field_validator("case_number", mode="before")
    @classmethod
    def _lenient_int(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if isinstance(value, str) and not value.strip().isdigit():
            return None
        return value

    @field_validator("invoice_number", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        return str(value)

    @field_validator("original_invoice_date", mode="before")
    @classmethod
    def _lenient_date(cls, value: Any) -> date | None:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)  # the usual "YYYY-MM-DD"
            except ValueError:
                pass  # padded, with a time part, or garbage: the general rule below decides
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            return None

    @field_validator("status", mode="before")
    @classmethod
    def _lenient_status(cls, value: Any) -> InvoiceStatus:
        # `or`, not a get() default: on Python 3.11 reading an Enum member costs more than a lookup.
        return _STATUS_BY_TEXT.get(str(value).strip().lower()) or InvoiceStatus.UNKNOWN

    @field_validator("open_amount", mode="before")
    @classmethod
    def _amount_or_zero(cls, value: Any) -> Decimal:
        amount = _amount(value)
        return Decimal(0) if amount is None else amount

    @field_validator("group_total_payable", mode="before")
    @classmethod
    def _optional_amount(cls, value: Any) -> Decimal | None:
        return _amount(value)

    @field_validator("group_job", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if type(value) is int:  # Ropo's usual 0 or 1, without a detour through text
            return value == 1
        return str(value).strip().lower() in _TRUE_FLAGS

    @field_validator("group_invoice_numbers", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str | int):
            value = [value]
        return tuple(str(v) for v in value if v not in (None, ""))

    @field_validator("my_ropo_link", mode="before")
    @classmethod
    def _https_link(cls, value: Any) -> str | None:
        # Only a real https link becomes a button: anything else could not be opened anyway.
        if not isinstance(value, str) or not value.startswith("https://"):
            return None
        return value.strip()


class JobsResponse(BaseModel):
    """The body of a ``200`` from ``findbyendcustomer``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    jobs: tuple[Invoice, ...] = ()

    @field_validator("jobs", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


def _amount(value: Any) -> Decimal | None:
    """An exact, finite amount, or ``None`` for a blank one; ``ValueError`` if it is neither."""
    # Checked first: json.loads(parse_float=Decimal) already made most amounts Decimals, and
    # comparing a Decimal with None or "" is slow (it consults the numbers ABCs).
    if isinstance(value, Decimal):
        amount = value
    elif value is None or value == "":
        return None
    elif type(value) is int:  # a JSON integer; bool is not an amount and fails below
        amount = Decimal(value)
    elif isinstance(value, float):  # Python-side construction: repr keeps 12.1 as 12.1
        amount = Decimal(repr(value))
    else:
        try:
            amount = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError("not an amount") from None  # pydantic turns it into a failure
    if not amount.is_finite():
        raise ValueError("not a finite amount")
    return amount


class JobDetails(BaseModel):
    """One job's details from ``GET /rest/jobs?jobid=...`` (Ropo's ``JobJobInfo``), lenient.

    Only the fields an agent is shown are kept. Ropo's documentation of the schema is cut
    off after ``origjobtext`` (see the README), so every field may be absent and unknown
    ones are ignored. ``govid`` (possibly a HETU), the address lines, ``city``, ``custnum``
    and any further fields are personal data the agent does not need here: they are never
    declared, so validation drops them and they never leave the adapter.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    job_id: int | None = Field(default=None, validation_alias="jobid")
    invoice_number: str | None = Field(default=None, validation_alias="billnum")
    payment_reference: str | None = Field(default=None, validation_alias="billcode")
    due_date: date | None = Field(default=None, validation_alias="currentpaydate")
    original_invoice_date: date | None = Field(default=None, validation_alias="origjobdate")
    status_text: str | None = Field(default=None, validation_alias="currentstatustext")
    next_status: int | None = Field(default=None, validation_alias="nextstatus")
    next_status_text: str | None = Field(default=None, validation_alias="nextstatustext")
    next_status_date: date | None = Field(default=None, validation_alias="nextstatusdate")

    @field_validator("job_id", "next_status", mode="before")
    @classmethod
    def _lenient_int(cls, value: Any) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            return None  # None, "", or text where a number belongs: treated as absent

    @field_validator(
        "invoice_number", "payment_reference", "status_text", "next_status_text", mode="before"
    )
    @classmethod
    def _text(cls, value: Any) -> str | None:
        if value is None or isinstance(value, dict | list):
            return None
        text = str(value).strip()
        return text or None

    @field_validator("due_date", "original_invoice_date", "next_status_date", mode="before")
    @classmethod
    def _lenient_date(cls, value: Any) -> date | None:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            return None
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None

    @property
    def has_next_step(self) -> bool:
        """Whether Ropo names a next step: ``nextstatus`` -1 means there is none."""
        return self.next_status != -1 and bool(self.next_status_text)
