"""``python -m bot audit``: who looked up whom, for the people who answer data-subject requests.

Search by the person (``--ssn`` any country's identity code, ``--hetu`` a Finnish one,
``--custnum``: hashed with ``AUDIT_KEY`` before searching,
never printed in full), by agent (``--user``), by date (``--since`` / ``--until``, UTC days),
as a table or CSV; or delete rows past retention (``--purge-older-than``). Reads the store
the app writes: PostgreSQL with ``DATABASE_URL``, else the SQLite file at ``AUDIT_DB``
(``--db`` names a SQLite file either way).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO, TypeVar

import psycopg

from bot.audit.store import AuditQuery, AuditRow, purge, read_only, search
from bot.audit.trail import identifier_hash
from bot.national_ids import Country
from bot.query import Identifier, IdentifierKind, Refusal, parse_identifier
from bot.settings import Settings
from bot.store.postgres import PostgresStore, describe_url

T = TypeVar("T")

USE_RETENTION = -1
"""``--purge-older-than`` without a number: AUDIT_RETENTION_DAYS."""

CSV_COLUMNS = (
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
)
TABLE_COLUMNS = (
    "time (UTC)",
    "user",
    "channel",
    "surface",
    "kind",
    "person",
    "paid",
    "outcome",
    "delivery",
    "ms",
    "reference",
)
HASH_SHOWN = 12  # enough to tell people apart in a table; the CSV has the whole hash


class AuditCliError(Exception):
    """A problem with the command line, explained for the person typing it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``audit`` subcommand's options."""
    person = parser.add_mutually_exclusive_group()
    person.add_argument(
        "--ssn",
        metavar="CODE",
        help="lookups of this identity code: HETU, personnummer or fødselsnummer, written any "
        "accepted way ('-': read it from stdin)",
    )
    person.add_argument(
        "--hetu", metavar="HETU", help="lookups of this Finnish identity code ('-': from stdin)"
    )
    person.add_argument(
        "--custnum", metavar="NUMBER", help="lookups of this customer number ('-': from stdin)"
    )
    parser.add_argument("--user", metavar="USER_ID", help="lookups by this Slack user (U…)")
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="from this day (UTC)")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="to this day (UTC)")
    parser.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    parser.add_argument("--db", type=Path, metavar="PATH", help="default: $AUDIT_DB")
    parser.add_argument(
        "--purge-older-than",
        type=_days,
        nargs="?",
        const=USE_RETENTION,
        metavar="DAYS",
        help="delete rows older than DAYS (default: $AUDIT_RETENTION_DAYS) and say how many",
    )


def run(
    settings: Settings,
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Carry out ``python -m bot audit``; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    path: Path = args.db or settings.audit_db
    postgres = settings.database_url if args.db is None else None
    where = describe_url(postgres.get_secret_value()) if postgres else str(path)
    try:
        if args.purge_older_than is not None:
            return _purge(settings, args, path, out)
        criteria, person = _criteria(settings, args, stdin or sys.stdin)
        if postgres is not None:
            store = PostgresStore(postgres.get_secret_value())
            where = store.where
            rows = _on_postgres(store, lambda: store.search(criteria))
        else:
            with read_only(path) as connection:
                rows = search(connection, criteria)
    except AuditCliError as exc:
        print(exc, file=err)
        return 2
    except (FileNotFoundError, sqlite3.Error) as exc:
        print(f"Cannot read the audit trail: {exc}", file=err)
        return 1
    except psycopg.Error as exc:
        print(f"Cannot read the audit trail in {where}: {_first_line(exc)}", file=err)
        return 1
    if args.csv:
        write_csv(rows, out)
    else:
        write_table(rows, out)
        what = f" of {person}" if person else ""
        print(f"{len(rows):,} lookup{'s' if len(rows) != 1 else ''}{what} in {where}", file=out)
    return 0


def _on_postgres(store: PostgresStore, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` on ``store`` in an event loop of its own, then close the store."""

    async def run() -> T:
        await store.start()
        try:
            return await work()
        finally:
            await store.aclose()

    return asyncio.run(run())


def _first_line(exc: Exception) -> str:
    """The driver's message, first line: it names the server, never the password."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _criteria(
    settings: Settings, args: argparse.Namespace, stdin: TextIO
) -> tuple[AuditQuery, str | None]:
    identifier = _identifier(args, stdin, settings.country)
    hashed = None
    if identifier is not None:
        if settings.audit_key is None:
            raise AuditCliError(
                "AUDIT_KEY is not set: searching by identifier needs the key the app ran with"
            )
        hashed = identifier_hash(settings.audit_key.get_secret_value().encode(), identifier)
    if args.since and args.until and args.since > args.until:
        raise AuditCliError("--since is after --until")
    criteria = AuditQuery(
        identifier_hash=hashed, user_id=args.user, since=args.since, until=args.until
    )
    person = f"{identifier.kind.value} {identifier.display}" if identifier else None
    return criteria, person


def _identifier(
    args: argparse.Namespace, stdin: TextIO, country: Country = Country.FI
) -> Identifier | None:
    if args.ssn is not None:
        return _identity_code(_read(args.ssn, stdin), country)
    if args.hetu is None and args.custnum is None:
        return None
    kind = IdentifierKind.HETU if args.hetu is not None else IdentifierKind.CUSTOMER_NUMBER
    text = args.hetu if args.hetu is not None else args.custnum
    if text == "-":  # keeps the identity code out of the shell history and the process list
        text = stdin.readline().strip()
    prefix = "hetu:" if kind is IdentifierKind.HETU else "cust:"
    parsed = parse_identifier(prefix + text)
    if isinstance(parsed, Refusal):
        option = "--hetu" if kind is IdentifierKind.HETU else "--custnum"
        raise AuditCliError(f"{option}: {parsed.message}")
    return parsed


def _read(text: str, stdin: TextIO) -> str:
    """The option's value, or a line of stdin for ``-`` (out of shell history and ``ps``)."""
    return stdin.readline().strip() if text == "-" else text


def _identity_code(text: str, country: Country) -> Identifier:
    """``text`` as an identity code: ROPO_COUNTRY's first, then any other country's.

    The audit trail hashes each code in one canonical form, so a personnummer typed with 10
    digits finds the lookups typed with 12.
    """
    first = parse_identifier(f"ssn:{text}", country)
    if isinstance(first, Identifier):
        return first
    for other in Country:
        parsed = parse_identifier(f"ssn:{text}", other)
        if isinstance(parsed, Identifier):
            return parsed
    raise AuditCliError(f"--ssn: {first.message}")


def _purge(settings: Settings, args: argparse.Namespace, path: Path, out: TextIO) -> int:
    if any((args.ssn, args.hetu, args.custnum, args.user, args.since, args.until, args.csv)):
        raise AuditCliError("--purge-older-than takes no search options")
    days = (
        settings.audit_retention_days
        if args.purge_older_than == USE_RETENTION
        else args.purge_older_than
    )
    cutoff = datetime.now(UTC) - timedelta(days=days)
    if settings.database_url is not None and args.db is None:
        store = PostgresStore(settings.database_url.get_secret_value())
        where = store.where
        deleted = _on_postgres(store, lambda: store.purge(cutoff))
    else:
        if not path.is_file():
            raise FileNotFoundError(f"no audit database at {path}")
        where = str(path)
        deleted = purge(path, cutoff)
    print(
        f"Deleted {deleted:,} audit row{'s' if deleted != 1 else ''} older than {days} days "
        f"(before {cutoff.isoformat(timespec='seconds')}) from {where}",
        file=out,
    )
    return 0


def write_csv(rows: Sequence[AuditRow], out: TextIO) -> None:
    """Every row with every column, the whole hash included."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.at,
                row.team_id or "",
                row.user_id or "",
                row.channel_id or "",
                row.surface,
                row.identifier_kind or "",
                row.identifier_hash or "",
                "" if row.include_paid is None else int(row.include_paid),
                row.outcome_text,
                row.delivery or "",
                "" if row.ropo_latency_ms is None else row.ropo_latency_ms,
                row.reference,
            )
        )


def write_table(rows: Sequence[AuditRow], out: TextIO) -> None:
    """A plain-text table, one lookup a line, for reading in a terminal."""
    lines = [TABLE_COLUMNS] + [
        (
            row.at[:19].replace("T", " "),
            row.user_id or "-",
            row.channel_id or "-",
            row.surface,
            row.identifier_kind or "-",
            (row.identifier_hash or "-")[:HASH_SHOWN],
            {None: "-", True: "yes", False: "no"}[row.include_paid],
            row.outcome_text,
            (row.delivery or "-").replace("_", " "),
            "-" if row.ropo_latency_ms is None else str(row.ropo_latency_ms),
            row.reference,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_COLUMNS))]
    for line in lines:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-01-31") from None


def _days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (1 or more)")
    return int(text)
