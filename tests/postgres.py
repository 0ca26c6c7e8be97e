"""A real PostgreSQL server for the tests, started by the tests in a temporary directory.

Debian's server binaries (``/usr/lib/postgresql/<version>/bin``) run ``initdb`` and
``pg_ctl``; as root (CI) they run as the ``postgres`` user, since initdb refuses root. The
server listens on 127.0.0.1 on a free port picked at start (PostgreSQL cannot take port 0),
with trust authentication and no fsync: a throw-away cluster.

Without the binaries the tests that need them skip with one line saying so; under
``CI=true`` they fail instead, so a CI image that lost PostgreSQL cannot pass quietly.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

BINARIES_GLOB = "/usr/lib/postgresql/*/bin"
RUN_AS = "postgres"
MISSING = (
    "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
    "apt-get install postgresql-15"
)


def server_binaries() -> Path | None:
    """The newest installed server's bin directory, or None."""
    found = sorted(glob.glob(f"{BINARIES_GLOB}/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(initdb: str) -> int:
    try:
        return int(Path(initdb).parent.parent.name)
    except ValueError:
        return 0


def require_binaries() -> Path:
    """The bin directory; else skip the test (fail it under ``CI=true``)."""
    binaries = server_binaries()
    if binaries is None:
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return binaries


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One throw-away PostgreSQL cluster; ``start`` and ``stop`` may be called again."""

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        self._bin = binaries
        self._durable = durable  # fsync as in production (the bench), not a throw-away
        self.root = Path(tempfile.mkdtemp(prefix="bot-test-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = 0
        self._databases = itertools.count(1)
        self.sockets.mkdir()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, RUN_AS, RUN_AS)
            shutil.chown(self.sockets, RUN_AS, RUN_AS)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._as_root:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        """Start the server (on a new free port the first time; the same port after)."""
        attempts = 3 if self.port == 0 else 1
        for attempt in range(attempts):
            if self.port == 0 or attempt:
                self.port = _free_port()
            options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
            if not self._durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise

    def stop(self) -> None:
        """Stop the server now, cutting every connection (``-m fast``)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        """A ``DATABASE_URL`` for ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"bot_test_{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}".encode())
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs, and delete its directory."""
        subprocess.run(
            (["runuser", "-u", RUN_AS, "--"] if self._as_root else [])
            + [str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_server() -> Iterator[PostgresServer]:
    """A server of its own, started (skipped without the binaries), removed afterwards."""
    server = PostgresServer(require_binaries())
    try:
        server.start()
        yield server
    finally:
        server.remove()
