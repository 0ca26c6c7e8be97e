"""The store's one interface, run against both implementations: SQLite and real PostgreSQL.

Two store objects on one database stand for two instances of the app: what one counts and
records, the other sees.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from bot.access.ratelimit import SlidingWindowLimiter
from bot.audit.store import AuditQuery, AuditRow
from bot.settings import Settings
from bot.store.base import Store
from bot.store.migrations import MIGRATIONS
from bot.store.open import migrate, open_store

OpenStore = Callable[[], Awaitable[Store]]


class Clock:
    """Wall-clock seconds the test sets."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def row(reference: str, at: str = "2025-03-04T05:06:07.123+00:00", **changes: object) -> AuditRow:
    values: dict[str, object] = {
        "at": at,
        "team_id": "T0TEAM",
        "user_id": "U0AGENT01",
        "channel_id": "C0CHAN",
        "surface": "command",
        "identifier_kind": "hetu",
        "identifier_hash": "ab" * 32,
        "include_paid": False,
        "outcome": "found",
        "detail": None,
        "invoice_count": 3,
        "ropo_latency_ms": 42,
        "reference": reference,
        **changes,
    }
    return AuditRow(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
async def open_instance(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    """Opens one more store on this test's database, as one more instance would."""
    if request.param == "sqlite":
        settings = Settings(_env_file=None, audit_db=tmp_path / "store.db")
    else:
        url = request.getfixturevalue("database_url")
        settings = Settings(_env_file=None, database_url=url)
    opened: list[Store] = []

    async def open_one() -> Store:
        store = open_store(settings)
        await store.start()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.aclose()


def count_hits(store: Store) -> int:
    """Rows in the rate limit's table, read beside the store."""
    from bot.store.postgres import PostgresStore
    from bot.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        with closing(sqlite3.connect(store.path)) as connection:
            return int(connection.execute("SELECT count(*) FROM rate_limit_hits").fetchone()[0])
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store._url) as connection:
        found = connection.execute("SELECT count(*) FROM rate_limit_hits").fetchone()
    assert found is not None
    return int(found[0])


async def test_rows_come_back_as_they_were_stored_oldest_first(open_instance: OpenStore) -> None:
    store = await open_instance()
    later = row(
        "R-2",
        at="2025-03-05T00:00:00.000+00:00",
        include_paid=True,
        outcome="none",
        invoice_count=0,
        identifier_hash="cd" * 32,
    )
    refused = row(
        "R-3",
        at="2025-03-06T23:59:59.999+00:00",
        outcome="refused",
        detail="rate_limited",
        invoice_count=None,
        ropo_latency_ms=None,
        identifier_kind=None,
        identifier_hash=None,
        include_paid=None,
    )
    for item in (later, row("R-1"), refused):
        await store.append(item)

    assert await store.search(AuditQuery()) == [row("R-1"), later, refused]
    assert await store.search(AuditQuery(identifier_hash="cd" * 32)) == [later]
    assert await store.search(AuditQuery(since=date(2025, 3, 5), until=date(2025, 3, 5))) == [later]
    assert await store.search(AuditQuery(until=date(2025, 3, 6))) == [row("R-1"), later, refused]
    assert await store.search(AuditQuery(user_id="U0NOBODY")) == []


async def test_two_instances_write_one_audit_trail(open_instance: OpenStore) -> None:
    first, second = await open_instance(), await open_instance()
    await asyncio.gather(
        *(first.append(row(f"A-{n:03}")) for n in range(150)),
        *(second.append(row(f"B-{n:03}")) for n in range(150)),
    )
    references = sorted(r.reference for r in await first.search(AuditQuery()))
    assert references == sorted(
        [f"A-{n:03}" for n in range(150)] + [f"B-{n:03}" for n in range(150)]
    )


async def test_closing_the_store_first_writes_every_row_already_queued(
    open_instance: OpenStore,
) -> None:
    store = await open_instance()
    writes = [asyncio.create_task(store.append(row(f"Q-{n:02}"))) for n in range(50)]
    await asyncio.sleep(0)  # every append has queued its row
    await store.aclose()  # what a SIGTERM comes down to
    await asyncio.gather(*writes)
    reader = await open_instance()
    assert len(await reader.search(AuditQuery())) == 50


async def test_purge_deletes_only_rows_older_than_the_cutoff(open_instance: OpenStore) -> None:
    store = await open_instance()
    await store.append(row("OLD", at="2024-01-01T00:00:00.000+00:00"))
    await store.append(row("NEW", at="2025-06-01T00:00:00.000+00:00"))
    assert await store.purge(datetime(2025, 1, 1, tzinfo=UTC)) == 1
    assert [r.reference for r in await store.search(AuditQuery())] == ["NEW"]


async def test_an_agents_setting_is_kept_per_team_and_user_and_replaced(
    open_instance: OpenStore,
) -> None:
    store, other = await open_instance(), await open_instance()
    assert await store.get_setting("T1", "U1", "language") is None
    await store.set_setting("T1", "U1", "language", "fi")
    await store.set_setting("T1", "U2", "language", "sv")
    await store.set_setting("T1", "U1", "language", "en")
    assert await other.get_setting("T1", "U1", "language") == "en"
    assert await other.get_setting("T1", "U2", "language") == "sv"
    assert await other.get_setting("T2", "U1", "language") is None


async def test_settings_asked_for_at_once_each_get_their_own_agents_value(
    open_instance: OpenStore,
) -> None:
    """A rush of agents is read in batches: every answer must still go to its own asker."""
    store, other = await open_instance(), await open_instance()
    chosen = {f"U{i:03d}": ("fi", "sv", "nb")[i % 3] for i in range(0, 60, 2)}
    for user, language in chosen.items():
        await store.set_setting("T1", user, "language", language)
    asked = [("T1", f"U{i:03d}") for i in range(60)] + [("T2", "U000")]
    answers = await asyncio.gather(*(other.get_setting(t, u, "language") for t, u in asked))
    expected = [chosen.get(u) if t == "T1" else None for t, u in asked]
    assert answers == expected


async def test_the_31st_lookup_in_a_minute_is_refused_whichever_instance_counts_it(
    open_instance: OpenStore,
) -> None:
    clock = Clock()
    start = clock.now
    one = SlidingWindowLimiter(30, await open_instance(), clock=clock)
    two = SlidingWindowLimiter(30, await open_instance(), clock=clock)
    for second in range(30):
        clock.now = start + second
        assert await (one if second % 2 else two).hit("U1") is None
    clock.now = start + 30
    assert await one.hit("U1") == 30  # the first lookup leaves the window at start + 60
    assert await two.hit("U1") == 30
    assert await two.hit("U2") is None  # per agent


async def test_the_window_slides_and_refused_attempts_do_not_count(
    open_instance: OpenStore,
) -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(2, await open_instance(), clock=clock)
    assert await limiter.hit("U1") is None
    clock.now += 30
    assert await limiter.hit("U1") is None
    for _ in range(10):
        assert await limiter.hit("U1") == 30
    clock.now += 30  # the first hit has left the window; the refusals never entered it
    assert await limiter.hit("U1") is None
    assert await limiter.hit("U1") == 30


async def test_a_burst_of_concurrent_lookups_lets_exactly_the_limit_through(
    open_instance: OpenStore,
) -> None:
    clock = Clock()
    one = SlidingWindowLimiter(30, await open_instance(), clock=clock)
    two = SlidingWindowLimiter(30, await open_instance(), clock=clock)
    answers = await asyncio.gather(*((one, two)[n % 2].hit("U1") for n in range(45)))
    assert answers.count(None) == 30
    assert set(answers) == {None, 60}


async def test_expired_hits_are_swept_from_the_store(open_instance: OpenStore) -> None:
    clock = Clock()
    store = await open_instance()
    limiter = SlidingWindowLimiter(30, store, clock=clock)
    for agent in ("U1", "U2", "U3"):
        assert await limiter.hit(agent) is None
    assert count_hits(store) == 3
    clock.now += 61  # every hit is past its window
    assert await limiter.hit("U4") is None
    assert count_hits(store) == 1  # U4's; the three expired ones were deleted


async def test_limit_zero_means_no_limit_and_stores_nothing(open_instance: OpenStore) -> None:
    store = await open_instance()
    limiter = SlidingWindowLimiter(0, store)
    assert all([await limiter.hit("U1") is None for _ in range(100)])
    assert count_hits(store) == 0


def test_migrating_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, audit_db=tmp_path / "twice.db")
    migrate(settings)
    migrate(settings)
    with closing(sqlite3.connect(settings.audit_db)) as connection:
        versions = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [v for (v,) in versions] == [step.version for step in MIGRATIONS]


def test_a_database_url_that_is_not_postgresql_is_refused_without_echoing_it() -> None:
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, database_url="mysql://bot:s3cret-pw@db/x")
    assert "DATABASE_URL" in str(refused.value)
    assert "s3cret-pw" not in str(refused.value)


def test_one_worker_and_sqlite_are_the_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.web_concurrency == 1
    assert settings.database_url is None


async def test_a_store_that_cannot_count_lets_the_request_through_and_says_so(
    open_instance: OpenStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_instance()
    limiter = SlidingWindowLimiter(1, store)
    await store.aclose()  # as good as a database that has gone away
    assert await limiter.hit("U1") is None
    assert await limiter.hit("U1") is None  # nothing counted: its audit row decides
    assert "the rate limit could not be counted in the store" in caplog.text
