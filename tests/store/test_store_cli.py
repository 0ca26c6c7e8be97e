"""``python -m bot audit`` and ``migrate`` on PostgreSQL, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.audit.store import AuditQuery, AuditRow
from bot.settings import Settings
from bot.store.open import open_store

ROOT = Path(__file__).resolve().parents[2]


def run_bot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )


def lookup(reference: str, at: datetime) -> AuditRow:
    return AuditRow(
        at=at.isoformat(timespec="milliseconds"),
        team_id="T0TEAM",
        user_id="U0AGENT01",
        channel_id="C0CHAN",
        surface="command",
        identifier_kind="custnum",
        identifier_hash="ef" * 32,
        include_paid=False,
        outcome="none",
        detail=None,
        invoice_count=0,
        ropo_latency_ms=7,
        reference=reference,
    )


async def store_rows(url: str, *rows: AuditRow) -> list[str]:
    store = open_store(Settings(_env_file=None, database_url=url))
    await store.start()
    try:
        for row in rows:
            await store.append(row)
        return [r.reference for r in await store.search(AuditQuery())]
    finally:
        await store.aclose()


def test_the_retention_purge_runs_against_postgresql(database_url: str) -> None:
    now = datetime.now(UTC)
    old = lookup("R-OLD", datetime(2020, 1, 1, tzinfo=UTC))
    assert asyncio.run(store_rows(database_url, old, lookup("R-NEW", now))) == ["R-OLD", "R-NEW"]

    result = run_bot("audit", "--purge-older-than", "30", DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Deleted 1 audit row older than 30 days")
    assert "from PostgreSQL postgres@127.0.0.1:" in result.stdout
    assert asyncio.run(store_rows(database_url)) == ["R-NEW"]


def test_the_audit_table_on_postgresql_says_where_it_read(database_url: str) -> None:
    asyncio.run(store_rows(database_url, lookup("R-ONE", datetime.now(UTC))))
    result = run_bot("audit", "--user", "U0AGENT01", DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "R-ONE" in result.stdout
    assert "1 lookup in PostgreSQL postgres@127.0.0.1:" in result.stdout


def test_an_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    url = "postgresql://bot:hunter2-secret@127.0.0.1:1/nowhere?connect_timeout=2"
    result = run_bot("audit", "--user", "U0AGENT01", DATABASE_URL=url)
    assert result.returncode == 1
    assert "Cannot read the audit trail in PostgreSQL bot@127.0.0.1:1/nowhere" in result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
