"""HTTP mode: the ASGI app Slack posts to (``POST /slack/events``), plus ``GET /healthz``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.ropo.client import RopoClient
from bot.settings import Settings
from bot.slack.app import (
    OFFLINE_SIGNING_SECRET,
    create_app,
    create_ropo_client,
    create_services,
)
from bot.slack.intake import RequestIntake
from bot.slack.session import SlackHttp

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def create_web_app(settings: Settings, *, ropo: RopoClient | None = None) -> Starlette:
    """One request URL for commands, shortcuts, interactivity and events, as Bolt expects."""
    ropo = ropo or create_ropo_client(settings)
    slack_http = SlackHttp()
    services = create_services(settings, ropo, slack_http)
    handler = AsyncSlackRequestHandler(create_app(settings, services, slack_http=slack_http))
    secret = settings.slack_signing_secret
    intake = RequestIntake(secret.get_secret_value() if secret else OFFLINE_SIGNING_SECRET)

    async def slack_events(request: Request) -> Response:
        with services.pending_acks.track():
            # Read once: Starlette keeps the body, and Bolt reads it from there.
            rejection = intake.check(await request.body(), request.headers)
            if rejection is not None:
                return JSONResponse(rejection.body, rejection.status)
            return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        # The app itself is up while Ropo One is down (the breaker answers agents), so the
        # status stays "ok": a restart would not help. Monitoring reads "circuit".
        retry_in_s = ropo.circuit_retry_in_s
        return JSONResponse(
            {
                "status": "ok",
                "ropo": settings.ropo_environment.value,
                "circuit": ropo.circuit_state.value,
                "circuit_retry_in_s": None if retry_in_s is None else round(retry_in_s, 1),
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await slack_http.start()
        await services.start()  # a warm member directory before the first request
        logger.info("listening for Slack on %s; Ropo One: %s", EVENTS_PATH, describe(settings))
        yield
        await services.finish_lookups()
        await ropo.aclose()
        await services.aclose()
        await slack_http.aclose()

    return Starlette(
        routes=[
            Route(EVENTS_PATH, slack_events, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def describe(settings: Settings) -> str:
    """Where the invoice data comes from, in words for the start-up log."""
    if settings.uses_sandbox:
        return "the built-in sandbox (fake data; set ROPO_CID and ROPO_APICODE for real data)"
    return f"{settings.ropo_environment.value} at {settings.ropo_base_url}"
