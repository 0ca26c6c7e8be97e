"""Fixtures for the store tests: a real PostgreSQL server, and each store on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer, running_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the run's store tests (skipped without the binaries)."""
    with running_server() as server:
        yield server


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the shared server, for one test."""
    return postgres_server.create_database()
