"""Who the bot is in its one workspace: ``auth.test``, asked once per process and kept.

Asked at start-up (so the first request does not wait for it, and ``/readyz`` knows whether
Slack accepts the bot token), and again by the first request if start-up could not. Should
Slack later refuse the token on any Web API call (revoked, the app uninstalled), readiness
says so until ``auth.test`` succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

RETRY_S = (5.0, 15.0, 30.0, 60.0)  # after a failed start-up auth.test; then every minute
# Web API errors that mean the token itself is no good, whatever method was called.
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


class BotIdentity:
    """The bot's ``auth.test`` answer, fetched once however many requests start together."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ask: Callable[[AsyncWebClient], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self._client = client
        self._ask = ask or _auth_test
        self._asking: asyncio.Task[None] | None = None
        self.data: dict[str, Any] = {}
        self.last_error: str | None = None  # Slack's error code, or the exception's type
        self.refused: str | None = None  # why Slack refused the token after accepting it
        self._retrying: asyncio.Task[None] | None = None

    @property
    def token(self) -> str | None:
        """The bot token it asks with."""
        return self._client.token

    @property
    def known(self) -> bool:
        """True once Slack has accepted the bot token."""
        return bool(self.data)

    def watch(self, client: AsyncWebClient) -> AsyncWebClient:
        """Notice when Slack refuses ``client``'s token on any call; return ``client``."""
        client.retry_handlers.append(_TokenRefusalWatch(self))
        return client

    def token_refused(self, error: str) -> None:
        """Slack answered ``error`` (one of :data:`TOKEN_REFUSED`): not ready until it accepts."""
        if not self.known or self.refused is not None:
            return  # auth.test's own failure is last_error; one refusal is enough to report
        self.refused = error
        logger.error("Slack refused the bot token (%s): is SLACK_BOT_TOKEN still valid?", error)
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.get_running_loop().create_task(self._retry())

    async def get(self) -> dict[str, Any]:
        """The ``auth.test`` answer; asks Slack if nobody has yet. Raises what the call raises.

        Requests that arrive while it is asked share the one question and its outcome, so a
        burst during a Slack blip waits for one answer, not one after another.
        """
        if not self.data:
            if self._asking is None or self._asking.done():
                self._asking = asyncio.create_task(self._ask_once())
            await asyncio.shield(self._asking)
        return self.data

    async def _ask_once(self) -> None:
        try:
            data = await self._ask(self._client)
        except SlackApiError as exc:
            self.last_error = str(exc.response.get("error"))
            raise
        except Exception as exc:
            self.last_error = type(exc).__name__
            raise
        self.data.update(data)
        self.last_error = None

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
        if self.refused is not None:
            return f"Slack refused the bot token ({self.refused}): is SLACK_BOT_TOKEN still valid?"
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
        while not self.known or self.refused is not None:
            await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1
            if self.refused is not None:
                self.data.clear()  # ask auth.test itself again, not the answer kept
            if await self._try():
                self.refused = None
                logger.info("Slack's auth.test succeeded after %d retries", attempt)


async def _auth_test(client: AsyncWebClient) -> dict[str, Any]:
    return dict((await client.auth_test()).data)  # type: ignore[arg-type]


class _TokenRefusalWatch(AsyncRetryHandler):
    """Sees every Web API answer (slack_sdk hands each to its retry handlers); retries none.

    It only notes an answer saying the token is no good, so readiness can report it.
    """

    def __init__(self, identity: BotIdentity) -> None:
        super().__init__(max_retry_count=0)
        self._identity = identity

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Never retry; tell the identity when Slack refused the token."""
        body = response.body if response is not None else None
        if isinstance(body, dict) and body.get("error") in TOKEN_REFUSED:
            self._identity.token_refused(str(body["error"]))
        return False
