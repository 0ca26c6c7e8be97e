"""A time limit for Slack's answer to a call, not for the call's wait to be sent.

In a rush, a Web API call made through the shared session (:mod:`bot.slack.session`) may
first wait for one of its connections to Slack to come free. A plain ``asyncio.timeout``
counts that wait as if Slack were slow, and refuses an agent because the app is busy.
:func:`answer_within` stops its clock while the call waits for a connection and starts it
again, from the full time, when the request has been sent. The session reports both through
aiohttp's request tracing (:func:`answer_trace`); a call that does not go through the shared
session is timed from entering, like ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import aiohttp

# The timeout of the call being made in this task, and its length; set by answer_within.
_current: contextvars.ContextVar[tuple[asyncio.Timeout, float] | None] = contextvars.ContextVar(
    "slack_answer_time", default=None
)


@asynccontextmanager
async def answer_within(seconds: float) -> AsyncIterator[None]:
    """Raise :class:`TimeoutError` if Slack takes over ``seconds`` to answer the call inside.

    The wait for a free connection is not counted; the call's own HTTP timeout bounds it.
    """
    async with asyncio.timeout(seconds) as timeout:
        reset = _current.set((timeout, seconds))
        try:
            yield
        finally:
            _current.reset(reset)


def answer_trace() -> aiohttp.TraceConfig:
    """The request tracing that lets :func:`answer_within` tell waiting from being answered."""
    trace = aiohttp.TraceConfig()
    trace.on_connection_queued_start.append(_waiting_for_a_connection)
    trace.on_request_headers_sent.append(_sent)
    return trace


async def _waiting_for_a_connection(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceConnectionQueuedStartParams,
) -> None:
    current = _current.get()
    if current is not None and not current[0].expired():
        current[0].reschedule(None)


async def _sent(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    current = _current.get()
    if current is not None and not current[0].expired():
        timeout, seconds = current
        timeout.reschedule(asyncio.get_running_loop().time() + seconds)
