"""One aiohttp session for everything the app sends to Slack: Web API calls and replies.

slack_sdk's async clients open a new ``aiohttp.ClientSession`` (a new pool, a new TCP and TLS
connection) for every call they are not given a session for, and Bolt's ``respond()`` cannot
be given one at all. In a rush that is a new connection per ``users.info`` and per reply, and
the bench measured each costing ~160 ms of a busy event loop. Here the Web API clients and
every ``respond()`` share one session, opened when the app starts and closed when it stops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

SLACK_TIMEOUT_S = 30  # slack_sdk's own default for one call
MAX_CONNECTIONS = 1000
# Per host (the replies' hooks.slack.com, the Web API's slack.com): in a rush, replies wait
# briefly for one of these warm connections instead of each opening (and TLS-handshaking)
# its own; bench/ measured 0.43 ms of CPU per reply uncapped, 0.23 ms with 100.
MAX_CONNECTIONS_PER_HOST = 100


class SessionRespond(AsyncRespond):
    """Bolt's ``respond()``, posting to the ``response_url`` through the shared session."""

    def __init__(self, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self._session = session

    async def __call__(self, text: str | dict = "", **fields: Any) -> WebhookResponse:  # type: ignore[override]
        """Post a message (``text``, ``blocks``, ``response_type``, ...) as Bolt's would."""
        message = dict(text) if isinstance(text, dict) else {"text": text, **fields}
        body = {key: value for key, value in message.items() if value is not None}
        assert self.response_url is not None
        webhook = AsyncWebhookClient(
            url=self.response_url, session=self._session, timeout=SLACK_TIMEOUT_S
        )
        return await webhook.send_dict(body)


class SlackHttp:
    """The process's connection pool to Slack, handed to every client that talks to Slack."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._clients: list[AsyncWebClient] = []

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

    async def shared_respond(
        self, context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Bolt middleware: ``respond()`` in every listener and middleware uses the session."""
        if context.response_url and self._session is not None:
            context["respond"] = SessionRespond(context.response_url, self._session)
        return await next()
