"""The embedded store: one SQLite file, shared by the processes of one host in WAL mode.

Audit rows go through :class:`bot.audit.store.AuditStore`'s writer thread; the rate limit's
hits through a thread of their own, a batch per ``BEGIN IMMEDIATE`` transaction, so two
processes (``WEB_CONCURRENCY=2``) count one agent's lookups together. Agents' settings are
read on a request's way in, so they are read by a thread of their own too, on one kept
connection, as many at a time as are waiting. Writing a setting and the audit queries are
rare: each runs in a worker thread on a connection of its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bot.audit.store import AuditQuery, AuditRow, AuditStore, connect, purge, read_only, search
from bot.store.base import Hit, StoreUnavailable, decide_hits, oldest_relevant
from bot.store.batch import BatchClosedError, ThreadBatcher


class SqliteStore:
    """:class:`bot.store.base.Store` on the SQLite file at ``path``, migrated on opening."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.audit = AuditStore(self.path)  # creates and migrates the file
        self._hits_connection: sqlite3.Connection | None = None
        self._hits: ThreadBatcher[Hit, float | None] = ThreadBatcher(
            self._count_hits, "rate-limit-hits", on_exit=self._close_hits_connection
        )
        self._settings_connection: sqlite3.Connection | None = None
        self._settings: ThreadBatcher[tuple[str, str, str], str | None] = ThreadBatcher(
            self._read_settings, "agent-settings", on_exit=self._close_settings_connection
        )

    @property
    def where(self) -> str:
        """The file's path."""
        return str(self.path)

    async def start(self) -> None:
        """Nothing to start: the threads run from the start."""

    async def append(self, row: AuditRow) -> None:
        """Store ``row`` through the audit writer thread."""
        await self.audit.append(row)

    async def set_delivery(self, reference: str, delivery: str, *, wait: bool = True) -> None:
        """Through the audit writer thread, queued behind the rows appended before it."""
        await self.audit.set_delivery(reference, delivery, wait=wait)

    async def hit(self, hit: Hit) -> float | None:
        """Count ``hit`` in this host's shared file (see :func:`bot.store.base.decide_hits`)."""
        try:
            return await self._hits.submit(hit)
        except (sqlite3.Error, BatchClosedError) as exc:
            raise StoreUnavailable(f"the rate limit could not be read from {self.path}") from exc

    def _count_hits(self, hits: list[Hit]) -> Sequence[float | None]:
        if self._hits_connection is None:
            self._hits_connection = connect(self.path)
            # A count lost to a power cut costs nothing: no fsync per batch of hits.
            self._hits_connection.execute("PRAGMA synchronous = NORMAL")
        connection = self._hits_connection
        keys = sorted({hit.key for hit in hits})
        marks = ", ".join("?" * len(keys))
        connection.execute("BEGIN IMMEDIATE")  # the write lock: no other process counts now
        try:
            connection.execute(
                "DELETE FROM rate_limit_hits WHERE at <= ?", (oldest_relevant(hits),)
            )
            counted = connection.execute(
                f"SELECT key, at FROM rate_limit_hits WHERE key IN ({marks})",  # noqa: S608 - placeholders
                keys,
            ).fetchall()
            decisions = decide_hits(hits, counted)
            allowed = [
                (hit.key, hit.now) for hit, d in zip(hits, decisions, strict=True) if d is None
            ]
            if allowed:
                connection.execute(
                    "INSERT INTO rate_limit_hits (key, at) VALUES "  # noqa: S608 - placeholders
                    + ", ".join(["(?, ?)"] * len(allowed)),
                    [value for pair in allowed for value in pair],
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return decisions

    async def get_setting(self, team_id: str, user_id: str, key: str) -> str | None:
        """An agent's setting from the file."""
        try:
            return await self._settings.submit((team_id, user_id, key))
        except BatchClosedError:
            return None  # stopping: the default language answers

    def _read_settings(self, wanted: list[tuple[str, str, str]]) -> Sequence[str | None]:
        if self._settings_connection is None:
            self._settings_connection = connect(self.path)
        values: list[str | None] = []
        for team_id, user_id, key in wanted:
            row = self._settings_connection.execute(
                "SELECT value FROM agent_settings WHERE team_id = ? AND user_id = ? AND key = ?",
                (team_id, user_id, key),
            ).fetchone()
            values.append(None if row is None else str(row[0]))
        return values

    def _close_settings_connection(self) -> None:
        if self._settings_connection is not None:
            self._settings_connection.close()
            self._settings_connection = None

    async def set_setting(self, team_id: str, user_id: str, key: str, value: str) -> None:
        """Replace an agent's setting in the file."""

        def write() -> None:
            with closing(connect(self.path)) as connection:
                connection.execute(
                    "INSERT INTO agent_settings (team_id, user_id, key, value, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, user_id, key) "
                    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (team_id, user_id, key, value, datetime.now(UTC).isoformat()),
                )

        await asyncio.to_thread(write)

    async def search(self, criteria: AuditQuery) -> list[AuditRow]:
        """The audit rows matching ``criteria``, read-only."""

        def read() -> list[AuditRow]:
            with read_only(self.path) as connection:
                return search(connection, criteria)

        return await asyncio.to_thread(read)

    async def purge(self, older_than: datetime) -> int:
        """Delete old audit rows and fold the freed pages back (see :func:`purge`)."""
        return await asyncio.to_thread(purge, self.path, older_than)

    async def aclose(self) -> None:
        """Write the queued rows and hits, then stop both threads."""
        await self.audit.aclose()
        await asyncio.to_thread(self._hits.close)
        await asyncio.to_thread(self._settings.close)

    def problem(self) -> str | None:
        """Why audit rows cannot be stored now (for ``/readyz``); None while they can."""
        if self.audit.closed:
            return "the audit trail is closed: the process is stopping"
        if not self.audit.writer_alive:
            return "the audit writer has stopped; the next lookup restarts it (see the log)"
        if self.audit.last_write_failed:
            return "the last audit write failed (see the log): check AUDIT_DB's disk"
        return None

    def _close_hits_connection(self) -> None:
        if self._hits_connection is not None:
            self._hits_connection.close()
            self._hits_connection = None
