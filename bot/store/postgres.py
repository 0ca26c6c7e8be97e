"""The shared store: PostgreSQL at ``DATABASE_URL``, for instances on any number of hosts.

psycopg 3 with its async connection pool. Audit rows and rate-limit hits are batched by one
task each (:class:`bot.store.batch.AsyncBatcher`): a batch is one transaction on one pooled
connection, so a burst of lookups costs a few round trips and never blocks the event loop.

When PostgreSQL goes away (a restart, a fail-over) a batch fails within
:data:`CONNECT_TIMEOUT_S`: its lookups are withheld as not recorded, never shown unaudited.
The pool checks each connection before lending it and opens new ones in the background, so
the app recovers by itself once the server is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from bot.audit.store import COLUMNS, WRITE_TIMEOUT_S, AuditQuery, AuditRow, AuditWriteError
from bot.metrics import AUDIT_WRITES
from bot.store.base import Hit, StoreUnavailable, decide_hits, oldest_relevant
from bot.store.batch import AsyncBatcher, BatchClosedError

logger = logging.getLogger(__name__)

POOL_MAX_SIZE = 10  # two batchers, settings and searches: ample, and kind to a managed plan
CONNECT_TIMEOUT_S = 3.0
"""How long a batch waits for a connection: while the server is down, agents hear soon."""
RATE_LIMIT_LOCK = 7_310_514_014
"""The advisory lock that makes counting a batch of hits atomic across instances."""

_INSERT_ROWS = (
    f"INSERT INTO lookups ({', '.join(COLUMNS)}) "  # noqa: S608 - this package's own columns
    f"VALUES ({', '.join(['%s'] * len(COLUMNS))})"
).encode()
# The newest row of the reference still pending: references are short and random, so an old
# row may share one (bot.store.migrations, step 2).
_SET_DELIVERY = (
    b"UPDATE lookups SET delivery = %s WHERE id = (SELECT max(id) FROM lookups "
    b"WHERE reference = %s AND delivery = 'pending')"
)
_SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM lookups".encode()  # noqa: S608


SettingKey = tuple[str, str, str]
"""(team, agent, the setting's name)."""


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What became of the answer of lookup ``reference``: queued behind the rows before it."""

    reference: str
    delivery: str


def describe_url(url: str) -> str:
    """``url`` without its password or options, for logs and messages."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (DATABASE_URL could not be parsed)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"PostgreSQL {parts.get('user') or ''}@{host}:{port}/{parts.get('dbname') or ''}"


class PostgresStore:
    """:class:`bot.store.base.Store` in PostgreSQL; migrate it first (bot.store.open)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX_SIZE,
            open=False,
            check=AsyncConnectionPool.check_connection,  # a restarted server's dead sockets
            kwargs={"autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT_S)},
            timeout=CONNECT_TIMEOUT_S,
            reconnect_timeout=float("inf"),  # keep trying: the app must recover by itself
            name="bot-store",
        )
        # Rows and their deliveries share one queue, so a delivery never overtakes its row.
        self._rows: AsyncBatcher[AuditRow | _Delivery, None] = AsyncBatcher(
            self._insert, "audit-writer"
        )
        self._unwaited: set[asyncio.Task[None]] = set()
        self._hits: AsyncBatcher[Hit, float | None] = AsyncBatcher(self._count, "rate-limit")
        # Every request reads its agent's language (cached for a while): a rush of agents
        # new to this process is one query per batch, not a pooled connection each.
        self._settings: AsyncBatcher[SettingKey, str | None] = AsyncBatcher(
            self._read_settings, "agent-settings"
        )
        self.transactions = 0  # audit commits so far: how well the batching works
        self.last_write_failed = False  # the latest batch could not be stored (readiness)
        self._closed = False

    @property
    def where(self) -> str:
        """The server and database, without the password."""
        return describe_url(self._url)

    async def start(self) -> None:
        """Open the pool without waiting: a server that is down is retried in the background."""
        await self._pool.open(wait=False)

    async def append(self, row: AuditRow) -> None:
        """Store ``row`` in the next batch; raise :class:`AuditWriteError` if it is not."""
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self._rows.submit(row)
        except TimeoutError:
            logger.error("an audit row was not stored within %.0f s", WRITE_TIMEOUT_S)
            raise AuditWriteError("the audit trail did not answer in time") from None
        except BatchClosedError:
            raise AuditWriteError("the audit trail is closed") from None
        except psycopg.Error as exc:
            raise AuditWriteError(f"the audit row was not stored: {type(exc).__name__}") from None

    async def set_delivery(self, reference: str, delivery: str, *, wait: bool = True) -> None:
        """Record what became of lookup ``reference``'s answer; without ``wait``, at once."""
        if not wait:
            task = asyncio.create_task(self._set_delivery(reference, delivery))
            self._unwaited.add(task)
            task.add_done_callback(self._unwaited.discard)
            return
        await self._set_delivery(reference, delivery)

    async def _set_delivery(self, reference: str, delivery: str) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self._rows.submit(_Delivery(reference, delivery))
        except (TimeoutError, BatchClosedError, psycopg.Error):
            logger.error("the delivery of lookup %s was not stored", reference)
            raise AuditWriteError("the delivery was not stored") from None

    async def _insert(self, items: list[AuditRow | _Delivery]) -> Sequence[None]:
        rows = [item for item in items if isinstance(item, AuditRow)]
        values = [_stored(row) for row in rows]
        deliveries = [
            (item.delivery, item.reference) for item in items if isinstance(item, _Delivery)
        ]
        try:
            # Pipelined: BEGIN, the rows, the deliveries and COMMIT go out together, so a batch
            # is one round trip, not one per statement, however busy the event loop is.
            async with (
                self._pool.connection() as connection,
                connection.pipeline(),
                connection.transaction(),
                connection.cursor() as cursor,
            ):
                if values:
                    await cursor.executemany(_INSERT_ROWS, values)
                if deliveries:
                    await cursor.executemany(_SET_DELIVERY, deliveries)
        except psycopg.Error:
            self.last_write_failed = True
            AUDIT_WRITES.labels("failed").inc(len(rows))
            logger.exception(
                "AUDIT FAILURE: %d audit rows could not be written to %s", len(rows), self.where
            )
            raise
        self.last_write_failed = False
        AUDIT_WRITES.labels("stored").inc(len(rows))
        self.transactions += 1
        return [None] * len(items)

    async def hit(self, hit: Hit) -> float | None:
        """Count ``hit`` with every instance's hits (see :func:`bot.store.base.decide_hits`)."""
        try:
            return await self._hits.submit(hit)
        except (psycopg.Error, BatchClosedError) as exc:
            raise StoreUnavailable(
                f"the rate limit could not be read: {type(exc).__name__}"
            ) from exc

    async def _count(self, hits: list[Hit]) -> Sequence[float | None]:
        keys = sorted({hit.key for hit in hits})
        async with (
            self._pool.connection() as connection,
            # Pipelined: the statements before the decision are one round trip, and the
            # insert with COMMIT another. Each round trip waits its turn on a busy event loop.
            connection.pipeline() as pipeline,
            connection.transaction(),
        ):
            # One batch at a time across every instance: they read, decide and write in turn.
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (RATE_LIMIT_LOCK,))
            await connection.execute(
                "DELETE FROM rate_limit_hits WHERE at <= %s", (oldest_relevant(hits),)
            )
            cursor = await connection.execute(
                "SELECT key, at FROM rate_limit_hits WHERE key = ANY(%s)", (keys,)
            )
            await pipeline.sync()
            decisions = decide_hits(hits, await cursor.fetchall())
            allowed = [
                (hit.key, hit.now) for hit, d in zip(hits, decisions, strict=True) if d is None
            ]
            if allowed:
                await connection.execute(
                    "INSERT INTO rate_limit_hits (key, at) "
                    "SELECT * FROM unnest(%s::text[], %s::float8[])",
                    ([key for key, _ in allowed], [at for _, at in allowed]),
                )
        return decisions

    async def get_setting(self, team_id: str, user_id: str, key: str) -> str | None:
        """An agent's setting from the database; :class:`StoreUnavailable` if it can't be read."""
        try:
            return await self._settings.submit((team_id, user_id, key))
        except BatchClosedError:
            return None  # stopping: the default applies
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"the agent's setting could not be read: {type(exc).__name__}"
            ) from exc

    async def _read_settings(self, wanted: list[SettingKey]) -> Sequence[str | None]:
        teams, users, keys = (list(column) for column in zip(*wanted, strict=True))
        async with self._pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT s.team_id, s.user_id, s.key, s.value FROM agent_settings s "
                "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS w(team_id, user_id, key) "
                "USING (team_id, user_id, key)",
                (teams, users, keys),
            )
            found = {(t, u, k): str(v) for t, u, k, v in await cursor.fetchall()}
        return [found.get(item) for item in wanted]

    async def set_setting(self, team_id: str, user_id: str, key: str, value: str) -> None:
        """Replace an agent's setting in the database."""
        async with self._pool.connection() as connection:
            await connection.execute(
                "INSERT INTO agent_settings (team_id, user_id, key, value) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (team_id, user_id, key) "
                "DO UPDATE SET value = excluded.value, updated_at = now()",
                (team_id, user_id, key, value),
            )

    async def search(self, criteria: AuditQuery) -> list[AuditRow]:
        """The audit rows matching ``criteria``, oldest first."""
        where, params = criteria.where("%s", _midnight)
        query = _SELECT_ROWS + f" {where} ORDER BY at, id".encode()
        async with self._pool.connection() as connection:
            cursor = await connection.execute(query, params)
            return [_row(values) for values in await cursor.fetchall()]

    async def purge(self, older_than: datetime) -> int:
        """Delete audit rows from before ``older_than``; return how many went."""
        async with self._pool.connection() as connection:
            cursor = await connection.execute("DELETE FROM lookups WHERE at < %s", (older_than,))
            return cursor.rowcount

    async def aclose(self) -> None:
        """Write the queued rows and hits, then close the pool."""
        self._closed = True
        if self._unwaited:
            await asyncio.gather(*self._unwaited, return_exceptions=True)
        await self._rows.aclose()
        await self._hits.aclose()
        await self._settings.aclose()
        await self._pool.close()

    def problem(self) -> str | None:
        """Why audit rows cannot be stored now (for ``/readyz``); None while they can."""
        if self._closed:
            return "the audit trail is closed: the process is stopping"
        if self.last_write_failed:
            return "the last audit write failed (see the log): is PostgreSQL up?"
        return None


def _stored(row: AuditRow) -> tuple[object, ...]:
    values = list(astuple(row))
    values[COLUMNS.index("at")] = datetime.fromisoformat(row.at)
    return tuple(values)


def _row(values: tuple[Any, ...]) -> AuditRow:
    row = dict(zip(COLUMNS, values, strict=True))
    row["at"] = row["at"].astimezone(UTC).isoformat(timespec="milliseconds")
    return AuditRow(**row)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
