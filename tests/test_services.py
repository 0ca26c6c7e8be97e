"""Work that goes on after an acknowledgement: counted until done, and never raised."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from bot.slack.app import create_ropo_client, create_services


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(_env_file=None, audit_db=tmp_path / "audit.db")  # the sandbox
    ropo = create_ropo_client(settings)
    services = create_services(settings, ropo)
    yield services
    await services.aclose()
    await ropo.aclose()


async def test_work_after_the_ack_counts_as_unanswered_until_it_is_done(services: Services):
    release = asyncio.Event()
    done = []

    async def work() -> None:
        await release.wait()
        done.append(True)

    services.after_ack(work(), "lookup R-1")
    assert services.unanswered.count == 1  # counted at once, before the task has run
    assert not await services.unanswered.idle(0.05)  # a shutdown would wait for it

    release.set()
    assert await services.unanswered.idle(1)
    assert done == [True]


async def test_work_after_the_ack_that_fails_is_logged_and_raises_nowhere(
    services: Services, caplog: pytest.LogCaptureFixture
):
    async def broken() -> None:
        raise RuntimeError("Ropo One said something unexpected")

    services.after_ack(broken(), "lookup R-2")
    assert await services.unanswered.idle(1)

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["lookup R-2 failed"]
    assert errors[0].exc_info is not None
