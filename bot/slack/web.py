"""HTTP mode: the ASGI app Slack posts to (``POST /slack/events``), and what operators ask.

``GET /healthz`` is liveness: the process serves HTTP. ``GET /readyz`` is readiness: 200
only while lookups can be answered (:mod:`bot.health`), 503 naming what is wrong otherwise,
and 503 while draining after SIGTERM. ``GET /metrics`` is Prometheus' text format
(:mod:`bot.metrics`), behind a bearer token when ``METRICS_TOKEN`` is set.
"""

from __future__ import annotations

import hmac
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.health import Readiness
from bot.metrics import ACK_SECONDS
from bot.ropo.client import RopoClient
from bot.services import SHUTDOWN_MARGIN_S
from bot.settings import Settings
from bot.slack.app import (
    OFFLINE_SIGNING_SECRET,
    create_app,
    create_ropo_client,
    create_services,
)
from bot.slack.intake import Accepted, Rejection, RequestIntake
from bot.slack.session import SlackHttp

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
BACKLOG = 2048  # connections waiting to be accepted (uvicorn's default)


def create_web_app(settings: Settings, *, ropo: RopoClient | None = None) -> Starlette:
    """One request URL for commands, shortcuts, interactivity and events, as Bolt expects."""
    ropo = ropo or create_ropo_client(settings)
    slack_http = SlackHttp()
    services = create_services(settings, ropo, slack_http)
    bolt = create_app(settings, services, slack_http=slack_http)
    secret = settings.slack_signing_secret
    intake = RequestIntake(
        secret.get_secret_value() if secret else OFFLINE_SIGNING_SECRET,
        language=settings.default_language,
    )

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        with services.pending_acks.track():
            checked = intake.check(await request.body(), request.headers)
            if isinstance(checked, Rejection):
                return JSONResponse(checked.body, checked.status)
            response = await dispatch(bolt, checked, request)
        ACK_SECONDS.observe(time.perf_counter() - started)
        return response

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

    async def readyz(request: Request) -> Response:
        report = services.readiness.report()
        return JSONResponse(report.as_json(), status_code=200 if report.ready else 503)

    metrics_token = settings.metrics_token
    expected = f"Bearer {metrics_token.get_secret_value()}".encode() if metrics_token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return JSONResponse(
                    {"error": "a bearer token (METRICS_TOKEN) is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

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

    web_app = Starlette(
        routes=[
            Route(EVENTS_PATH, slack_events, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(READY_PATH, readyz, methods=["GET"]),
            Route(METRICS_PATH, metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    web_app.state.services = services  # the server drains it on SIGTERM (serve)
    return web_app


async def dispatch(bolt: AsyncApp, accepted: Accepted, request: Request) -> Response:
    """Bolt's answer to a request the intake accepted, from the body the intake parsed.

    Bolt's own Starlette adapter builds an HTTP request from the raw text and parses it again,
    which for an interaction (a JSON payload inside a form) is most of what reading it costs.
    Bolt takes an already parsed body in Socket Mode; given one, the request is then made an
    HTTP request again, with its raw text for the signature check, as the adapter's would be.
    """
    bolt_request = AsyncBoltRequest(
        body=accepted.payload,
        query=request.url.query,
        headers=request.headers,  # type: ignore[arg-type]  # a Mapping[str, str], as Bolt's adapter passes
        mode="socket_mode",
    )
    bolt_request.raw_body = accepted.text
    bolt_request.mode = "http"
    answer = await bolt.async_dispatch(bolt_request)
    return Response(
        status_code=answer.status,
        content=answer.body,
        headers=answer.first_headers_without_set_cookie(),
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's server, serving on after the first SIGTERM until the work under way is done.

    uvicorn closes its listening sockets as soon as it is told to stop, so a load balancer
    would see refused connections, not a 503. Here the first SIGTERM marks the process
    draining (``/readyz`` answers 503, everything else is still served: a request the load
    balancer still routes here is answered) and the shutdown proper starts once ``busy()``
    is false (no request waits for its ack, no acknowledged lookup waits for its answer),
    or after ``max_drain_s``. An idle process stops at once, as before; Slack retries a
    request that finds no listener. A second SIGTERM, or Ctrl-C, stops at once.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        readiness: Readiness,
        *,
        busy: Callable[[], bool],
        max_drain_s: float,
        parent_pid: int | None = None,
    ) -> None:
        super().__init__(config)
        self._readiness = readiness
        self._busy = busy
        self._max_drain_s = max_drain_s
        self._stop_at: float | None = None
        # A worker's supervisor: if it is gone (killed outright), the worker stops as on SIGTERM
        # rather than serve on unsupervised.
        self._parent_pid = parent_pid

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start draining on the first SIGTERM; anything else as uvicorn does."""
        self._readiness.start_draining()
        if sig == signal.SIGTERM and self._stop_at is None:
            self._stop_at = time.monotonic() + self._max_drain_s
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's check, ten times a second, of whether to stop: also when draining ends."""
        if self._parent_pid is not None and os.getppid() != self._parent_pid:
            logger.error("the worker supervisor is gone: this worker stops")
            self._parent_pid = None
            self.handle_exit(signal.SIGTERM, None)
        if self._stop_at is not None and (not self._busy() or time.monotonic() >= self._stop_at):
            self.should_exit = True
        return await super().on_tick(counter)


def serve(
    settings: Settings,
    web_app: Starlette,
    host: str,
    port: int,
    *,
    sock: socket.socket | None = None,
    parent_pid: int | None = None,
) -> None:
    """Run ``web_app`` (from :func:`create_web_app`) until SIGTERM and its drain, or Ctrl-C.

    ``sock``: a listening socket to serve instead of binding ``host:port``, and
    ``parent_pid`` the supervisor to stop without: a worker's (see :mod:`bot.slack.workers`).
    """
    services = web_app.state.services
    config = uvicorn.Config(
        web_app,
        host=host,
        port=port,
        backlog=BACKLOG,
        log_config=None,  # ours, with the redacting filter
        access_log=settings.log_level == "DEBUG",
        timeout_graceful_shutdown=10,
    )
    DrainingServer(
        config,
        services.readiness,
        busy=lambda: bool(services.pending_acks.count or services.unanswered.count),
        max_drain_s=settings.ropo_timeout_s + SHUTDOWN_MARGIN_S,
        parent_pid=parent_pid,
    ).run(sockets=None if sock is None else [sock])


def describe(settings: Settings) -> str:
    """Where the invoice data comes from, in words for the start-up log."""
    if settings.uses_sandbox:
        return "the built-in sandbox (fake data; set ROPO_CID and ROPO_APICODE for real data)"
    return f"{settings.ropo_environment.value} at {settings.ropo_base_url}"
