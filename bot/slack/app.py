"""Builds the Slack app: Bolt's AsyncApp with every listener, and the services it uses.

Nothing here runs at import time; ``create_app`` is called by the CLI, the demo, the tests
and the benchmark alike, so they all exercise the same app.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners
from bot.access.gate import AccessGate
from bot.access.policy import ACCESS_CHECK_TIMEOUT_S, AccessPolicy
from bot.access.ratelimit import SlidingWindowLimiter
from bot.audit import AgentSettings, AuditStore, AuditTrail, audit_key
from bot.lookup import InvoiceLookup
from bot.ropo.client import RopoClient
from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, create_sandbox_app
from bot.services import Services
from bot.settings import Settings, SettingsError
from bot.slack.context import ContextSealer
from bot.slack.language import LanguageMiddleware
from bot.slack.session import SlackHttp

logger = logging.getLogger(__name__)

# Used when the app runs without a Slack workspace (the demo console): the requests are
# still signed and verified, with this secret.
OFFLINE_SIGNING_SECRET = "offline-demo-signing-secret"  # noqa: S105 - not a secret: no Slack
OFFLINE_BOT_TOKEN = "xoxb-offline-demo"  # noqa: S105


def create_ropo_client(settings: Settings) -> RopoClient:
    """The Ropo One client: to the configured URL, or to the built-in sandbox in-process."""
    cid, apicode = settings.ropo_cid, settings.ropo_apicode
    if cid is None or apicode is None:  # what Settings.uses_sandbox means, spelt for the types
        return RopoClient(
            settings.ropo_url,
            SANDBOX_CID,
            SecretStr(SANDBOX_APICODE),
            timeout_s=settings.ropo_timeout_s,
            transport=httpx.ASGITransport(app=create_sandbox_app()),
            ssn_format=settings.ssn_format,
        )
    return RopoClient(
        settings.ropo_url,
        cid,
        apicode,
        timeout_s=settings.ropo_timeout_s,
        ssn_format=settings.ssn_format,
    )


def create_services(
    settings: Settings, ropo: RopoClient, slack_http: SlackHttp | None = None
) -> Services:
    """Wire the lookup use case, access, the rate limit and the audit trail for one process.

    Raises :class:`SettingsError` when the audit trail cannot work: no ``AUDIT_KEY`` with
    real Ropo One credentials, or an ``AUDIT_DB`` that cannot be opened.
    """
    secret = settings.slack_signing_secret
    # Every instance shares the signing secret, so a button sealed by one opens on another.
    sealer = ContextSealer(secret.get_secret_value().encode() if secret else None)
    key = audit_key(settings)  # first: no key, no database file created
    try:
        store = AuditStore(settings.audit_db)
    except sqlite3.Error as exc:
        raise SettingsError(f"AUDIT_DB: cannot open {settings.audit_db} ({exc})") from None
    audit = AuditTrail(store, key)
    lookup = InvoiceLookup(
        ropo,
        currency=settings.currency,
        environment=settings.ropo_environment,
        audit=audit,
        audit_required=settings.audit_required,
    )
    return Services(
        settings=settings,
        lookup=lookup,
        sealer=sealer,
        access=AccessPolicy(settings, _attach(slack_http, _access_client(settings))),
        rate_limit=SlidingWindowLimiter(settings.rate_limit_per_minute),
        audit=audit,
        agent_settings=AgentSettings(store.path),
    )


def _access_client(settings: Settings) -> AsyncWebClient:
    """The Web API client access asks ``users.info`` with: the bot's token, a short timeout."""
    token = settings.slack_bot_token
    return AsyncWebClient(
        token=token.get_secret_value() if token else OFFLINE_BOT_TOKEN,
        base_url=settings.slack_api_url,
        timeout=int(ACCESS_CHECK_TIMEOUT_S) + 1,
        logger=logging.getLogger("slack_sdk.web"),
    )


def create_app(
    settings: Settings,
    services: Services,
    *,
    socket_mode: bool = False,
    slack_http: SlackHttp | None = None,
) -> AsyncApp:
    """The Bolt app with every listener registered.

    With a bot token it talks to ``SLACK_API_URL``; without one (the demo) it runs offline,
    authorising every request locally instead of calling ``auth.test``. In HTTP mode every
    request must carry a valid Slack signature; Socket Mode requests arrive on a socket the
    app opened itself with ``SLACK_APP_TOKEN``, so there is nothing to sign.
    """
    if not socket_mode and settings.slack_bot_token and not settings.slack_signing_secret:
        raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests")
    bot_token = settings.slack_bot_token
    client = AsyncWebClient(
        # Offline, the token comes from _offline_authorize; Bolt warns if the client has one too.
        token=bot_token.get_secret_value() if bot_token else None,
        base_url=settings.slack_api_url,
        logger=logging.getLogger("slack_sdk.web"),
    )
    _attach(slack_http, client)
    with _quiet(logging.getLogger("slack_bolt")):
        app = _bolt_app(settings, client, socket_mode=socket_mode)
    if slack_http is not None:
        app.use(slack_http.shared_respond)  # first, so refusals are posted through it too
    # The agent's language, before anything answers them (the gate's refusals too).
    app.use(LanguageMiddleware(services))
    # Before any listener: one access check and rate limit for every surface, new ones too.
    app.use(AccessGate(services))
    listeners.register(app, services)
    return app


def _bolt_app(settings: Settings, client: AsyncWebClient, *, socket_mode: bool) -> AsyncApp:
    bot_token = settings.slack_bot_token
    signing_secret = settings.slack_signing_secret
    return AsyncApp(
        client=client,
        signing_secret=(
            signing_secret.get_secret_value() if signing_secret else OFFLINE_SIGNING_SECRET
        ),
        authorize=_single_team_authorize(client) if bot_token else _offline_authorize,
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
    )


@contextmanager
def _quiet(bolt_logger: logging.Logger) -> Iterator[None]:
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns, at every start, that
    # it is unused: the token is in the client and in authorize, as intended.
    level = bolt_logger.level
    bolt_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        bolt_logger.setLevel(level)


def _attach(slack_http: SlackHttp | None, client: AsyncWebClient) -> AsyncWebClient:
    return client if slack_http is None else slack_http.attach(client)


def _single_team_authorize(client: AsyncWebClient) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's single-workspace authorisation, with one ``auth.test`` per process.

    Bolt's own calls ``auth.test`` for every request until its first answer is cached, so a
    burst on a fresh process costs one Slack round trip per command, each before its ack.
    """
    lock = asyncio.Lock()
    identity: dict[str, Any] = {}

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        if not identity:
            async with lock:
                if not identity:
                    identity.update((await client.auth_test()).data)  # type: ignore[arg-type]
        return AuthorizeResult(
            enterprise_id=identity.get("enterprise_id") or enterprise_id,
            team_id=identity.get("team_id") or team_id,
            user_id=user_id,
            bot_token=client.token,
            bot_id=identity.get("bot_id"),
            bot_user_id=identity.get("user_id"),
        )

    return authorize


async def _offline_authorize(
    enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        user_id=user_id,
        bot_token=OFFLINE_BOT_TOKEN,
        bot_id="B0OFFLINE",
        bot_user_id="U0OFFLINE",
    )
