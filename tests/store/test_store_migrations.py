"""The versioned schema: steps applied once, in order, by any number of instances at once."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from bot.store.migrations import (
    LATEST,
    MIGRATION_LOCK,
    MIGRATIONS,
    Migration,
    migrate_postgres,
    migrate_sqlite,
)

ROOT = Path(__file__).resolve().parents[2]
ALL_STEPS = [step.version for step in MIGRATIONS]
ADD_COLUMN = Migration(
    LATEST + 1,
    "a column added later",
    sqlite="ALTER TABLE lookups ADD COLUMN later_note TEXT;",
    postgres="ALTER TABLE lookups ADD COLUMN later_note TEXT",
)
OLD_SCHEMA = """
CREATE TABLE lookups (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, team_id TEXT, user_id TEXT, channel_id TEXT,
    surface TEXT NOT NULL, identifier_kind TEXT, identifier_hash TEXT, include_paid INTEGER,
    outcome TEXT NOT NULL, detail TEXT, invoice_count INTEGER, ropo_latency_ms INTEGER,
    reference TEXT NOT NULL
);
INSERT INTO lookups (at, surface, outcome, reference)
VALUES ('2025-01-01', 'command', 'none', 'R-OLD');
PRAGMA user_version = 1;
"""


def sqlite_connection(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def start_migrate(**env: str) -> subprocess.Popen[str]:
    """``python -m bot migrate`` in a process of its own, with ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "migrate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT / "tests",
        env={**clean, "PYTHONPATH": str(ROOT), **env},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


# --- SQLite -------------------------------------------------------------------------------


def test_a_file_from_before_versioning_keeps_its_rows_and_gains_the_new_tables(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite_connection(path)) as connection:
        connection.executescript(OLD_SCHEMA)
        assert migrate_sqlite(connection) == ALL_STEPS
        assert connection.execute("SELECT reference FROM lookups").fetchall() == [("R-OLD",)]
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        assert {"rate_limit_hits", "agent_settings", "schema_migrations"} <= tables
        assert migrate_sqlite(connection) == []


def test_a_column_added_later_is_one_more_step_applied_once(tmp_path: Path) -> None:
    with closing(sqlite_connection(tmp_path / "grow.db")) as connection:
        assert migrate_sqlite(connection) == ALL_STEPS
        assert migrate_sqlite(connection, (*MIGRATIONS, ADD_COLUMN)) == [LATEST + 1]
        assert migrate_sqlite(connection, (*MIGRATIONS, ADD_COLUMN)) == []
        columns = [r[1] for r in connection.execute("PRAGMA table_info(lookups)")]
        assert columns[-1] == "later_note"
        assert connection.execute("PRAGMA user_version").fetchone() == (LATEST + 1,)


def test_a_failing_step_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    broken = Migration(
        LATEST + 1, "broken", sqlite="ALTER TABLE lookups ADD COLUMN x TEXT; NOT SQL;", postgres=""
    )
    with closing(sqlite_connection(tmp_path / "broken.db")) as connection:
        migrate_sqlite(connection)
        with pytest.raises(sqlite3.OperationalError):
            migrate_sqlite(connection, (*MIGRATIONS, broken))
        columns = [r[1] for r in connection.execute("PRAGMA table_info(lookups)")]
        assert "x" not in columns
        versions = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [v for (v,) in versions] == ALL_STEPS


def test_steps_out_of_order_are_refused_before_anything_runs(tmp_path: Path) -> None:
    skipped = Migration(LATEST + 2, "skips one", sqlite="CREATE TABLE never (x);", postgres="")
    with closing(sqlite_connection(tmp_path / "order.db")) as connection:
        got = re.escape(f"got {[*ALL_STEPS, LATEST + 2]}")
        with pytest.raises(RuntimeError, match=got):
            migrate_sqlite(connection, (*MIGRATIONS, skipped))
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_two_processes_migrating_one_sqlite_file_at_once_apply_each_step_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "race.db"
    processes = [start_migrate(AUDIT_DB=str(path)) for _ in range(3)]
    for code, out, err in map(finish, processes):
        assert code == 0, err
        assert f"is at version {LATEST}" in out
    with closing(sqlite3.connect(path)) as connection:
        versions = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [v for (v,) in versions] == ALL_STEPS
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_migrates_once_and_a_later_step_adds_a_column(database_url: str) -> None:
    with psycopg.connect(database_url) as connection:
        assert migrate_postgres(connection) == ALL_STEPS
        assert migrate_postgres(connection) == []
        assert migrate_postgres(connection, (*MIGRATIONS, ADD_COLUMN)) == [LATEST + 1]
        found = connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'lookups' AND column_name IN ('delivery', 'later_note') "
            "ORDER BY 1"
        ).fetchall()
        assert found == [("delivery",), ("later_note",)]
        versions = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [v for (v,) in versions.fetchall()] == [*ALL_STEPS, LATEST + 1]


def test_two_instances_migrating_postgres_at_once_wait_for_the_lock_and_apply_once(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as holder:
        # Hold the migration lock, start two instances' migrations, and see both wait for it.
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        processes = [start_migrate(DATABASE_URL=database_url) for _ in range(2)]
        deadline = time.monotonic() + 60
        while _waiting_for_the_lock(holder) < 2:
            assert all(p.poll() is None for p in processes), [finish(p) for p in processes]
            assert time.monotonic() < deadline, "the migrations never reached the lock"
            time.sleep(0.05)
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    for code, out, err in map(finish, processes):
        assert code == 0, err
        assert f"is at version {LATEST}" in out
        assert "postgres@127.0.0.1" in out
    with psycopg.connect(database_url) as connection:
        versions = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [v for (v,) in versions.fetchall()] == ALL_STEPS


def _waiting_for_the_lock(connection: psycopg.Connection) -> int:
    found = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return int(found[0]) if found else 0


def test_migrate_names_the_setting_when_postgres_cannot_be_reached(tmp_path: Path) -> None:
    url = "postgresql://bot:hunter2-secret@127.0.0.1:1/nowhere"
    code, out, err = finish(start_migrate(DATABASE_URL=url))
    assert code == 2
    assert "DATABASE_URL: cannot migrate PostgreSQL bot@127.0.0.1:1/nowhere" in err
    assert "hunter2-secret" not in out + err
