"""The schema, as an ordered list of versioned steps, and how each database applies them.

A database records the versions it has in ``schema_migrations``; start-up and
``python -m bot migrate`` apply the steps it lacks, in order, each in its own transaction.
Changing the schema is one more step at the end of :data:`MIGRATIONS` (never an edit of a
step a database may already have), written once for SQLite and once for PostgreSQL.

Two instances starting at once must not both apply a step: PostgreSQL holds a
session-level advisory lock while it migrates; SQLite takes the write lock first
(``BEGIN IMMEDIATE``), so the second instance waits and then finds nothing left to do.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: the same change in each database's dialect."""

    version: int
    description: str
    sqlite: str
    postgres: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the audit trail, the rate limit's hits and agents' settings",
        sqlite="""
        CREATE TABLE IF NOT EXISTS lookups (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,            -- UTC, ISO 8601 with milliseconds
            team_id TEXT,
            user_id TEXT,
            channel_id TEXT,
            surface TEXT NOT NULL,       -- command | message_shortcut | modal | button
            identifier_kind TEXT,        -- hetu | custnum, or NULL when the request named none
            identifier_hash TEXT,        -- HMAC-SHA256(AUDIT_KEY, kind ":" value), hex
            include_paid INTEGER,
            outcome TEXT NOT NULL,       -- found | none | refused | error
            detail TEXT,                 -- the refusal reason or the error kind
            invoice_count INTEGER,
            ropo_latency_ms INTEGER,
            reference TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS lookups_by_identifier ON lookups (identifier_hash, at);
        CREATE INDEX IF NOT EXISTS lookups_by_user ON lookups (user_id, at);
        CREATE INDEX IF NOT EXISTS lookups_by_time ON lookups (at);
        CREATE TABLE IF NOT EXISTS rate_limit_hits (
            key TEXT NOT NULL,           -- the agent (Slack user id)
            at REAL NOT NULL             -- Unix time of a lookup the limit let through
        );
        CREATE INDEX IF NOT EXISTS rate_limit_hits_by_key ON rate_limit_hits (key, at);
        CREATE INDEX IF NOT EXISTS rate_limit_hits_by_time ON rate_limit_hits (at);
        CREATE TABLE IF NOT EXISTS agent_settings (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            key TEXT NOT NULL,           -- e.g. language
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (team_id, user_id, key)
        );
        """,
        postgres="""
        CREATE TABLE IF NOT EXISTS lookups (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            team_id TEXT,
            user_id TEXT,
            channel_id TEXT,
            surface TEXT NOT NULL,
            identifier_kind TEXT,
            identifier_hash TEXT,
            include_paid BOOLEAN,
            outcome TEXT NOT NULL,
            detail TEXT,
            invoice_count INTEGER,
            ropo_latency_ms INTEGER,
            reference TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS lookups_by_identifier ON lookups (identifier_hash, at);
        CREATE INDEX IF NOT EXISTS lookups_by_user ON lookups (user_id, at);
        CREATE INDEX IF NOT EXISTS lookups_by_time ON lookups (at);
        CREATE TABLE IF NOT EXISTS rate_limit_hits (
            key TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX IF NOT EXISTS rate_limit_hits_by_key ON rate_limit_hits (key, at);
        CREATE INDEX IF NOT EXISTS rate_limit_hits_by_time ON rate_limit_hits (at);
        CREATE TABLE IF NOT EXISTS agent_settings (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (team_id, user_id, key)
        );
        """,
    ),
    Migration(
        2,
        "where each lookup's answer went (shown, not delivered, withheld...)",
        # pending (stored, not yet sent), shown, not_delivered, unconfirmed, withheld
        # (bot.lookup.Delivery); NULL for refusals and for rows from before this step.
        sqlite="""
        ALTER TABLE lookups ADD COLUMN delivery TEXT;
        CREATE INDEX IF NOT EXISTS lookups_by_reference ON lookups (reference);
        """,
        postgres="""
        ALTER TABLE lookups ADD COLUMN IF NOT EXISTS delivery TEXT;
        CREATE INDEX IF NOT EXISTS lookups_by_reference ON lookups (reference);
        """,
    ),
)
"""Every step, oldest first. Append; never edit or reorder a released step."""

LATEST = MIGRATIONS[-1].version

MIGRATION_LOCK = 7_310_514_013
"""The PostgreSQL advisory lock key held while migrating (any constant the app alone uses)."""

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def _check_order(steps: tuple[Migration, ...]) -> None:
    versions = [step.version for step in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise RuntimeError(f"migration versions must be 1, 2, 3, ... in order; got {versions}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def migrate_sqlite(
    connection: sqlite3.Connection, steps: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Apply the steps ``connection``'s database lacks; return the versions applied.

    ``connection`` must be in autocommit mode (``isolation_level=None``). Every step runs
    inside one ``BEGIN IMMEDIATE`` transaction with the ledger check, so a second process
    migrating at the same time waits for the lock and then sees the steps done.
    """
    _check_order(steps)
    applied: list[int] = []
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_LEDGER)
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        for step in steps:
            if step.version in done:
                continue
            for statement in _statements(step.sqlite):
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (step.version, step.description, _now()),
            )
            applied.append(step.version)
        connection.execute(f"PRAGMA user_version = {max(done | set(applied), default=0)}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    _log(applied, "SQLite")
    return applied


def migrate_postgres(
    connection: psycopg.Connection, steps: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Apply the steps ``connection``'s database lacks, under an advisory lock; return them.

    The lock is session-level and waits: a second instance starting at the same moment
    blocks here until the first has finished, then finds nothing left to do.
    """
    _check_order(steps)
    applied: list[int] = []
    connection.autocommit = True
    connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        connection.execute(_LEDGER)
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        for step in steps:
            if step.version in done:
                continue
            with connection.transaction():
                connection.execute(step.postgres.encode())  # several statements: no parameters
                connection.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (%s, %s, %s)",
                    (step.version, step.description, _now()),
                )
            applied.append(step.version)
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    _log(applied, "PostgreSQL")
    return applied


def _statements(script: str) -> list[str]:
    """``script``'s statements one by one: ``executescript`` would commit our transaction."""
    text = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    statements: list[str] = []
    current = ""
    for piece in text.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):  # not a ";" inside a string
            if current.strip(" \n;"):
                statements.append(current.strip())
            current = ""
    if current.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement in a migration: {current.strip()[:60]}")
    return statements


def _log(applied: list[int], database: str) -> None:
    if applied:
        logger.info("%s schema migrated to version %d (applied %s)", database, applied[-1], applied)
