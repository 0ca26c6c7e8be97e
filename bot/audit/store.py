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
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.metrics import AUDIT_WRITES
from bot.store.batch import awaited_or_not
from bot.store.migrations import migrate_sqlite

logger = logging.getLogger(__name__)

MAX_BATCH = 500
WRITE_TIMEOUT_S = 10.0
"""A lookup waits this long for its row; a hung disk must not hang every lookup."""
BUSY_TIMEOUT_MS = 5_000  # another process (the audit CLI purging) may hold the write lock


# --- schema change 1 -> 2 (issue 11): what the agent saw ------------------------------------
# What a lookup's row says of its answer until it is known (bot.store.migrations, step 2).
DELIVERY_PENDING = "pending"


def _selected_columns(connection: sqlite3.Connection) -> str:
    """What to SELECT for :data:`COLUMNS`: a database not yet opened by the app lacks delivery."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(lookups)")}
    return ", ".join(name if name in columns else f"NULL AS {name}" for name in COLUMNS)


@functools.lru_cache(maxsize=128)
def _set_deliveries(count: int) -> str:
    """One UPDATE recording ``count`` deliveries (one statement a batch, as for inserts).

    Each goes to the newest row with its reference still pending: references are short and
    random, so an old row may share one. Parameters: ``count`` (reference, delivery) pairs,
    then the ``count`` references again.
    """
    cases = " ".join(["WHEN ? THEN ?"] * count)
    references = ", ".join("?" * count)
    return (
        f"UPDATE lookups SET delivery = CASE reference {cases} END "  # noqa: S608 - fixed text
        "WHERE id IN (SELECT max(id) FROM lookups "
        f"WHERE delivery = 'pending' AND reference IN ({references}) GROUP BY reference)"
    )


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
    delivery: str | None = None

    @property
    def outcome_text(self) -> str:
        """``found 3``, ``found 3 (cached)``, ``none``, ``refused: guest``, ``error: timeout``."""
        if self.outcome == "found":
            return f"found {self.invoice_count}" + (f" ({self.detail})" if self.detail else "")
        return f"{self.outcome}: {self.detail}" if self.detail else self.outcome


COLUMNS = tuple(f.name for f in fields(AuditRow))
_ROW_PLACEHOLDERS = f"({', '.join('?' * len(COLUMNS))})"


@functools.lru_cache(maxsize=128)
def _insert_rows(count: int) -> str:
    """One INSERT of ``count`` rows.

    One statement per batch, not one per row: sqlite3 lets go of the GIL around every
    statement it steps, and while the event loop is busy each re-acquisition can wait a whole
    switch interval, so executemany() of a batch takes many times longer under load (bench/).
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
    """Create the file if missing, in WAL mode, and migrate it; raise ``sqlite3.Error`` if not.

    WAL lets the processes of one host (``WEB_CONCURRENCY``) read while another writes.
    The schema itself is the list of versioned steps in :mod:`bot.store.migrations`.
    """
    with closing(connect(path)) as connection:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch {path} to WAL mode (got {mode})")
        migrate_sqlite(connection)


_STOP = object()
_Pending = tuple["AuditRow", asyncio.AbstractEventLoop, asyncio.Future[None]]


@dataclass(frozen=True, slots=True)
class _DeliveryUpdate:
    """A row's delivery, once known; ``done`` is None when nobody waits for it."""

    reference: str
    delivery: str
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None] | None


class AuditStore:
    """Appends rows from any event loop through one writer thread; ``close()`` drains it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        create_schema(self.path)
        self.transactions = 0  # commits so far: how well the batching works
        self.last_write_failed = False  # the latest batch could not be stored (readiness)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = self._start_writer()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: appends fail from then on."""
        return self._closed

    @property
    def writer_alive(self) -> bool:
        """True while the writer thread runs; rows queued without it are never stored."""
        return self._thread.is_alive()

    def _start_writer(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        thread.start()
        return thread

    async def append(self, row: AuditRow) -> None:
        """Store ``row``; return once it is committed, or raise :class:`AuditWriteError`."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = awaited_or_not(loop.create_future())
        with self._lock:
            if self._closed:
                raise AuditWriteError("the audit trail is closed")
            if not self._thread.is_alive():
                # A bug killed it; without a writer every lookup's answer would be withheld.
                logger.error("AUDIT FAILURE: the audit writer had stopped; starting a new one")
                self._thread = self._start_writer()
            self._queue.put((row, loop, done))
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await asyncio.shield(done)
        except TimeoutError:
            logger.error("an audit row was not stored within %.0f s", WRITE_TIMEOUT_S)
            raise AuditWriteError("the audit trail did not answer in time") from None

    async def set_delivery(self, reference: str, delivery: str, *, wait: bool = True) -> None:
        """Record what became of the answer of the pending row ``reference``.

        Queued behind every row appended before it, so it applies even to a row whose
        :meth:`append` timed out and is written later. With ``wait`` it returns once stored
        (or raises :class:`AuditWriteError`); without, at once (a failure is logged).
        """
        loop = asyncio.get_running_loop()
        done = awaited_or_not(loop.create_future()) if wait else None
        with self._lock:
            if self._closed:
                raise AuditWriteError("the audit trail is closed")
            self._queue.put(_DeliveryUpdate(reference, delivery, loop, done))
        if done is None:
            return
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await asyncio.shield(done)
        except TimeoutError:
            logger.error("a delivery was not stored within %.0f s", WRITE_TIMEOUT_S)
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
        updates = [item for item in items if isinstance(item, _DeliveryUpdate)]
        if pending:
            self._write_rows(connection, pending)
        if updates:  # after the rows: an update queued behind its row finds it
            self._write_deliveries(connection, updates)
        return running

    def _write_rows(self, connection: sqlite3.Connection | None, pending: list[_Pending]) -> None:
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
        self.last_write_failed = error is not None
        AUDIT_WRITES.labels("failed" if error else "stored").inc(len(pending))
        waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, done in pending:
            waiting.setdefault(loop, []).append(done)
        for loop, futures in waiting.items():
            _resolve(loop, futures, error)

    def _write_deliveries(
        self, connection: sqlite3.Connection | None, updates: list[_DeliveryUpdate]
    ) -> None:
        error: Exception | None = None
        try:
            if connection is None:
                raise sqlite3.OperationalError("the audit database could not be opened")
            per_statement = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 3
            for start in range(0, len(updates), per_statement):
                chunk = updates[start : start + per_statement]
                pairs = [value for u in chunk for value in (u.reference, u.delivery)]
                references = [u.reference for u in chunk]
                connection.execute(_set_deliveries(len(chunk)), pairs + references)
        except Exception as exc:
            logger.exception(
                "AUDIT FAILURE: the delivery of %d lookups could not be written to %s",
                len(updates),
                self.path,
            )
            error = exc
        for update in updates:
            if update.done is not None:
                _resolve(update.loop, [update.done], error)


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

    def where(self, mark: str, day: Callable[[date], object]) -> tuple[str, list[object]]:
        """``WHERE …`` (or nothing) and its parameters, in either store's dialect.

        ``mark`` is the driver's placeholder (``?``, ``%s``); ``day`` writes a day's UTC
        midnight as the store compares ``at`` with it.
        """
        clauses: list[str] = []
        params: list[object] = []
        if self.identifier_hash is not None:
            clauses.append(f"identifier_hash = {mark}")
            params.append(self.identifier_hash)
        if self.user_id is not None:
            clauses.append(f"user_id = {mark}")
            params.append(self.user_id)
        if self.since is not None:
            clauses.append(f"at >= {mark}")
            params.append(day(self.since))
        if self.until is not None:
            clauses.append(f"at < {mark}")
            params.append(day(self.until + timedelta(days=1)))
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


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
    where, params = criteria.where("?", date.isoformat)  # ISO text sorts as time does
    rows = connection.execute(
        f"SELECT {_selected_columns(connection)} FROM lookups {where} ORDER BY at, id",  # noqa: S608 - fixed columns
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
