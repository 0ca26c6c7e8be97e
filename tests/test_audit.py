"""The audit trail: keyed hashes, the SQLite writer, the lookup's audit hook and the CLI.

End-to-end audit rows (refusals on every surface, 200 concurrent lookups, the database
file holding no HETU) are in test_e2e_access.py.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from dataclasses import astuple, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.audit import (
    AuditQuery,
    AuditRow,
    AuditStore,
    AuditTrail,
    AuditWriteError,
    audit_key,
    identifier_hash,
)
from bot.audit import cli as audit_cli
from bot.audit import store as store_module
from bot.audit.store import COLUMNS, _insert, connect, create_schema, read_only, search
from bot.lookup import (
    Delivery,
    FailureKind,
    InvoiceLookup,
    LookupFailure,
    LookupResult,
    Requester,
    Surface,
)
from bot.query import Identifier, IdentifierKind, Query
from bot.ropo.errors import RopoUnavailable
from bot.ropo.models import Invoice
from bot.settings import RopoEnvironment, Settings, SettingsError, load_settings
from bot.slack.app import create_ropo_client, create_services
from bot.store.migrations import LATEST, MIGRATIONS, migrate_sqlite
from tests.conftest import AUDIT_KEY
from tests.privacy import assert_no_identity_code

ROOT = Path(__file__).resolve().parents[1]
KEY = AUDIT_KEY.encode()
HETU = Identifier(IdentifierKind.HETU, "131052-308T")
OTHER_HETU = Identifier(IdentifierKind.HETU, "010101A900R")
CUSTNUM = Identifier(IdentifierKind.CUSTOMER_NUMBER, "C-1001")
AGENT = Requester(
    team_id="T0STANDIN", user_id="U0AGENT01", channel_id="C0SUPPORT", surface=Surface.COMMAND
)


def fixed_clock(when: datetime):
    return lambda: when


def rows_in(path: Path, criteria: AuditQuery | None = None) -> list[AuditRow]:
    with read_only(path) as connection:
        return search(connection, criteria or AuditQuery())


def raw_bytes(path: Path) -> bytes:
    """The database file and its WAL and shared-memory files, as they are on disk."""
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def make_failing(path: Path) -> None:
    """From now on every insert into ``path`` fails inside SQLite, as a full disk would."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse_rows BEFORE INSERT ON lookups "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END"
        )


# --- the keyed hash ------------------------------------------------------------------------


def test_the_identifier_hash_is_keyed_and_depends_on_kind_and_value() -> None:
    digest = identifier_hash(KEY, HETU)
    assert digest == identifier_hash(KEY, Identifier(IdentifierKind.HETU, "131052-308T"))
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert digest != identifier_hash(b"another-key-0123456789-0123456789", HETU)
    assert digest != identifier_hash(KEY, OTHER_HETU)
    # The same text as a customer number is another identity.
    assert digest != identifier_hash(KEY, Identifier(IdentifierKind.CUSTOMER_NUMBER, HETU.value))
    assert "131052" not in digest


# --- the store ----------------------------------------------------------------------------


async def test_a_row_is_stored_in_a_wal_database_with_every_column(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    trail = AuditTrail(
        AuditStore(path), KEY, clock=fixed_clock(datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC))
    )
    result = LookupResult(
        Query(HETU, include_paid=True), (), "EUR", RopoEnvironment.TEST, "R-AAAAAA"
    )
    await trail.record_lookup(AGENT, result, ropo_latency_ms=123)
    await trail.aclose()

    assert rows_in(path) == [
        AuditRow(
            at="2025-03-04T05:06:07.000+00:00",
            team_id="T0STANDIN",
            user_id="U0AGENT01",
            channel_id="C0SUPPORT",
            surface="command",
            identifier_kind="hetu",
            identifier_hash=identifier_hash(KEY, HETU),
            include_paid=True,
            outcome="none",
            detail=None,
            invoice_count=0,
            ropo_latency_ms=123,
            reference="R-AAAAAA",
            delivery="pending",
        )
    ]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert HETU.value.encode() not in raw_bytes(path)


async def test_outcomes_read_found_n_none_refused_reason_and_error_kind(tmp_path: Path) -> None:
    trail = AuditTrail(AuditStore(tmp_path / "a.db"), KEY)
    invoice = Invoice.model_validate({"status": "due", "open_amount": "1"})
    found = LookupResult(Query(CUSTNUM), (invoice, invoice), "EUR", RopoEnvironment.TEST, "R-1")
    failed = LookupFailure(Query(CUSTNUM), FailureKind.TIMEOUT, RopoEnvironment.TEST, "R-2")
    await trail.record_lookup(AGENT, found, ropo_latency_ms=5)
    await trail.record_lookup(AGENT, failed, ropo_latency_ms=2000)
    await trail.record_refusal(AGENT, None, "guest", reference="R-3")
    await trail.record_refusal(AGENT, Query(HETU), "rate_limited", reference="R-4")
    await trail.aclose()

    rows = rows_in(tmp_path / "a.db")
    assert [r.outcome_text for r in rows] == [
        "found 2",
        "error: timeout",
        "refused: guest",
        "refused: rate_limited",
    ]
    assert rows[2].identifier_kind is None
    assert rows[2].identifier_hash is None
    assert rows[2].include_paid is None
    assert rows[2].ropo_latency_ms is None
    assert rows[3].identifier_hash == identifier_hash(KEY, HETU)


async def test_concurrent_rows_are_all_stored_in_few_transactions(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "busy.db")
    trail = AuditTrail(store, KEY)
    await asyncio.gather(
        *(
            trail.record_refusal(AGENT, Query(HETU), "guest", reference=f"R-{n:06d}")
            for n in range(1_000)
        )
    )
    assert store.transactions < 100  # batched: not one commit per row
    await trail.aclose()
    rows = rows_in(tmp_path / "busy.db")
    assert sorted(r.reference for r in rows) == [f"R-{n:06d}" for n in range(1_000)]


def test_a_batch_too_big_for_one_statement_is_stored_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "chunks.db"
    create_schema(path)
    row = AuditRow(
        "2026-11-25T10:00:00+00:00",
        "T1",
        "U1",
        "C1",
        "command",
        None,
        None,
        None,
        "refused",
        "guest",
        None,
        None,
        "R",
    )
    rows = [astuple(replace(row, reference=f"R-{n}")) for n in range(7)]
    with closing(connect(path)) as connection:
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 3 * len(COLUMNS))  # 3 rows
        _insert(connection, rows)
        # The last chunk fails (a duplicate of a row stored above it): none of the batch stays.
        connection.execute("CREATE UNIQUE INDEX one_reference ON lookups (reference)")
        with pytest.raises(sqlite3.IntegrityError):
            _insert(
                connection,
                [astuple(replace(row, reference=f"R-X{n}")) for n in range(6)] + rows[:1],
            )
    assert sorted(r.reference for r in rows_in(path)) == [f"R-{n}" for n in range(7)]


async def test_close_stores_what_is_queued_and_later_rows_fail(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "c.db")
    trail = AuditTrail(store, KEY)
    pending = [
        asyncio.create_task(trail.record_refusal(AGENT, None, "guest", reference=f"R-{n}"))
        for n in range(50)
    ]
    await asyncio.sleep(0)  # queued
    await trail.aclose()
    await asyncio.gather(*pending)
    assert len(rows_in(tmp_path / "c.db")) == 50
    with pytest.raises(AuditWriteError, match="closed"):
        await trail.record_refusal(AGENT, None, "guest", reference="R-LATE")


async def test_a_failing_write_raises_and_is_logged_as_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "f.db"
    trail = AuditTrail(AuditStore(path), KEY)
    make_failing(path)
    with pytest.raises(AuditWriteError):
        await trail.record_refusal(AGENT, None, "guest", reference="R-FAIL")
    await trail.aclose()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("AUDIT FAILURE: 1 audit rows could not be written" in r.getMessage() for r in errors)


def test_an_unusable_audit_db_stops_start_up_naming_audit_db(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, audit_db=tmp_path / "missing-dir" / "audit.db")
    with pytest.raises(SettingsError, match="AUDIT_DB: cannot open"):
        create_services(settings, create_ropo_client(settings))


# --- the lookup's hook ---------------------------------------------------------------------


class Source:
    """Ropo One as a test double: answers ``invoices``, or raises ``error``."""

    def __init__(self, invoices: tuple[Invoice, ...] = (), error: Exception | None = None):
        self.invoices = invoices
        self.error = error
        self.calls = 0

    async def find_invoices(self, query: Query) -> tuple[Invoice, ...]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.invoices


def lookup_with(source: Source, trail: AuditTrail, *, required: bool = True) -> InvoiceLookup:
    return InvoiceLookup(
        source,
        currency="EUR",
        environment=RopoEnvironment.TEST,
        audit=trail,
        audit_required=required,
    )


async def test_every_lookup_is_audited_with_its_reference(tmp_path: Path) -> None:
    trail = AuditTrail(AuditStore(tmp_path / "l.db"), KEY)
    invoice = Invoice.model_validate({"status": "due", "open_amount": "1"})
    found = await lookup_with(Source((invoice,)), trail).run(Query(HETU), AGENT)
    failed = await lookup_with(Source(error=RopoUnavailable("down")), trail).run(
        Query(CUSTNUM), AGENT
    )
    await trail.aclose()

    rows = rows_in(tmp_path / "l.db")
    assert [(r.reference, r.outcome_text, r.identifier_kind) for r in rows] == [
        (found.reference, "found 1", "hetu"),
        (failed.reference, "error: unavailable", "custnum"),
    ]
    assert all(r.ropo_latency_ms is not None and r.ropo_latency_ms >= 0 for r in rows)


async def test_a_lookup_that_cannot_be_audited_is_withheld(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "w.db"
    trail = AuditTrail(AuditStore(path), KEY)
    make_failing(path)
    invoice = Invoice.model_validate({"status": "due", "open_amount": "1"})
    source = Source((invoice,))
    outcome = await lookup_with(source, trail).run(Query(HETU), AGENT)
    await trail.aclose()

    assert isinstance(outcome, LookupFailure)
    assert outcome.kind is FailureKind.AUDIT_FAILED
    assert outcome.query == Query(HETU)
    assert source.calls == 1  # the row is written after Ropo answers, before the agent sees it
    assert (
        f"AUDIT FAILURE: lookup {outcome.reference} by U0AGENT01 could not be audited; "
        "its answer is withheld" in caplog.text
    )


async def test_an_audit_write_timing_out_is_committed_later_as_withheld_not_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "slow.db"
    trail = AuditTrail(AuditStore(path), KEY)
    disk_answers = threading.Event()
    insert = store_module._insert

    def hung_disk(connection: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
        disk_answers.wait(30)
        insert(connection, rows)

    monkeypatch.setattr(store_module, "_insert", hung_disk)
    monkeypatch.setattr(store_module, "WRITE_TIMEOUT_S", 0.2)
    invoice = Invoice.model_validate({"status": "due", "open_amount": "1"})
    outcome = await lookup_with(Source((invoice,)), trail).run(Query(HETU), AGENT)
    assert isinstance(outcome, LookupFailure)
    assert outcome.kind is FailureKind.AUDIT_FAILED  # the agent is told it was not recorded

    disk_answers.set()  # the disk comes back: the queued row is written after all
    await trail.aclose()

    (row,) = rows_in(path)
    assert (row.reference, row.outcome_text, row.delivery) == (
        outcome.reference,
        "found 1",
        "withheld",
    )


async def test_a_delivery_is_recorded_on_the_newest_pending_row_of_its_reference(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.db"
    trail = AuditTrail(AuditStore(path), KEY)
    old = LookupResult(Query(HETU), (), "EUR", RopoEnvironment.TEST, "R-SAME01")
    await trail.record_lookup(AGENT, old, ropo_latency_ms=1)
    await trail.record_delivery("R-SAME01", Delivery.SHOWN)
    await trail.record_refusal(AGENT, None, "guest", reference="R-SAME01")
    new = LookupResult(Query(CUSTNUM), (), "EUR", RopoEnvironment.TEST, "R-SAME01")
    await trail.record_lookup(AGENT, new, ropo_latency_ms=1)
    await trail.record_delivery("R-SAME01", Delivery.NOT_DELIVERED)
    await trail.record_delivery("R-NOBODY", Delivery.SHOWN)  # no such row: nothing changes
    await trail.aclose()

    assert [(r.identifier_kind, r.outcome, r.delivery) for r in rows_in(path)] == [
        ("hetu", "none", "shown"),
        (None, "refused", None),
        ("custnum", "none", "not_delivered"),
    ]


def test_a_database_from_before_the_delivery_column_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        migrate_sqlite(connection, MIGRATIONS[:1])  # version 1: no delivery column
        connection.execute(
            "INSERT INTO lookups (at, surface, outcome, reference) "
            "VALUES ('2025-01-01T00:00:00.000+00:00', 'command', 'none', 'R-OLD001')"
        )
    (before,) = rows_in(path)  # the CLI reads an old file as it is
    assert before.delivery is None

    AuditStore(path).close()

    with closing(sqlite3.connect(path)) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(lookups)")]
        indexes = [row[1] for row in connection.execute("PRAGMA index_list(lookups)")]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    assert columns[-1] == "delivery"
    assert "lookups_by_reference" in indexes
    assert version == LATEST
    assert [(r.reference, r.delivery) for r in rows_in(path)] == [("R-OLD001", None)]


async def test_with_audit_not_required_the_lookup_is_served_and_the_failure_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "n.db"
    trail = AuditTrail(AuditStore(path), KEY)
    make_failing(path)
    invoice = Invoice.model_validate({"status": "due", "open_amount": "1"})
    outcome = await lookup_with(Source((invoice,)), trail, required=False).run(Query(HETU), AGENT)
    await trail.aclose()
    assert isinstance(outcome, LookupResult)
    assert "could not be audited; served anyway" in caplog.text


# --- the key ------------------------------------------------------------------------------


def production(**values: Any) -> Settings:
    return Settings(_env_file=None, ropo_cid="cid-1", ropo_apicode="apicode-1", **values)


def test_without_audit_key_production_start_up_is_refused_naming_audit_key(tmp_path: Path) -> None:
    settings = production(audit_db=tmp_path / "audit.db")
    with pytest.raises(SettingsError, match=r"^AUDIT_KEY is not set"):
        create_services(settings, create_ropo_client(settings))
    assert not (tmp_path / "audit.db").exists()  # refused before anything was created


def test_the_sandbox_makes_up_a_key_and_says_so_without_showing_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = Settings(_env_file=None, slack_bot_token="xoxb-1-sandbox")
    first, second = audit_key(settings), audit_key(settings)
    assert len(first) == 32
    assert first != second
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("AUDIT_KEY is not set: using a random audit key" in r.getMessage() for r in warnings)
    assert first.hex() not in caplog.text


def test_a_configured_key_is_used() -> None:
    assert audit_key(production(audit_key=SecretStr(AUDIT_KEY))) == KEY


def test_start_up_in_production_without_audit_key_exits_with_the_reason(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        "serve",
        ROPO_CID="cid-1",
        ROPO_APICODE="apicode-secret-1",
        SLACK_BOT_TOKEN="xoxb-1-2-3",
        SLACK_SIGNING_SECRET="signing-secret-123",
        AUDIT_DB=str(tmp_path / "audit.db"),
    )
    assert result.returncode == 2
    assert "AUDIT_KEY is not set" in result.stderr
    assert "apicode-secret-1" not in result.stderr
    assert not (tmp_path / "audit.db").exists()


# --- python -m bot audit --------------------------------------------------------------------


def run_bot(cwd: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot ...`` with no Slack, Ropo or audit variables but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_", "AUDIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )


async def seed(path: Path) -> None:
    """Four attempts: by two agents, of two people and a customer number, on three days."""
    days = iter(
        [
            datetime(2025, 1, 10, 9, 0, tzinfo=UTC),
            datetime(2025, 1, 10, 9, 5, tzinfo=UTC),
            datetime(2025, 2, 1, 12, 0, tzinfo=UTC),
            datetime(2025, 2, 2, 8, 0, tzinfo=UTC),
        ]
    )
    trail = AuditTrail(AuditStore(path), KEY, clock=lambda: next(days))
    other = Requester("T0STANDIN", "U0OTHER01", None, Surface.MODAL)
    result = LookupResult(Query(HETU), (), "EUR", RopoEnvironment.TEST, "R-HETU01")
    await trail.record_lookup(AGENT, result, ropo_latency_ms=40)
    await trail.record_delivery("R-HETU01", Delivery.SHOWN)
    await trail.record_refusal(other, Query(OTHER_HETU), "guest", reference="R-OTHR01")
    await trail.record_refusal(
        other, Query(HETU, include_paid=True), "rate_limited", reference="R-HETU02"
    )
    failure = LookupFailure(Query(CUSTNUM), FailureKind.TIMEOUT, RopoEnvironment.TEST, "R-CUST01")
    await trail.record_lookup(AGENT, failure, ropo_latency_ms=2001)
    await trail.record_delivery("R-CUST01", Delivery.NOT_DELIVERED)
    await trail.aclose()


@pytest.fixture
def audit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seeded audit database, and the environment the CLI reads it with."""
    path = tmp_path / "audit.db"
    asyncio.run(seed(path))
    for name in ("ROPO_CID", "ROPO_APICODE", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDIT_DB", str(path))
    monkeypatch.setenv("AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``python -m bot audit *args`` in this process (``main`` would reset the run's logging)."""
    parser = argparse.ArgumentParser()
    audit_cli.add_arguments(parser)
    code = audit_cli.run(load_settings(), parser.parse_args(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_finds_every_lookup_of_a_person_by_hetu(audit_env: Path, capsys) -> None:
    code, out, _ = cli(capsys, "--hetu", "131052-308t")
    assert code == 0
    assert [line.split()[-1] for line in out.splitlines()[1:-1]] == ["R-HETU01", "R-HETU02"]
    assert out.splitlines()[-1] == f"2 lookups of hetu 131052-**** in {audit_env}"
    assert "131052-308T" not in out.upper()
    assert_no_identity_code(out)


def test_cli_table_shows_each_attempt_on_one_line(audit_env: Path, capsys) -> None:
    code, out, _ = cli(capsys, "--hetu", "131052-308T")
    assert code == 0
    short = identifier_hash(KEY, HETU)[:12]
    assert [" ".join(line.split()) for line in out.splitlines()[:3]] == [
        "time (UTC) user channel surface kind person paid outcome delivery ms reference",
        f"2025-01-10 09:00:00 U0AGENT01 C0SUPPORT command hetu {short} no none shown 40 R-HETU01",
        f"2025-02-01 12:00:00 U0OTHER01 - modal hetu {short} yes refused: rate_limited - - "
        "R-HETU02",
    ]


def test_cli_searches_by_customer_number_user_and_dates(audit_env: Path, capsys) -> None:
    def references(*args: str) -> list[str]:
        code, out, _ = cli(capsys, "--csv", *args)
        assert code == 0
        return [row["reference"] for row in csv.DictReader(io.StringIO(out))]

    assert references("--custnum", "C-1001") == ["R-CUST01"]
    assert references("--user", "U0OTHER01") == ["R-OTHR01", "R-HETU02"]
    assert references("--since", "2025-02-01") == ["R-HETU02", "R-CUST01"]
    assert references("--until", "2025-02-01") == ["R-HETU01", "R-OTHR01", "R-HETU02"]
    assert references("--since", "2025-02-01", "--until", "2025-02-01") == ["R-HETU02"]
    assert references("--hetu", "131052-308T", "--user", "U0AGENT01") == ["R-HETU01"]
    assert references() == ["R-HETU01", "R-OTHR01", "R-HETU02", "R-CUST01"]


def test_cli_csv_has_every_column_and_the_whole_hash(audit_env: Path, capsys) -> None:
    code, out, _ = cli(capsys, "--csv", "--custnum", "C-1001")
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        [
            "time_utc",
            "team_id",
            "user_id",
            "channel_id",
            "surface",
            "identifier_kind",
            "identifier_hash",
            "include_paid",
            "outcome",
            "delivery",
            "ropo_latency_ms",
            "reference",
        ],
        [
            "2025-02-02T08:00:00.000+00:00",
            "T0STANDIN",
            "U0AGENT01",
            "C0SUPPORT",
            "command",
            "custnum",
            identifier_hash(KEY, CUSTNUM),
            "0",
            "error: timeout",
            "not_delivered",
            "2001",
            "R-CUST01",
        ],
    ]


def test_cli_reads_the_identity_code_from_stdin_when_asked(
    audit_env: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("131052-308T\n"))
    code, out, _ = cli(capsys, "--csv", "--hetu", "-")
    assert code == 0
    assert [row["reference"] for row in csv.DictReader(io.StringIO(out))] == [
        "R-HETU01",
        "R-HETU02",
    ]


def test_cli_refuses_an_invalid_hetu_without_repeating_it(audit_env: Path, capsys) -> None:
    code, out, err = cli(capsys, "--hetu", "131052-308U")
    assert code == 2
    assert out == ""
    assert err.startswith("--hetu: 131052-**** isn't a valid identity code.")
    assert "308U" not in err


def test_cli_needs_the_key_to_search_by_identifier(
    audit_env: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIT_KEY")
    code, _, err = cli(capsys, "--hetu", "131052-308T")
    assert code == 2
    assert "AUDIT_KEY is not set: searching by identifier needs the key" in err
    assert cli(capsys, "--user", "U0AGENT01")[0] == 0  # other searches need no key


def test_cli_says_when_there_is_no_database(tmp_path: Path, capsys, audit_env: Path) -> None:
    code, _, err = cli(capsys, "--db", str(tmp_path / "nowhere.db"))
    assert code == 1
    assert f"no audit database at {tmp_path / 'nowhere.db'}" in err


def test_cli_purges_rows_older_than_the_retention(
    audit_env: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows from 2025-01-10 and 2025-02-01/02: keep the last two by choosing the cut-off.
    cutoff_days = (datetime.now(UTC) - datetime(2025, 1, 20, tzinfo=UTC)).days
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", str(cutoff_days))
    code, out, _ = cli(capsys, "--purge-older-than")
    assert code == 0
    assert out.startswith(f"Deleted 2 audit rows older than {cutoff_days} days")
    assert [r.reference for r in rows_in(audit_env)] == ["R-HETU02", "R-CUST01"]

    code, out, _ = cli(capsys, "--purge-older-than", "1")
    assert out.startswith("Deleted 2 audit rows older than 1 days")
    assert rows_in(audit_env) == []
    # Gone from the file too, not only from the table: secure_delete, then a checkpoint.
    assert b"R-HETU02" not in raw_bytes(audit_env)


def test_cli_purge_takes_no_search_options(audit_env: Path, capsys) -> None:
    code, _, err = cli(capsys, "--purge-older-than", "30", "--user", "U0AGENT01")
    assert code == 2
    assert "--purge-older-than takes no search options" in err
    assert len(rows_in(audit_env)) == 4


def test_cli_runs_as_a_command(audit_env: Path, tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        "audit",
        "--hetu",
        "-",
        stdin="131052-308T\n",
        AUDIT_DB=str(audit_env),
        AUDIT_KEY=AUDIT_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert "R-HETU01" in result.stdout
    assert "R-HETU02" in result.stdout
    assert "R-OTHR01" not in result.stdout
    assert_no_identity_code(result.stdout + result.stderr)


def test_since_after_until_is_refused(audit_env: Path, capsys) -> None:
    code, _, err = cli(capsys, "--since", "2025-02-02", "--until", "2025-01-01")
    assert code == 2
    assert err.strip() == "--since is after --until"


def test_dates_are_utc_days(audit_env: Path) -> None:
    rows = rows_in(audit_env, AuditQuery(since=date(2025, 1, 10), until=date(2025, 1, 10)))
    assert [r.reference for r in rows] == ["R-HETU01", "R-OTHR01"]
    assert rows_in(audit_env, AuditQuery(until=date(2025, 1, 9))) == []
