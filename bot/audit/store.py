"""The audit table in SQLite: one writer thread that batches rows, and the queries on it.

The event loop never touches the database. A row is queued with a future; the writer thread
takes everything queued at that moment, inserts it in one transaction and then resolves every
future, so hundreds of concurrent lookups cost a handful of commits, and a caller knows its
row is on disk (or that it is not) before the agent sees anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_BATCH = 500
WRITE_TIMEOUT_S = 10.0
"""A lookup waits this long for its row; a hung disk must not hang every lookup."""
BUSY_TIMEOUT_MS = 5_000  # another process (the audit CLI purging) may hold the write lock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lookups (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,            -- UTC, ISO 8601 with milliseconds
    team_id TEXT,
    user_id TEXT,
    channel_id TEXT,
    surface TEXT NOT NULL,       -- command | message_shortcut | modal | button
    identifier_kind TEXT,        -- hetu | custnum, or NULL when the request named none
    identifier_hash TEXT,        -- HMAC-SHA256(AUDIT_KEY, kind ":" value), hex; never the value
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
-- An agent's own choices (the language), kept with the audit trail as the app's one store.
CREATE TABLE IF NOT EXISTS agent_settings (
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,           -- language
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,    -- UTC, ISO 8601
    PRIMARY KEY (team_id, user_id, key)
);
"""


class AuditWriteError(Exception):
    """A row could not be stored: the lookup it describes must not be served unaudited."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One lookup attempt, as stored. Holds no identifier, only its keyed hash."""

    at: str
    team_id: str | None
    user_id: str | None
    channel_id: str | None
    surface: str
    identifier_kind: str | None
    identifier_hash: str | None
    include_paid: bool | None
    outcome: str
    detail: str | None
    invoice_count: int | None
    ropo_latency_ms: int | None
    reference: str

    @property
    def outcome_text(self) -> str:
        """``found 3``, ``none``, ``refused: guest``, ``error: timeout``."""
        if self.outcome == "found":
            return f"found {self.invoice_count}"
        return f"{self.outcome}: {self.detail}" if self.detail else self.outcome


COLUMNS = tuple(f.name for f in fields(AuditRow))
_ROW_PLACEHOLDERS = f"({', '.join('?' * len(COLUMNS))})"


@functools.lru_cache(maxsize=128)
def _insert_rows(count: int) -> str:
    """One INSERT of ``count`` rows.

    One statement per batch, not one per row: sqlite3 lets go of the GIL around every
    statement it steps, and while the event loop is busy each re-acquisition can wait a whole
    switch interval (5 ms), so executemany() of 100 rows took ~200 ms under load (bench/).
    A single statement is also atomic on its own, so a batch needs no BEGIN and COMMIT.
    """
    return (
        f"INSERT INTO lookups ({', '.join(COLUMNS)}) "  # noqa: S608 - this module's own columns
        f"VALUES {', '.join([_ROW_PLACEHOLDERS] * count)}"
    )


def _rows_per_statement(connection: sqlite3.Connection) -> int:
    """How many rows one INSERT may carry: SQLite caps a statement's parameters."""
    return connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMNS)


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection with the pragmas every user of the file needs."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # A committed row survives a crash of the process and of the machine: fsync every commit.
    connection.execute("PRAGMA synchronous = FULL")
    # Deleted rows (a purge) are overwritten, not left readable in free pages.
    connection.execute("PRAGMA secure_delete = ON")
    return connection


def create_schema(path: Path | str) -> None:
    """Create the file and table if missing, in WAL mode; raise ``sqlite3.Error`` if it can't."""
    with closing(connect(path)) as connection:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch {path} to WAL mode (got {mode})")
        connection.executescript(_SCHEMA)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


_STOP = object()
_Pending = tuple["AuditRow", asyncio.AbstractEventLoop, asyncio.Future[None]]


class AuditStore:
    """Appends rows from any event loop through one writer thread; ``close()`` drains it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        create_schema(self.path)
        self.transactions = 0  # commits so far: how well the batching works
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    async def append(self, row: AuditRow) -> None:
        """Store ``row``; return once it is committed, or raise :class:`AuditWriteError`."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._closed:
                raise AuditWriteError("the audit trail is closed")
            self._queue.put((row, loop, done))
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await asyncio.shield(done)
        except TimeoutError:
            logger.error("an audit row was not stored within %.0f s", WRITE_TIMEOUT_S)
            raise AuditWriteError("the audit trail did not answer in time") from None

    def close(self) -> None:
        """Write what is queued, then stop the writer. Later appends fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            connection = connect(self.path)
        except sqlite3.Error:
            logger.exception("AUDIT FAILURE: cannot open the audit database %s", self.path)
            connection = None
        try:
            while self._write_next_batch(connection):
                pass
        finally:
            if connection is not None:
                connection.close()

    def _write_next_batch(self, connection: sqlite3.Connection | None) -> bool:
        """Write one batch; False once the stop marker has been reached."""
        items = [self._queue.get()]
        while len(items) < MAX_BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        running = _STOP not in items
        pending: list[_Pending] = [item for item in items if isinstance(item, tuple)]
        if not pending:
            return running
        error: Exception | None = None
        try:
            if connection is None:
                raise sqlite3.OperationalError("the audit database could not be opened")
            _insert(connection, [astuple(row) for row, _, _ in pending])
            self.transactions += 1
        except Exception as exc:
            logger.exception(
                "AUDIT FAILURE: %d audit rows could not be written to %s", len(pending), self.path
            )
            error = exc
        waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, done in pending:
            waiting.setdefault(loop, []).append(done)
        for loop, futures in waiting.items():
            _resolve(loop, futures, error)
        return running


def _insert(connection: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    """Store ``rows`` in one transaction: a single statement when they fit in one."""
    per_statement = _rows_per_statement(connection)
    if len(rows) <= per_statement:
        connection.execute(_insert_rows(len(rows)), [value for row in rows for value in row])
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            connection.execute(_insert_rows(len(chunk)), [value for row in chunk for value in row])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _resolve(
    loop: asyncio.AbstractEventLoop, futures: list[asyncio.Future[None]], error: Exception | None
) -> None:
    """Settle a batch's futures on their loop, with one wake-up of that loop."""

    def settle() -> None:
        for done in futures:
            if done.done():
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(AuditWriteError(f"the audit row was not stored: {error}"))

    with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody waits
        loop.call_soon_threadsafe(settle)


# -- reading, for the people who answer data-subject requests ------------------------------


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which rows to find; every criterion given must match."""

    identifier_hash: str | None = None
    user_id: str | None = None
    since: date | None = None  # from this day on, UTC
    until: date | None = None  # up to and including this day, UTC


@contextmanager
def read_only(path: Path | str) -> Iterator[sqlite3.Connection]:
    """Open an existing audit database for reading; ``FileNotFoundError`` if there is none."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no audit database at {path}")
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        yield connection


def search(connection: sqlite3.Connection, criteria: AuditQuery) -> list[AuditRow]:
    """The rows matching ``criteria``, oldest first."""
    clauses: list[str] = []
    params: list[object] = []
    if criteria.identifier_hash is not None:
        clauses.append("identifier_hash = ?")
        params.append(criteria.identifier_hash)
    if criteria.user_id is not None:
        clauses.append("user_id = ?")
        params.append(criteria.user_id)
    if criteria.since is not None:
        clauses.append("at >= ?")
        params.append(criteria.since.isoformat())
    if criteria.until is not None:
        clauses.append("at < ?")
        params.append((criteria.until + timedelta(days=1)).isoformat())
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM lookups {where} ORDER BY at, id",  # noqa: S608 - fixed columns
        params,
    ).fetchall()
    return [_row(values) for values in rows]


def purge(path: Path | str, older_than: datetime) -> int:
    """Delete rows from before ``older_than`` (UTC) for good; return how many went."""
    create_schema(path)
    with closing(connect(path)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        deleted = connection.execute(
            "DELETE FROM lookups WHERE at < ?", (older_than.isoformat(timespec="milliseconds"),)
        ).rowcount
        connection.execute("COMMIT")
        # Fold the WAL back into the file, whose freed pages secure_delete has zeroed.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return deleted


def _row(values: tuple[object, ...]) -> AuditRow:
    row = dict(zip(COLUMNS, values, strict=True))
    if row["include_paid"] is not None:
        row["include_paid"] = bool(row["include_paid"])
    return AuditRow(**row)  # type: ignore[arg-type]


class AgentSettings:
    """An agent's own settings (``language``), in the audit database's ``agent_settings``.

    Read on every request, so each value is cached once read or written: only this process
    writes them, and there are as many as there are agents. The database is touched in a
    worker thread, never on the event loop.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._cache: dict[tuple[str, str, str], str | None] = {}

    async def get(self, team_id: str, user_id: str, key: str) -> str | None:
        """The agent's value for ``key``, or None if they never chose one."""
        cache_key = (team_id, user_id, key)
        if cache_key not in self._cache:
            self._cache[cache_key] = await asyncio.to_thread(self._read, *cache_key)
        return self._cache[cache_key]

    async def set(self, team_id: str, user_id: str, key: str, value: str) -> None:
        """Remember ``value`` for the agent; raises ``sqlite3.Error`` if it can't be stored."""
        await asyncio.to_thread(self._write, team_id, user_id, key, value)
        self._cache[(team_id, user_id, key)] = value

    def _read(self, team_id: str, user_id: str, key: str) -> str | None:
        with closing(connect(self.path)) as connection:
            row = connection.execute(
                "SELECT value FROM agent_settings WHERE team_id = ? AND user_id = ? AND key = ?",
                (team_id, user_id, key),
            ).fetchone()
        return None if row is None else str(row[0])

    def _write(self, team_id: str, user_id: str, key: str, value: str) -> None:
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with closing(connect(self.path)) as connection:
            connection.execute(
                "INSERT INTO agent_settings (team_id, user_id, key, value, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, user_id, key) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (team_id, user_id, key, value, at),
            )
