"""``python -m bot audit``: who looked up whom, for the people who answer data-subject requests.

Search by the person (``--hetu`` / ``--custnum``: hashed with ``AUDIT_KEY`` before searching,
never printed in full), by agent (``--user``), by date (``--since`` / ``--until``, UTC days),
as a table or CSV; or delete rows past retention (``--purge-older-than``).
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.audit.store import AuditQuery, AuditRow, purge, read_only, search
from bot.audit.trail import identifier_hash
from bot.query import Identifier, IdentifierKind, Refusal, parse_identifier
from bot.settings import Settings

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
        "--hetu", metavar="HETU", help="lookups of this identity code ('-': read it from stdin)"
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
    try:
        if args.purge_older_than is not None:
            return _purge(settings, args, path, out)
        criteria, person = _criteria(settings, args, stdin or sys.stdin)
        with read_only(path) as connection:
            rows = search(connection, criteria)
    except AuditCliError as exc:
        print(exc, file=err)
        return 2
    except (FileNotFoundError, sqlite3.Error) as exc:
        print(f"Cannot read the audit trail: {exc}", file=err)
        return 1
    if args.csv:
        write_csv(rows, out)
    else:
        write_table(rows, out)
        what = f" of {person}" if person else ""
        print(f"{len(rows):,} lookup{'s' if len(rows) != 1 else ''}{what} in {path}", file=out)
    return 0


def _criteria(
    settings: Settings, args: argparse.Namespace, stdin: TextIO
) -> tuple[AuditQuery, str | None]:
    identifier = _identifier(args, stdin)
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


def _identifier(args: argparse.Namespace, stdin: TextIO) -> Identifier | None:
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


def _purge(settings: Settings, args: argparse.Namespace, path: Path, out: TextIO) -> int:
    if any((args.hetu, args.custnum, args.user, args.since, args.until, args.csv)):
        raise AuditCliError("--purge-older-than takes no search options")
    days = (
        settings.audit_retention_days
        if args.purge_older_than == USE_RETENTION
        else args.purge_older_than
    )
    if not path.is_file():
        raise FileNotFoundError(f"no audit database at {path}")
    cutoff = datetime.now(UTC) - timedelta(days=days)
    deleted = purge(path, cutoff)
    print(
        f"Deleted {deleted:,} audit row{'s' if deleted != 1 else ''} older than {days} days "
        f"(before {cutoff.isoformat(timespec='seconds')}) from {path}",
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
