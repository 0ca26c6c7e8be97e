"""Who the bot is in its one workspace: ``auth.test``, asked once per process and kept.

Asked at start-up (so the first request does not wait for it, and ``/readyz`` knows whether
Slack accepts the bot token), and again by the first request if start-up could not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

RETRY_S = (5.0, 15.0, 30.0, 60.0)  # after a failed start-up auth.test; then every minute


class BotIdentity:
    """The bot's ``auth.test`` answer, fetched once however many requests start together."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._lock = asyncio.Lock()
        self.data: dict[str, Any] = {}
        self.last_error: str | None = None  # Slack's error code, or the exception's type
        self._retrying: asyncio.Task[None] | None = None

    @property
    def known(self) -> bool:
        """True once Slack has accepted the bot token."""
        return bool(self.data)

    async def get(self) -> dict[str, Any]:
        """The ``auth.test`` answer; asks Slack if nobody has yet. Raises what the call raises."""
        if not self.data:
            async with self._lock:
                if not self.data:
                    try:
                        self.data.update((await self._client.auth_test()).data)  # type: ignore[arg-type]
                    except SlackApiError as exc:
                        self.last_error = str(exc.response.get("error"))
                        raise
                    except Exception as exc:
                        self.last_error = type(exc).__name__
                        raise
                    self.last_error = None
        return self.data

    async def start(self) -> None:
        """Ask at start-up; if Slack says no or does not answer, keep asking in the background."""
        if not await self._try():
            self._retrying = asyncio.create_task(self._retry())

    async def aclose(self) -> None:
        """Stop asking."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying

    def problem(self) -> str | None:
        """A readiness check: None once Slack accepted the token, else what is known."""
        if self.known:
            return None
        if self.last_error is None:
            return "Slack's auth.test has not answered yet"
        return f"Slack's auth.test failed ({self.last_error}): is SLACK_BOT_TOKEN right?"

    async def _try(self) -> bool:
        try:
            await self.get()
        except Exception:
            logger.error("Slack's auth.test failed (%s)", self.last_error)
            return False
        return True

    async def _retry(self) -> None:
        attempt = 0
        while not self.known:
            await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1
            if await self._try():
                logger.info("Slack's auth.test succeeded after %d retries", attempt)
