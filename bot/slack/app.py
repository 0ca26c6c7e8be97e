"""Builds the Slack app: Bolt's AsyncApp with every listener, and the services it uses.

Nothing here runs at import time; ``create_app`` is called by the CLI, the demo, the tests
and the benchmark alike, so they all exercise the same app.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners
from bot.access.directory import ACCESS_CALL_LIMIT_S
from bot.access.gate import AccessGate
from bot.access.policy import AccessPolicy
from bot.access.ratelimit import SlidingWindowLimiter
from bot.audit import AuditTrail, audit_key
from bot.blocks.money import load_formats
from bot.details import InvoiceDetailsLookup
from bot.i18n import N_, _, territory_of, use_language
from bot.lookup import InvoiceLookup
from bot.metrics import watch_circuit
from bot.result_cache import ResultCache
from bot.ropo.circuit import CircuitBreaker
from bot.ropo.client import RopoClient
from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, create_sandbox_app
from bot.services import Services
from bot.settings import Settings
from bot.slack.context import ContextSealer
from bot.slack.identity import BotIdentity
from bot.slack.language import LanguageMiddleware
from bot.slack.retry import SlackRetryHandler
from bot.slack.session import SlackHttp
from bot.store.agent_settings import AgentSettings
from bot.store.open import open_store

logger = logging.getLogger(__name__)

# A request waits for auth.test before its acknowledgement, and Slack gives up at 3 s.
AUTH_TEST_BUDGET_S = 2.0
AUTH_TEST_TRY_S = 1.0
AUTH_TEST_BACKOFF_S = 0.2
SLACK_NOT_ANSWERING = N_(
    "Slack is not answering this app right now, so your request could not be handled. "
    "Please try again in a minute; if it keeps happening, tell a Slack admin."
)
"""What an agent is told when ``auth.test`` fails, instead of Bolt's "reinstall the app".

Bolt takes it as one fixed text when the app is built and shows it before any of our
middleware runs: before the agent, let alone their language, is known. So it is written in
``DEFAULT_LANGUAGE``, the team's language, rather than per agent.
"""

# Used when the app runs without a Slack workspace (the demo console): the requests are
# still signed and verified, with this secret.
OFFLINE_SIGNING_SECRET = "offline-demo-signing-secret"  # noqa: S105 - not a secret: no Slack
OFFLINE_BOT_TOKEN = "xoxb-offline-demo"  # noqa: S105


def create_ropo_client(settings: Settings) -> RopoClient:
    """The Ropo One client: to the configured URL, or to the built-in sandbox in-process."""
    cid, apicode = settings.ropo_cid, settings.ropo_apicode
    circuit = CircuitBreaker(
        failure_threshold=settings.ropo_circuit_failures,
        reset_after_s=settings.ropo_circuit_reset_s,
    )
    if cid is None or apicode is None:  # what Settings.uses_sandbox means, spelt for the types
        return RopoClient(
            settings.ropo_url,
            SANDBOX_CID,
            SecretStr(SANDBOX_APICODE),
            timeout_s=settings.ropo_timeout_s,
            transport=httpx.ASGITransport(app=create_sandbox_app()),
            ssn_format=settings.ssn_format,
            circuit=circuit,
        )
    return RopoClient(
        settings.ropo_url,
        cid,
        apicode,
        timeout_s=settings.ropo_timeout_s,
        ssn_format=settings.ssn_format,
        circuit=circuit,
    )


def create_services(
    settings: Settings, ropo: RopoClient, slack_http: SlackHttp | None = None
) -> Services:
    """Wire the lookup use case, access, the rate limit and the audit trail for one process.

    Raises :class:`SettingsError` when the audit trail cannot work: no ``AUDIT_KEY`` with
    real Ropo One credentials, or a store (``AUDIT_DB`` or ``DATABASE_URL``) that cannot be
    opened and migrated.
    """
    secret = settings.slack_signing_secret
    # Every instance shares the signing secret, so a button sealed by one opens on another.
    sealer = ContextSealer(secret.get_secret_value().encode() if secret else None)
    load_formats(settings.currency, territory_of(settings.locale))
    key = audit_key(settings)  # first: no key, no database file created
    store = open_store(settings)  # the audit trail and the rate limit share it
    audit = AuditTrail(store, key)
    cache = ResultCache(
        ttl_s=settings.result_cache_ttl_s,
        max_entries=settings.result_cache_max_entries,
        max_bytes=settings.result_cache_max_bytes,
    )
    access_client = _attach(slack_http, _access_client(settings))
    identity = _bot_identity(access_client, slack_http) if settings.slack_bot_token else None
    if identity is not None:
        identity.watch(access_client)
    lookup = InvoiceLookup(
        ropo,
        currency=settings.currency,
        environment=settings.ropo_environment,
        audit=audit,
        audit_required=settings.audit_required,
        cache=cache,
    )
    details = InvoiceDetailsLookup(
        ropo,
        environment=settings.ropo_environment,
        audit=audit,
        audit_required=settings.audit_required,
    )
    services = Services(
        settings=settings,
        lookup=lookup,
        details=details,
        sealer=sealer,
        access=AccessPolicy(settings, access_client),
        rate_limit=SlidingWindowLimiter(settings.rate_limit_per_minute, store),
        audit=audit,
        identity=identity,
        store=store,
        agent_settings=AgentSettings(store),
    )
    # /readyz: one line per thing that must work for a lookup to be answered.
    if identity is not None:
        services.readiness.add("slack", identity.problem)
    services.readiness.add("audit", store.problem)
    services.readiness.add("ropo_credentials", lambda: _ropo_credentials_problem(ropo))
    services.readiness.add("ropo_circuit", lambda: _ropo_circuit_problem(ropo))
    watch_circuit(lambda: ropo.circuit_state)
    return services


def _ropo_circuit_problem(ropo: RopoClient) -> str | None:
    """Open: lookups are answered "Ropo One is unavailable" at once, without asking it.

    Half-open counts as ready, so an instance the load balancer stopped sending to comes
    back by itself once the breaker's wait is over, and its next lookup tests Ropo One.
    """
    if ropo.circuit_state != "open":
        return None
    retry_in = ropo.circuit_retry_in_s
    when = f"; it is tried again in about {math.ceil(retry_in)} s" if retry_in else ""
    return f"Ropo One keeps failing, so the circuit to it is open{when}"


def _ropo_credentials_problem(ropo: RopoClient) -> str | None:
    if ropo.last_login_rejected:
        return "Ropo One refused ROPO_CID/ROPO_APICODE at the last login"
    return None


def _access_client(settings: Settings) -> AsyncWebClient:
    """The Web API client access asks ``users.info`` with: the bot's token, a bounded wait.

    Slack's answer is timed by the access directory itself; this limit also ends a wait for
    a free connection.
    """
    token = settings.slack_bot_token
    return AsyncWebClient(
        token=token.get_secret_value() if token else OFFLINE_BOT_TOKEN,
        base_url=settings.slack_api_url,
        timeout=ACCESS_CALL_LIMIT_S,
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
        # Replies in modals, the Home tab and the ephemeral fallback: tried again when Slack
        # did not take them, never when it may have (bot/slack/retry.py).
        retry_handlers=[SlackRetryHandler()],
    )
    _attach(slack_http, client)
    if bot_token and services.identity is not None:
        services.identity.watch(client)  # a token refused later shows in /readyz
    with _quiet(logging.getLogger("slack_bolt")):
        app = _bolt_app(settings, client, services.identity, socket_mode=socket_mode)
    if slack_http is not None:
        app.use(slack_http.shared_respond)  # first, so refusals are posted through it too
    # The agent's language, before anything answers them (the gate's refusals too).
    app.use(LanguageMiddleware(services))
    # Before any listener: one access check and rate limit for every surface, new ones too.
    app.use(AccessGate(services))
    listeners.register(app, services)
    return app


def _bolt_app(
    settings: Settings,
    client: AsyncWebClient,
    identity: BotIdentity | None,
    *,
    socket_mode: bool,
) -> AsyncApp:
    bot_token = settings.slack_bot_token
    signing_secret = settings.slack_signing_secret
    return AsyncApp(
        client=client,
        signing_secret=(
            signing_secret.get_secret_value() if signing_secret else OFFLINE_SIGNING_SECRET
        ),
        authorize=(
            _single_team_authorize(identity or _bot_identity(client))
            if bot_token
            else _offline_authorize
        ),
        user_facing_authorize_error_message=_in_language(
            SLACK_NOT_ANSWERING, settings.default_language
        ),
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
    )


def _in_language(message: str, language: str) -> str:
    with use_language(language):
        return _(message)


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


def _single_team_authorize(bot: BotIdentity) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's single-workspace authorisation, with one ``auth.test`` per process.

    Bolt's own calls ``auth.test`` for every request until its first answer is cached, so a
    burst on a fresh process costs one Slack round trip per command, each before its ack.
    The answer is usually there already: ``bot`` asks at start-up. Requests that arrive
    while it is asked share the one question. If Slack does not answer it (see
    :func:`_ask_auth_test`), the request is refused with :data:`SLACK_NOT_ANSWERING` and the
    next request asks again.
    """

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        identity = await bot.get()
        return AuthorizeResult(
            enterprise_id=identity.get("enterprise_id") or enterprise_id,
            team_id=identity.get("team_id") or team_id,
            user_id=user_id,
            bot_token=bot.token,
            bot_id=identity.get("bot_id"),
            bot_user_id=identity.get("user_id"),
        )

    return authorize


def _bot_identity(client: AsyncWebClient, slack_http: SlackHttp | None = None) -> BotIdentity:
    """The bot's identity, asked with a client of its own: short tries, retried within the ack."""
    auth_client = AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=math.ceil(AUTH_TEST_TRY_S),
        retry_handlers=[],  # tried again in _ask_auth_test, within the acknowledgement's time
        logger=client.logger,
    )
    return BotIdentity(_attach(slack_http, auth_client), ask=_ask_auth_test)


async def _ask_auth_test(client: AsyncWebClient) -> dict[str, Any]:
    """``auth.test``'s answer, tried again on a failure within :data:`AUTH_TEST_BUDGET_S`.

    Raises :class:`SlackApiError` (which Bolt answers with its user-facing message) if Slack
    never answers it: a request waits for this before its acknowledgement.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + AUTH_TEST_BUDGET_S
    delay = AUTH_TEST_BACKOFF_S
    while True:
        try:
            async with asyncio.timeout(min(AUTH_TEST_TRY_S, deadline - loop.time())):
                return dict((await client.auth_test()).data)  # type: ignore[arg-type]
        except SlackApiError as exc:
            if exc.response.status_code < 500 and exc.response.status_code != 429:
                raise  # an answer: the token is refused, which waiting will not change
            failure = f"HTTP {exc.response.status_code}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = type(exc).__name__
        if loop.time() + delay >= deadline:
            logger.error(
                "Slack did not answer auth.test (%s): requests are refused meanwhile", failure
            )
            raise SlackApiError(f"auth.test failed: {failure}", {"ok": False, "error": failure})
        logger.warning("Slack did not answer auth.test (%s); asking again", failure)
        await asyncio.sleep(delay)
        delay *= 2


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
