"""One aiohttp session for everything the app sends to Slack: Web API calls and replies.

slack_sdk's async clients open a new ``aiohttp.ClientSession`` (a new pool, a new TCP and TLS
connection) for every call they are not given a session for, and Bolt's ``respond()`` cannot
be given one at all. In a rush that is a new connection per ``users.info`` and per reply, each
a TCP and TLS handshake on an event loop that is already the bottleneck. Here the Web API
clients and every ``respond()`` share one session, opened when the app starts and closed when
it stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import WebhookResponse

from bot import __version__
from bot.slack import retry
from bot.slack.answer_time import answer_trace

logger = logging.getLogger(__name__)

SLACK_TIMEOUT_S = 30  # slack_sdk's own default for one call
MAX_CONNECTIONS = 1000
# Per host (the replies' hooks.slack.com, the Web API's slack.com): in a rush, replies wait
# briefly for one of these warm connections instead of each opening (and TLS-handshaking)
# its own, which costs less CPU per reply than opening more (bench/ compares them).
MAX_CONNECTIONS_PER_HOST = 100
_JSON_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": f"ropo-invoices-bot/{__version__}",
}


class SessionRespond(AsyncRespond):
    """Bolt's ``respond()``, posting to the ``response_url`` through the shared session.

    It posts with aiohttp itself rather than through slack_sdk's webhook client, which is
    built anew for every URL and costs more per reply (bench/). What Slack did not take (a
    5xx, a 429, a connection never opened) is tried again as :mod:`bot.slack.retry` says;
    the last answer is returned, and a connection that could not be opened on the last
    try is raised as :class:`aiohttp.ClientConnectorError`. A request sent but not answered
    is raised as it came (a dropped connection, a timeout) and not sent again: it may have
    been shown. ``fallback``, when there is one, is another private way to the agent.
    """

    def __init__(
        self,
        response_url: str,
        session: aiohttp.ClientSession,
        fallback: EphemeralFallback | None = None,
    ) -> None:
        super().__init__(response_url=response_url)
        self._session = session
        self.fallback = fallback

    async def __call__(self, text: str | dict = "", **fields: Any) -> WebhookResponse:  # type: ignore[override]
        """Post a message (``text``, ``blocks``, ``response_type``, ...) as Bolt's would."""
        message = dict(text) if isinstance(text, dict) else {"text": text, **fields}
        body = orjson.dumps({key: value for key, value in message.items() if value is not None})
        url = self.response_url
        assert url is not None
        started = time.monotonic()
        attempt = 1
        while True:
            try:
                response = await self._post(url, body)
            except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
                delay = retry.next_delay_s(attempt, None, _left(started))
                if delay is None:
                    raise
                failure = type(exc).__name__
            else:
                if not retry.is_retryable_status(response.status_code):
                    return response
                retry_after = response.headers.get("Retry-After")
                delay = retry.next_delay_s(attempt, retry_after, _left(started))
                if delay is None:
                    return response
                failure = f"HTTP {response.status_code}"
            logger.info("response_url failed (%s); trying again in %.1f s", failure, delay)
            await asyncio.sleep(delay)
            attempt += 1

    async def _post(self, url: str, body: bytes) -> WebhookResponse:
        async with self._session.post(url, data=body, headers=_JSON_HEADERS) as response:
            return WebhookResponse(
                url=url,
                status_code=response.status,
                body=await response.text(),
                headers=dict(response.headers),
            )


def _left(started: float) -> float:
    """What is left of the retry budget of a reply first tried at ``started``."""
    return retry.BUDGET_S - (time.monotonic() - started)


@dataclass(frozen=True, slots=True)
class EphemeralFallback:
    """``chat.postEphemeral`` to the agent in the channel a request came from.

    The other private way to an agent when their ``response_url`` refuses a reply: Slack
    shows it to them alone, in the same channel. It fails where the app may not post (a
    channel it is not in, some DMs); that is logged by the caller.
    """

    client: AsyncWebClient
    channel_id: str
    user_id: str

    async def post(self, message: dict[str, Any]) -> bool:
        """Post ``message`` (``text`` and ``blocks``); True if Slack took it."""
        try:
            await self.client.chat_postEphemeral(
                channel=self.channel_id,
                user=self.user_id,
                text=message.get("text") or "",
                blocks=message.get("blocks"),
            )
        except SlackApiError as exc:
            logger.warning("chat.postEphemeral refused: %s", exc.response.get("error"))
            return False
        except Exception:
            logger.exception("chat.postEphemeral failed")
            return False
        return True


class SlackHttp:
    """The process's connection pool to Slack, handed to every client that talks to Slack."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._clients: list[AsyncWebClient] = []
        # Bolt middleware: respond() in every listener and middleware uses the session.
        self.shared_respond = _SharedRespond(self)

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The shared session while the app runs, else None."""
        return self._session

    def attach(self, client: AsyncWebClient) -> AsyncWebClient:
        """Make ``client`` use the shared session once it is open; return ``client``."""
        self._clients.append(client)
        if self._session is not None:
            client.session = self._session
        return client

    async def start(self) -> None:
        """Open the session (on the running event loop) and give it to every attached client."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT_S),
            connector=aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS_PER_HOST
            ),
            trace_configs=[answer_trace()],  # answer_within: a wait for a connection is not Slack's
        )
        for client in self._clients:
            client.session = self._session

    async def aclose(self) -> None:
        """Close the session and its connections; the clients go back to their own sessions."""
        session, self._session = self._session, None
        for client in self._clients:
            client.session = None
        if session is not None:
            await session.close()


class _SharedRespond(AsyncMiddleware):
    """Gives each request a ``respond()`` that posts through the shared session.

    A middleware class, not a function: Bolt inspects a function's signature on every
    request to work out which arguments to pass it.
    """

    def __init__(self, slack_http: SlackHttp) -> None:
        self._slack_http = slack_http

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        """Replace Bolt's ``respond`` with a :class:`SessionRespond`, then go on."""
        session, context = self._slack_http.session, req.context
        if context.response_url and session is not None:
            client, channel_id, user_id = context.client, context.channel_id, context.user_id
            fallback = (
                EphemeralFallback(client, channel_id, user_id)
                if client is not None and channel_id and user_id
                else None
            )
            context["respond"] = SessionRespond(context.response_url, session, fallback)
        return await next()
