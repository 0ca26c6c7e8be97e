"""Batching: many callers' items handled by one worker in one database transaction.

Hundreds of concurrent lookups then cost a handful of transactions, and a caller still
learns the outcome of its own item (stored, refused, failed) before it goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 500


class BatchClosedError(Exception):
    """An item was submitted after the batcher was closed."""


_STOP = object()


class ThreadBatcher(Generic[Item, Result]):
    """Hands queued items to ``handle`` in a thread of its own, as many as are waiting.

    For a blocking driver (sqlite3): the event loop never waits on the database, and
    ``handle`` may keep state (its connection) across batches, since one thread runs it.
    ``handle`` returns one result per item, or raises to fail the whole batch.
    """

    def __init__(
        self,
        handle: Callable[[list[Item]], Sequence[Result]],
        name: str,
        *,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._handle = handle
        self._on_exit = on_exit  # in the thread, once it stops: to close what handle opened
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def submit(self, item: Item) -> Result:
        """``item``'s result once its batch is handled; the batch's exception if it failed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = awaited_or_not(loop.create_future())
        with self._lock:
            if self._closed:
                raise BatchClosedError("closed")
            self._queue.put((item, loop, done))
        return await asyncio.shield(done)

    def close(self) -> None:
        """Handle what is queued, then stop the thread. Later submissions fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _serve(self) -> None:
        running = True
        while running:
            entries = [self._queue.get()]
            while len(entries) < MAX_BATCH:
                try:
                    entries.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            running = _STOP not in entries
            pending = [entry for entry in entries if isinstance(entry, tuple)]
            if not pending:
                continue
            results: Sequence[Result] = ()
            error: BaseException | None = None
            try:
                results = self._handle([item for item, _, _ in pending])
            except Exception as exc:
                error = exc
            for index, (_, loop, done) in enumerate(pending):
                value = None if error is not None else results[index]
                with contextlib.suppress(RuntimeError):  # that caller's loop has closed
                    loop.call_soon_threadsafe(_settle, done, value, error)


class AsyncBatcher(Generic[Item, Result]):
    """Hands queued items to the coroutine ``handle`` from one task, as many as are waiting.

    For an async driver (psycopg): the loop is free while a batch is on the wire, and one
    batch at a time keeps the number of connections it holds to one.
    """

    def __init__(
        self, handle: Callable[[list[Item]], Awaitable[Sequence[Result]]], name: str
    ) -> None:
        self._handle = handle
        self._name = name
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]] | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """``item``'s result once its batch is handled; the batch's exception if it failed."""
        if self._closed:
            raise BatchClosedError("closed")
        if self._queue is None or self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._queue), name=self._name)
        done = awaited_or_not(asyncio.get_running_loop().create_future())
        self._queue.put_nowait((item, done))
        return await asyncio.shield(done)

    async def aclose(self) -> None:
        """Handle what is queued, then stop. Later submissions fail."""
        if self._closed:
            return
        self._closed = True
        if self._queue is not None and self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def _run(
        self, waiting: asyncio.Queue[tuple[Item, asyncio.Future[Result]] | None]
    ) -> None:
        running = True
        while running:
            entries = [await waiting.get()]
            while len(entries) < MAX_BATCH and not waiting.empty():
                entries.append(waiting.get_nowait())
            running = None not in entries
            pending = [entry for entry in entries if entry is not None]
            if not pending:
                continue
            try:
                results = await self._handle([item for item, _ in pending])
            except Exception as exc:
                for _, done in pending:
                    _settle(done, None, exc)
            else:
                for (_, done), result in zip(pending, results, strict=True):
                    _settle(done, result, None)


def awaited_or_not(done: asyncio.Future[Result]) -> asyncio.Future[Result]:
    """``done``, its failure marked as seen: a caller that gave up waiting never reads it.

    For a future awaited through :func:`asyncio.shield` under a timeout: without this, asyncio
    logs the failure of a write nobody waits for any more as an exception never retrieved.
    """
    done.add_done_callback(lambda future: future.cancelled() or future.exception())
    return done


def _settle(
    done: asyncio.Future[Result], value: Result | None, error: BaseException | None
) -> None:
    if done.done():  # its caller stopped waiting
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(value)  # type: ignore[arg-type]
