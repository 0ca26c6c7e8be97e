"""The sandbox's customers: deterministic, clearly fake invoices and the fault triggers.

The README, the demo and the tests rely on these exact identifiers, so change them only
together with those. Every value is fake: invoice numbers start with ``SBX-``, case numbers
are in the ``91xxxxx`` range and MyRopo links point at ``sandbox.myropo.example``.

Who is who (``ssn`` is Ropo's name for the HETU field):

- ssn ``131052-308T``: 6 jobs: collection, reminder, due, due (a group job of 3), invoicing
  (no MyRopo link) and paid (only with ``all_invoices=1``).
- ssn ``010101A900R``: only 2 paid jobs, so ``404`` unless ``all_invoices=1``.
- ssn ``100190-999P``: 1 due job (150.00).
- ssn ``100190Y999P``: 1 reminder job (75.25). A different person: the century sign matters.
- ssn ``198112289841`` (Swedish personnummer ``811228-9841``): due, reminder and paid, in
  kronor.
- ssn ``197010632391`` (Swedish samordningsnummer ``701063-2391``): 1 due job (1,250.00).
- ssn ``15108695088`` (Norwegian fødselsnummer): due, collection and paid, in kroner.
- ssn ``41018036736`` (Norwegian D-number): 1 reminder job (480.00).
- custnum ``C-1001``: due, reminder and paid (paid only with ``all_invoices=1``).
- custnum ``C-1200``: 120 open jobs (every status but paid, 8 group jobs, some without a
  link) plus 5 paid.
- custnum ``C-OLD``: 2 jobs in the *older* schema: ``group_case_numbers``, no
  ``case_number``, an unknown ``extra_info`` field, and one ``my_ropo_link`` that is ``null``.
- custnum ``FAULT-*``: a failure, see :class:`Fault`.
- custnum ``FAULT-DETAILS``: a lookup that works, listing one job per :class:`Fault` (and one
  Ropo has lost), whose details (``GET /rest/jobs``) then fail that way.

Every job's details (``GET /rest/jobs?jobid=``) carry made-up personal data the bot must
drop: ``govid`` is the customer's HETU (or a fake business id), and an address and a city.
- anything else: ``404`` (no jobs).

The three HETUs other than ``131052-308T`` use individual numbers 900-999, the range
reserved for temporary codes, so they can never belong to a real person. Their check
characters are correct. The Swedish and Norwegian codes are checksum-valid examples from
python-stdnum's and Skatteverket's documentation, or made up here (the D-number); they are
keyed in the default ROPO_SSN_FORMAT (12 digits in Sweden, 11 in Norway), the form the app
sends unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

MY_ROPO_LINK_BASE = "https://sandbox.myropo.example/invoice/"

HETU_MANY_INVOICES = "131052-308T"
HETU_ONLY_PAID = "010101A900R"
HETU_DUE_20TH_CENTURY = "100190-999P"
HETU_REMINDER_21ST_CENTURY = "100190Y999P"
PERSONNUMMER_THREE_INVOICES = "198112289841"
SAMORDNINGSNUMMER_DUE = "197010632391"
FODSELSNUMMER_THREE_INVOICES = "15108695088"
D_NUMBER_REMINDER = "41018036736"

CUSTNUM_SMALL = "C-1001"
CUSTNUM_LARGE = "C-1200"
CUSTNUM_OLD_SCHEMA = "C-OLD"

CUSTNUM_DETAILS_FAULTS = "FAULT-DETAILS"

LARGE_OPEN_JOBS = 120
LARGE_PAID_JOBS = 5


class Fault(StrEnum):
    """Customer numbers that make the sandbox misbehave the way a real upstream can."""

    SERVER_ERROR = "FAULT-500"  # 500 problem
    UNAVAILABLE = "FAULT-503"  # 503 problem
    RATE_LIMITED = "FAULT-429"  # 429 problem with Retry-After: 1
    SLOW = "FAULT-SLOW"  # waits ``slow_delay_s``, then answers like C-1001
    HTML = "FAULT-HTML"  # 200 text/html: a proxy's maintenance page
    BAD_JSON = "FAULT-BADJSON"  # 200 application/json of the wrong shape
    BAD_REQUEST = "FAULT-400"  # 400 problem


class Schema(StrEnum):
    """Which published version of the job schema a customer is answered in."""

    CURRENT = "current"
    OLD = "old"  # group_case_numbers instead of group_invoice_numbers, no case_number


@dataclass(frozen=True, slots=True)
class SandboxJob:
    """One fake job; :meth:`to_json` renders it the way Ropo One would."""

    case_number: int
    invoice_number: str
    original_invoice_date: date
    status: str
    open_amount: Decimal
    group_invoice_numbers: tuple[str, ...] = ()
    group_case_numbers: tuple[int, ...] = ()  # only the old schema shows these
    group_total_payable: Decimal | None = None
    has_link: bool = True

    @property
    def is_paid(self) -> bool:
        """Whether only ``all_invoices=1`` returns this job."""
        return self.status == "paid"

    @property
    def is_group(self) -> bool:
        """Whether this is a group job (``group_job=1``)."""
        return self.group_total_payable is not None

    @property
    def my_ropo_link(self) -> str | None:
        """The MyRopo link, or ``None`` when this job has none."""
        return f"{MY_ROPO_LINK_BASE}{self.case_number}" if self.has_link else None

    def to_json(self, schema: Schema = Schema.CURRENT) -> dict[str, Any]:
        """Render as a ``JobByEndCustomer`` object; amounts stay :class:`Decimal`."""
        if schema is Schema.OLD:
            return self._to_old_json()
        job: dict[str, Any] = {
            "case_number": self.case_number,
            "invoice_number": self.invoice_number,
            "original_invoice_date": self.original_invoice_date.isoformat(),
            "status": self.status,
            "open_amount": self.open_amount,
            "group_job": int(self.is_group),
        }
        if self.is_group:
            job["group_invoice_numbers"] = list(self.group_invoice_numbers)
            job["group_total_payable"] = self.group_total_payable
        # Ropo leaves the field out when the MyRopoLink agreement is not active.
        if self.has_link:
            job["my_ropo_link"] = self.my_ropo_link
        return job

    def details_json(self, govid: str) -> dict[str, Any]:
        """Render as ``GET /rest/jobs``'s ``JobJobInfo``, with the personal fields Ropo sends."""
        current_code, current_text = _STATUS_CODES.get(self.status, (0, "Invoicing"))
        due = self.original_invoice_date + timedelta(days=14)
        step = _NEXT_STEPS.get(self.status)
        return {
            "accountdate": self.original_invoice_date.isoformat(),
            "address": "Hiekkalaatikonkatu 1 A 2",
            "addressaddline1": "c/o Sandbox",
            "addressaddline2": "",
            "billcode": finnish_reference(self.case_number),
            "billnum": self.invoice_number,
            "city": "KUOPIO",
            "company": "",
            "country": "FIN",
            "currentpaydate": due.isoformat(),
            "currentstatus": current_code,
            "currentstatustext": current_text,
            "custnum": "SANDBOX-CUSTOMER",
            "govid": govid,
            "jobid": self.case_number,
            "nextstatus": step[0] if step else -1,
            "nextstatusdate": (due + timedelta(days=step[2])).isoformat() if step else "",
            "nextstatustext": step[1] if step else "",
            "origjobdate": self.original_invoice_date.isoformat(),
            "origjobtext": "Invoice",
        }

    def _to_old_json(self) -> dict[str, Any]:
        job: dict[str, Any] = {
            "invoice_number": self.invoice_number,
            "original_invoice_date": self.original_invoice_date.isoformat(),
            "status": self.status,
            "open_amount": self.open_amount,
            "group_job": int(self.is_group),
        }
        if self.is_group:
            job["group_case_numbers"] = [str(n) for n in self.group_case_numbers]
            job["group_total_payable"] = self.group_total_payable
        # The old schema's client must cope with both a null link and a field it never heard of.
        job["my_ropo_link"] = self.my_ropo_link
        job["extra_info"] = {"channel": "e-invoice", "note": "a field the bot does not know"}
        return job


@dataclass(frozen=True, slots=True)
class SandboxCustomer:
    """A fake end customer: their jobs, and the schema version they are answered in."""

    jobs: tuple[SandboxJob, ...]
    schema: Schema = Schema.CURRENT

    def matching_jobs(self, *, include_paid: bool) -> list[dict[str, Any]]:
        """The jobs ``findbyendcustomer`` returns, rendered; empty means ``404``."""
        return [job.to_json(self.schema) for job in self.jobs if include_paid or not job.is_paid]


# Ropo's numeric status codes are not published; these only have to look plausible.
_STATUS_CODES = {
    "invoicing": (0, "Invoicing"),
    "due": (0, "Invoice due"),
    "reminder": (1, "Reminder"),
    "collection": (2, "Debt collection"),
    "paid": (9, "Paid"),
}
# status -> (next status code, its text, days after the due date); none after these.
_NEXT_STEPS = {
    "invoicing": (1, "Reminder", 14),
    "due": (1, "Reminder", 14),
    "reminder": (2, "Debt collection", 28),
}


def finnish_reference(number: int) -> str:
    """A Finnish payment reference (viitenumero) for ``number``: its 7-3-1 check digit added."""
    digits = str(number)
    weights = (7, 3, 1)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(digits)))
    return digits + str((10 - total % 10) % 10)


_CENT = Decimal("0.01")


def _eur(text: str) -> Decimal:
    return Decimal(text).quantize(_CENT)


def _group_numbers(invoice_number: str, count: int) -> tuple[str, ...]:
    return tuple(f"{invoice_number}/{k}" for k in range(1, count + 1))


# Listed out of urgency order on purpose: the bot must sort, not trust Ropo's order.
_MANY_INVOICES = (
    SandboxJob(9100001, "SBX-10001", date(2025, 11, 20), "due", _eur("57.35")),
    SandboxJob(9100002, "SBX-10002", date(2024, 9, 16), "collection", _eur("412.80")),
    SandboxJob(9100003, "SBX-10003", date(2026, 1, 15), "invoicing", _eur("23.50"), has_link=False),
    SandboxJob(9100004, "SBX-10004", date(2025, 6, 2), "reminder", _eur("89.90")),
    SandboxJob(9100005, "SBX-10005", date(2024, 3, 11), "paid", _eur("0.00")),
    SandboxJob(
        9100006,
        "SBX-10006",
        date(2025, 12, 1),
        "due",
        _eur("120.00"),
        group_invoice_numbers=_group_numbers("SBX-10006", 3),
        group_total_payable=_eur("310.45"),
    ),
)

_ONLY_PAID = (
    SandboxJob(9100101, "SBX-10101", date(2024, 5, 6), "paid", _eur("0.00")),
    SandboxJob(9100102, "SBX-10102", date(2025, 2, 14), "paid", _eur("0.00")),
)

_SMALL = (
    SandboxJob(9100401, "SBX-10401", date(2025, 9, 12), "due", _eur("199.00")),
    SandboxJob(9100402, "SBX-10402", date(2025, 4, 30), "reminder", _eur("64.10")),
    SandboxJob(9100403, "SBX-10403", date(2024, 12, 5), "paid", _eur("0.00")),
)

# Swedish and Norwegian customers: amounts in kronor/kroner (the currency is the app's setting).
_SWEDISH = (
    SandboxJob(9100601, "SBX-10601", date(2025, 10, 28), "due", _eur("1890.00")),
    SandboxJob(9100602, "SBX-10602", date(2025, 7, 1), "reminder", _eur("645.50")),
    SandboxJob(9100603, "SBX-10603", date(2025, 1, 15), "paid", _eur("0.00")),
)
_NORWEGIAN = (
    SandboxJob(9100701, "SBX-10701", date(2025, 11, 3), "due", _eur("2350.00")),
    SandboxJob(9100702, "SBX-10702", date(2024, 11, 18), "collection", _eur("5120.75")),
    SandboxJob(9100703, "SBX-10703", date(2025, 2, 20), "paid", _eur("0.00")),
)

_OLD_SCHEMA = (
    SandboxJob(
        9100501,
        "SBX-10501",
        date(2025, 8, 8),
        "reminder",
        _eur("48.60"),
        group_case_numbers=(9100511, 9100512),
        group_total_payable=_eur("97.20"),
        has_link=False,
    ),
    SandboxJob(9100502, "SBX-10502", date(2025, 3, 3), "due", _eur("33.00")),
)


def _large() -> tuple[SandboxJob, ...]:
    """C-1200's jobs: a fixed arithmetic mix, so every run and every reader sees the same."""
    open_statuses = ("due", "reminder", "invoicing", "due", "collection", "reminder")
    jobs = []
    for i in range(LARGE_OPEN_JOBS):
        case_number = 9120001 + i
        invoice_number = f"SBX-{20001 + i}"
        amount = (Decimal(1000 + (i * 3779) % 90000) / 100).quantize(_CENT)  # 10.00..909.99
        group = i % 15 == 7  # 8 group jobs of 2-4 sub-invoices
        jobs.append(
            SandboxJob(
                case_number,
                invoice_number,
                date(2024, 1, 1) + timedelta(days=(i * 7) % 900),  # 2024-01 .. 2026-06
                open_statuses[i % len(open_statuses)],
                amount,
                group_invoice_numbers=_group_numbers(invoice_number, 2 + i % 3) if group else (),
                group_total_payable=amount * 3 if group else None,
                has_link=i % 9 != 4,
            )
        )
    for i in range(LARGE_PAID_JOBS):
        jobs.append(
            SandboxJob(
                9120201 + i,
                f"SBX-{20201 + i}",
                date(2024, 2, 1) + timedelta(days=i * 90),
                "paid",
                _eur("0.00"),
            )
        )
    return tuple(jobs)


# FAULT-DETAILS: one job per way its details can fail; 9199099's details are not found.
DETAILS_FAULT_JOBS: dict[int, Fault] = {9199001 + i: fault for i, fault in enumerate(Fault)}
DETAILS_MISSING_JOB = 9199099

_DETAILS_FAULTS = (
    *(
        SandboxJob(job_id, f"SBX-{fault.value}", date(2025, 10, 1), "due", _eur("10.00"))
        for job_id, fault in DETAILS_FAULT_JOBS.items()
    ),
    SandboxJob(DETAILS_MISSING_JOB, "SBX-LOST", date(2025, 10, 1), "due", _eur("10.00")),
)

CUSTOMERS_BY_SSN: dict[str, SandboxCustomer] = {
    HETU_MANY_INVOICES: SandboxCustomer(_MANY_INVOICES),
    HETU_ONLY_PAID: SandboxCustomer(_ONLY_PAID),
    HETU_DUE_20TH_CENTURY: SandboxCustomer(
        (SandboxJob(9100201, "SBX-10201", date(2025, 10, 1), "due", _eur("150.00")),)
    ),
    HETU_REMINDER_21ST_CENTURY: SandboxCustomer(
        (SandboxJob(9100301, "SBX-10301", date(2026, 2, 3), "reminder", _eur("75.25")),)
    ),
    PERSONNUMMER_THREE_INVOICES: SandboxCustomer(_SWEDISH),
    SAMORDNINGSNUMMER_DUE: SandboxCustomer(
        (SandboxJob(9100611, "SBX-10611", date(2025, 12, 1), "due", _eur("1250.00")),)
    ),
    FODSELSNUMMER_THREE_INVOICES: SandboxCustomer(_NORWEGIAN),
    D_NUMBER_REMINDER: SandboxCustomer(
        (SandboxJob(9100711, "SBX-10711", date(2025, 9, 9), "reminder", _eur("480.00")),)
    ),
}
"""End customers found by ``ssn``; the key must match exactly (no case folding)."""

CUSTOMERS_BY_CUSTNUM: dict[str, SandboxCustomer] = {
    CUSTNUM_SMALL: SandboxCustomer(_SMALL),
    CUSTNUM_LARGE: SandboxCustomer(_large()),
    CUSTNUM_OLD_SCHEMA: SandboxCustomer(_OLD_SCHEMA, schema=Schema.OLD),
    CUSTNUM_DETAILS_FAULTS: SandboxCustomer(_DETAILS_FAULTS),
}
"""End customers found by ``custnum``; the key must match exactly."""


SANDBOX_BUSINESS_ID = "0000000-0"  # made up: what a customer-number customer's govid holds


def _jobs_by_id() -> dict[int, tuple[SandboxJob, str]]:
    """Every job by its id, with the ``govid`` its details carry (the owner's HETU, if any)."""
    jobs: dict[int, tuple[SandboxJob, str]] = {}
    for ssn, customer in CUSTOMERS_BY_SSN.items():
        jobs.update({job.case_number: (job, ssn) for job in customer.jobs})
    for customer in CUSTOMERS_BY_CUSTNUM.values():
        jobs.update({job.case_number: (job, SANDBOX_BUSINESS_ID) for job in customer.jobs})
    jobs.pop(DETAILS_MISSING_JOB)  # listed by the lookup, then lost: a details 404
    return jobs


JOBS_BY_ID: dict[int, tuple[SandboxJob, str]] = _jobs_by_id()
"""What ``GET /rest/jobs?jobid=`` answers from (the old-schema jobs have no id to ask by)."""
