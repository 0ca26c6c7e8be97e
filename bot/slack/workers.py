"""``WEB_CONCURRENCY=N``: N worker processes serving one port, each with a socket of its own.

uvicorn's own workers share one listening socket, and whichever event loop wakes first takes
the waiting connections: in a rush the split between two workers was measured at 59/41
(bench/), and the busier one sets how long the last agent waits. Here every worker listens on
a socket of its own bound to the same port with ``SO_REUSEPORT``, so the kernel deals new
connections out evenly. Each worker is the single-process server (:func:`bot.slack.web.serve`),
draining on SIGTERM as it does; this supervisor only starts them, passes SIGTERM or Ctrl-C on
once, waits for them to finish, and replaces a worker that dies while the others serve.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

logger = logging.getLogger(__name__)

WORKER_ENV = "BOT_WORKER_OF"
"""Set in a worker's environment (to the supervisor's pid): ``serve`` then runs one worker."""

RESTART_DELAY_S = 1.0
QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after starting did not start
MAX_QUICK_DEATHS = 3  # in a row: the settings or the code are broken, not the worker
STOP_MARGIN_S = 10.0  # beyond the workers' own drain, before they are killed
POLL_S = 0.2


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other processes may bind too (not listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class Supervisor:
    """Runs ``count`` workers of ``python -m bot serve`` on one port until told to stop."""

    def __init__(self, count: int, host: str, port: int, *, drain_s: float) -> None:
        self._count = count
        self._host = host
        self._port = port
        self._drain_s = drain_s
        self._workers: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        self._stopping: int | None = None  # the signal being passed on
        self._quick_deaths = 0

    def run(self) -> int:
        """Start the workers and supervise them; the exit code once all have stopped."""
        # Bound, never listening: holds the port (and learns it, for port 0) while the
        # workers bind theirs. Only listening sockets are dealt connections.
        try:
            reservation = reuse_port_socket(self._host, self._port)
        except OSError as exc:
            logger.error("cannot listen on %s:%d: %s", self._host, self._port, exc.strerror)
            return 1
        self._port = reservation.getsockname()[1]
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for slot in range(self._count):
                self._start(slot)
            host = f"[{self._host}]" if ":" in self._host else self._host
            logger.info("%d worker processes serving http://%s:%d", self._count, host, self._port)
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            reservation.close()

    def _start(self, slot: int) -> None:
        env = {**os.environ, WORKER_ENV: str(os.getpid())}
        argv = [sys.executable, "-m", "bot", "serve", "--host", self._host]
        argv += ["--port", str(self._port)]
        # A group of its own: Ctrl-C in a terminal reaches the supervisor alone, which passes
        # it on once (a second one would make a worker stop without finishing its work).
        process = subprocess.Popen(argv, env=env, process_group=0)  # noqa: S603 - our own CLI
        self._workers[slot] = (process, time.monotonic())

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self._stopping is None:
            self._stopping = sig
            logger.info("passing %s on to the workers", signal.Signals(sig).name)
            for process, _ in self._workers.values():
                if process.poll() is None:
                    process.send_signal(sig)
        elif sig == signal.SIGINT:  # a second Ctrl-C: stop now
            for process, _ in self._workers.values():
                if process.poll() is None:
                    process.kill()

    def _supervise(self) -> int:
        status = 0
        stop_by: float | None = None
        while True:
            if self._stopping is not None and stop_by is None:
                stop_by = time.monotonic() + self._drain_s + STOP_MARGIN_S
            running = 0
            for slot, (process, started) in list(self._workers.items()):
                code = process.poll()
                if code is None:
                    running += 1
                    continue
                if self._stopping is not None:
                    continue
                lived = time.monotonic() - started
                logger.error(
                    "worker %d (pid %d) stopped with status %d after %.0f s; starting another",
                    slot,
                    process.pid,
                    code,
                    lived,
                )
                self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_DEATH_S else 0
                if self._quick_deaths >= MAX_QUICK_DEATHS:
                    logger.error("workers keep failing as they start: stopping the app")
                    self._on_signal(signal.SIGTERM, None)
                    status = code or 1
                    break
                time.sleep(RESTART_DELAY_S)
                self._start(slot)
                running += 1
            if self._stopping is not None and running == 0:
                return status
            if stop_by is not None and time.monotonic() > stop_by:
                for process, _ in self._workers.values():
                    if process.poll() is None:
                        logger.error("worker pid %d did not stop in time: killed", process.pid)
                        process.kill()
                        process.wait()
                return status or 1
            time.sleep(POLL_S)


def worker_socket(host: str, port: int, backlog: int) -> socket.socket:
    """This worker's own listening socket on the shared port."""
    sock = reuse_port_socket(host, port)
    sock.listen(backlog)
    sock.setblocking(False)
    return sock
