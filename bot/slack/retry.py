"""When a message to Slack is tried again: one policy for replies and for Web API calls.

Slack has bad seconds: a ``500``, a ``503``, a ``429`` with ``Retry-After``, a connection
that cannot be opened. Each of those means Slack did not take the message, so sending it
again cannot show it twice. A request that was sent and then got no answer (the connection
dropped, a timeout) may have been shown already, and is never sent again: a duplicate reply
is worse than a short wait. Tries are bounded in number and in time, so an agent waiting
for an answer hears something within :data:`BUDGET_S`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.retry_after import parse_retry_after

logger = logging.getLogger(__name__)

ATTEMPTS = 3
BUDGET_S = 15.0
"""From the first try to the start of the last: past it, the agent is told another way."""
INITIAL_BACKOFF_S = 0.5


def is_retryable_status(status: int) -> bool:
    """Slack did not take the message, and may take it a moment later: 429 and 5xx."""
    return status == 429 or status >= 500


def is_unsent(error: BaseException) -> bool:
    """The connection could not be opened, so nothing was sent (refused, DNS, TLS)."""
    return isinstance(error, aiohttp.ClientConnectorError)


def next_delay_s(attempt: int, retry_after: str | None, remaining_s: float) -> float | None:
    """How long to wait before try ``attempt + 1`` (from 1), or None when not to try again.

    ``Retry-After`` is honoured; without it the wait is jittered exponential backoff. A wait
    that would end past the budget means no further try.
    """
    if attempt >= ATTEMPTS:
        return None
    delay = parse_retry_after(retry_after, cap_s=BUDGET_S)
    if delay is None:
        delay = INITIAL_BACKOFF_S * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
    return delay if delay < remaining_s else None


class SlackRetryHandler(AsyncRetryHandler):
    """slack_sdk's retry hook with this policy, for the app's Web API calls (views.*, chat.*).

    slack_sdk's own handlers retry a dropped connection (which may post twice) and wait out
    any ``Retry-After`` unbounded; this one follows :func:`next_delay_s`.
    """

    def __init__(self) -> None:
        super().__init__(max_retry_count=ATTEMPTS - 1)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None:
            retryable = is_retryable_status(response.status_code)
        else:
            retryable = error is not None and is_unsent(error)
        if not retryable:
            return False
        values = state.custom_values = state.custom_values or {}
        started = values.setdefault("started", time.monotonic())
        remaining = BUDGET_S - (time.monotonic() - started)
        delay = next_delay_s(state.current_attempt + 1, _retry_after(response), remaining)
        values["delay"] = delay
        if delay is not None:
            logger.info(
                "Slack's %s failed (%s); trying again in %.1f s",
                request.url.rsplit("/", 1)[-1],
                response.status_code if response is not None else type(error).__name__,
                delay,
            )
        return delay is not None

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        await asyncio.sleep((state.custom_values or {}).get("delay") or 0.0)
        state.increment_current_attempt()


def _retry_after(response: HttpResponse | None) -> str | None:
    if response is None:
        return None
    headers: Any = response.headers
    for name, value in headers.items():
        if name.lower() == "retry-after":
            # slack_sdk keeps header values as lists in its retry responses.
            return str(value[0] if isinstance(value, list | tuple) else value)
    return None
