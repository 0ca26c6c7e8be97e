"""Fixtures for the Ropo One adapter: the sandbox served over real HTTP on loopback.

One sandbox serves the whole package (starting and stopping uvicorn costs ~0.2 s); each test
gets its recordings cleared and its own :class:`RopoClient`, so token counts start at zero.
Tests that need a sandbox configured differently (a short token lifetime) serve their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.ropo.client import RopoClient
from bot.ropo.sandbox import SandboxState
from tests.ropo.ropo_support import (
    SLOW_DELAY_S,
    TEST_APICODE,
    TEST_CID,
    RawRecords,
    serve_sandbox,
)


@pytest.fixture(scope="session")
def _shared_sandbox() -> Iterator[tuple[str, SandboxState]]:
    with serve_sandbox(slow_delay_s=SLOW_DELAY_S) as served:
        yield served


@pytest.fixture
def sandbox(_shared_sandbox: tuple[str, SandboxState]) -> SandboxState:
    """The shared sandbox's state, with recordings, queued failures and latency reset."""
    _, state = _shared_sandbox
    state.reset()
    state.revoke_tokens()
    return state


@pytest.fixture
def ropo_url(_shared_sandbox: tuple[str, SandboxState], sandbox: SandboxState) -> str:
    """The shared sandbox's base URL (``.../rest``), as ``ROPO_BASE_URL`` would hold it."""
    return _shared_sandbox[0]


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., RopoClient]]:
    """Build :class:`RopoClient` instances (test credentials by default); all closed after."""
    clients: list[RopoClient] = []

    def build(
        base_url: str, *, cid: str = TEST_CID, apicode: str = TEST_APICODE, **options: Any
    ) -> RopoClient:
        client = RopoClient(base_url, cid, SecretStr(apicode), **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: Callable[..., RopoClient], ropo_url: str) -> RopoClient:
    """A client of the shared sandbox with the default 10 s budget."""
    return make_client(ropo_url)


@pytest.fixture
def raw_log() -> Iterator[RawRecords]:
    """Records of ``bot.*`` and httpx/httpcore at DEBUG, captured unredacted.

    A handler on the ``bot`` logger runs before the root logger's redacting handler (which
    rewrites records in place), so this sees what our code actually tried to log.
    """
    handler = RawRecords()
    loggers = [logging.getLogger(name) for name in ("bot", "httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
