"""Failures no other test reached: an error no listener handled, an audit database the writer
cannot open, and a shutdown that cannot wait for every answer."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.audit import AuditTrail, AuditWriteError
from bot.audit import store as audit_store
from bot.audit.store import AuditStore
from bot.lookup import FailureKind, LookupFailure
from bot.query import Query
from bot.ropo.models import Invoice
from bot.settings import Settings
from bot.slack.app import create_ropo_client, create_services
from tests.conftest import LogHygiene, Stack
from tests.test_audit import AGENT, HETU, KEY, Source, lookup_with

# --- an error no listener handled ----------------------------------------------------------


def test_an_error_no_listener_handled_gets_the_agent_a_private_apology_with_a_reference(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, log_hygiene: LogHygiene
) -> None:
    def broken_parser(text: str, *_: object) -> None:
        raise RuntimeError(f"a bug while reading {text}")  # the identity code in the error

    monkeypatch.setattr("bot.listeners.commands.parse_command", broken_parser)

    _, token = stack.command("131052-308T")  # Bolt answers the unacknowledged request 500
    reply = stack.reply(token)

    assert reply["response_type"] == "ephemeral"
    assert "problem in this app" in str(reply["blocks"])
    reference = re.search(r"Reference: (R-[0-9A-Z]{6})", reply["text"])
    assert reference is not None, reply["text"]
    logged = log_hygiene.written()
    # The log line carries the same reference, the traceback, and the code masked.
    assert f"unexpected error {reference.group(1)} handling a /invoices request" in logged
    assert "RuntimeError: a bug while reading 131052-****" in logged
    stack.settle()
    assert stack.ropo.lookups == []
    assert len(stack.slack.responses()) == 1  # one apology, nothing else


# --- the audit writer cannot open its database -----------------------------------------------


@pytest.fixture
def writer_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database opens at start-up, but not in the writer thread (a volume that went away)."""
    connect: Callable[[Path | str], sqlite3.Connection] = audit_store.connect

    def connect_unless_writer(path: Path | str) -> sqlite3.Connection:
        if threading.current_thread().name == "audit-writer":
            raise sqlite3.OperationalError("unable to open database file")
        return connect(path)

    monkeypatch.setattr(audit_store, "connect", connect_unless_writer)


@pytest.mark.usefixtures("writer_cannot_open")
async def test_a_writer_that_cannot_open_its_database_fails_each_row_and_withholds_lookups(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.db"
    trail = AuditTrail(AuditStore(path), KEY)
    invoice = Invoice.model_validate({"status": "due", "open_amount": "1"})

    with pytest.raises(AuditWriteError, match="the audit database could not be opened"):
        await trail.record_refusal(AGENT, None, "guest", reference="R-NOOPEN")
    outcome = await lookup_with(Source((invoice,)), trail).run(Query(HETU), AGENT)
    await trail.aclose()

    assert isinstance(outcome, LookupFailure)
    assert outcome.kind is FailureKind.AUDIT_FAILED  # not shown without its audit row
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"AUDIT FAILURE: cannot open the audit database {path}" in messages
    assert messages.count(f"AUDIT FAILURE: 1 audit rows could not be written to {path}") == 2
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM lookups").fetchone() == (0,)


# --- shutdown with answers undelivered -----------------------------------------------------


async def test_shutdown_waits_a_bounded_time_then_says_how_many_answers_are_undelivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.services.SHUTDOWN_MARGIN_S", 0.0)
    settings = Settings(_env_file=None, audit_db=tmp_path / "audit.db", ropo_timeout_s=0.2)
    ropo = create_ropo_client(settings)
    services = create_services(settings, ropo)
    stuck = asyncio.Event()
    delivered: list[str] = []

    async def answer(what: str, release: asyncio.Event | None) -> None:
        if release is not None:
            await release.wait()
        delivered.append(what)

    services.after_ack(answer("quick", None), "lookup R-QUICK")
    services.after_ack(answer("stuck 1", stuck), "lookup R-STUCK1")
    services.after_ack(answer("stuck 2", stuck), "lookup R-STUCK2")

    await services.finish_lookups()  # returns although two answers are still on their way
    await services.aclose()
    await ropo.aclose()

    assert delivered == ["quick"]
    assert services.unanswered.count == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "shutting down with 2 answers undelivered" in warnings
    stuck.set()  # let the two finish, so that nothing is left running after the test
    assert await services.unanswered.idle(5)
    assert delivered == ["quick", "stuck 1", "stuck 2"]


async def test_shutdown_with_every_answer_delivered_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, audit_db=tmp_path / "audit.db", ropo_timeout_s=0.2)
    ropo = create_ropo_client(settings)
    services = create_services(settings, ropo)
    services.after_ack(asyncio.sleep(0), "lookup R-QUICK")

    await services.finish_lookups()
    await services.aclose()
    await ropo.aclose()

    assert services.unanswered.count == 0
    assert not [r for r in caplog.records if "undelivered" in r.getMessage()]
