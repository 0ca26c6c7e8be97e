"""The one adapter that talks to Ropo One over HTTP.

Policy, in one place: a bearer token shared by all requests (:mod:`bot.ropo.auth`); a whole
lookup, retries and login included, fits in ``timeout_s``; connection errors, timeouts,
408/409/429 and 5xx are retried at most ``max_retries`` times with jittered exponential
backoff (``Retry-After`` honoured); every status is mapped to :mod:`bot.ropo.errors` in
:func:`_error_for`.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json
import logging
import math
import random
import time
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from bot import __version__
from bot.query import IdentifierKind, Query
from bot.redact import redact
from bot.ropo.auth import TokenCache
from bot.ropo.circuit import CircuitBreaker, CircuitBreakerTransport, CircuitState
from bot.ropo.errors import (
    RopoAuthError,
    RopoBadRequest,
    RopoError,
    RopoProtocolError,
    RopoTimeout,
    RopoUnavailable,
)
from bot.ropo.models import Invoice, JobsResponse
from bot.ropo.transport import RopoTransport, environment_proxy

logger = logging.getLogger(__name__)

# When the current lookup's budget runs out (event-loop time). Login runs inside a lookup's
# task, so it sees the same deadline without threading it through the token cache.
_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("ropo_deadline")

CONNECT_TIMEOUT_S = 3.0
MAX_RETRIES = 2
INITIAL_BACKOFF_S = 0.25
MAX_BACKOFF_S = 4.0
MAX_RETRY_AFTER_S = 30.0
# Hundreds of agents may wait on Ropo at once during a rush; a small pool would queue them.
MAX_CONNECTIONS = 1000
USER_AGENT = f"ropo-invoices-bot/{__version__}"
RETRYABLE_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))


class RopoClient:
    """Async client for Ropo One's token and invoice-query endpoints.

    Create one per process and close it on shutdown (``await client.aclose()`` or
    ``async with``). ``transport`` lets tests and the embedded sandbox plug in an ASGI app.
    """

    def __init__(
        self,
        base_url: str,
        cid: str,
        apicode: SecretStr,
        *,
        timeout_s: float = 10.0,
        max_retries: int = MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        circuit: CircuitBreaker | None = None,
    ) -> None:
        self._cid = cid
        self._circuit = circuit or CircuitBreaker()
        self._apicode = apicode
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        # The breaker sees every request, retries and logins included (bot/ropo/circuit.py).
        inner = transport or _default_transport(base_url)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            transport=CircuitBreakerTransport(inner, self._circuit),
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )
        self._tokens = TokenCache(self._login)

    async def __aenter__(self) -> RopoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    @property
    def circuit_state(self) -> CircuitState:
        """The circuit breaker's state (:mod:`bot.ropo.circuit`), for health checks."""
        return self._circuit.state

    @property
    def circuit_retry_in_s(self) -> float | None:
        """Seconds until the open breaker lets a request test Ropo One; None while closed."""
        return self._circuit.seconds_until_retry()

    async def find_invoices(self, query: Query) -> tuple[Invoice, ...]:
        """Every invoice Ropo One has for the query's customer; empty when Ropo has none.

        Raises a :class:`~bot.ropo.errors.RopoError` subclass on any failure.
        """
        field = "ssn" if query.identifier.kind is IdentifierKind.HETU else "custnum"
        body: dict[str, Any] = {field: query.identifier.value}
        if query.include_paid:
            body["all_invoices"] = 1
        loop = asyncio.get_running_loop()
        reset = _deadline.set(loop.time() + self._timeout_s)
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._authorized_post("jobs/findbyendcustomer", body)
        except TimeoutError:
            raise RopoTimeout(f"Ropo One did not answer within {self._timeout_s:g} s") from None
        finally:
            _deadline.reset(reset)
        if response.status_code == 404:
            _require_problem_body(response)
            return ()
        if response.status_code != 200:
            raise _error_for(response, "invoice query")
        return _parse_jobs(response).jobs

    async def _authorized_post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        token = await self._tokens.get()
        response = await self._post_with_retries(path, body, token)
        if response.status_code == 401:
            token = await self._tokens.renew_after_rejection(token)
            response = await self._post_with_retries(path, body, token)
            if response.status_code == 401:
                raise RopoAuthError("Ropo One rejected a freshly issued token", status=401)
        return response

    async def _login(self) -> str:
        body = {"cid": self._cid, "apicode": self._apicode.get_secret_value()}
        response = await self._post_with_retries("token", body, None)
        if response.status_code not in (200, 201):
            error = _error_for(response, "login")
            apicode = self._apicode.get_secret_value()
            if apicode and apicode in str(error):  # Ropo's errorText could echo it back
                error = type(error)(str(error).replace(apicode, "[redacted]"), status=error.status)
            raise error
        try:
            token = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            raise RopoProtocolError(
                f"Ropo One's token answer had no token ({_content_type(response)})",
                status=response.status_code,
            ) from None
        if not isinstance(token, str) or not token:
            raise RopoProtocolError("Ropo One's token answer had an empty token")
        return token

    async def _post_with_retries(
        self, path: str, body: dict[str, Any], token: SecretStr | None
    ) -> httpx.Response:
        """POST, retrying what is safe to retry; returns the last response or raises."""
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = await self._http.post(path, json=body, headers=headers)
            except httpx.TimeoutException:
                failure: RopoError = RopoTimeout(f"Ropo One timed out on {path}")
                retry_after = None
            except httpx.TransportError as exc:
                failure = RopoUnavailable(f"Cannot reach Ropo One ({type(exc).__name__})")
                retry_after = None
            else:
                logger.debug(
                    "Ropo One %s answered %d in %.0f ms (attempt %d)",
                    path,
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                    attempt + 1,
                )
                if response.status_code not in RETRYABLE_STATUSES:
                    return response
                failure = _error_for(response, path)
                retry_after = _retry_after_s(response)
            if attempt >= self._max_retries:
                raise failure
            delay = _backoff_s(attempt) if retry_after is None else retry_after
            remaining = _deadline.get(float("inf")) - asyncio.get_running_loop().time()
            if delay >= remaining:
                raise failure  # waiting would only end in a timeout; say what really failed
            logger.info("Ropo One %s failed (%s); retrying in %.2f s", path, failure, delay)
            await asyncio.sleep(delay)
            attempt += 1


def _default_transport(base_url: str) -> httpx.AsyncBaseTransport:
    return RopoTransport(max_connections=MAX_CONNECTIONS, proxy=environment_proxy(base_url))


def _error_for(response: httpx.Response, operation: str) -> RopoError:
    """Map a non-success response to the error hierarchy: the one place that does it."""
    status = response.status_code
    detail = _problem_text(response)
    if operation == "login" and status in (400, 401, 403):
        return RopoAuthError(f"Ropo One refused the login: {detail}", status=status)
    if status in (401, 403):
        return RopoAuthError(f"Ropo One refused our token on {operation}: {detail}", status=status)
    if status in RETRYABLE_STATUSES:
        return RopoUnavailable(f"Ropo One answered {status} on {operation}", status=status)
    if status in (400, 422):
        return RopoBadRequest(f"Ropo One rejected the {operation}: {detail}", status=status)
    return RopoProtocolError(f"Ropo One answered {status} on {operation}: {detail}", status=status)


def _problem_text(response: httpx.Response) -> str:
    """A short, redacted description from an RFC 7807 problem or a login error body."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code} ({_content_type(response)})"
    if not isinstance(data, dict):
        return f"HTTP {response.status_code}"
    if "errorText" in data:
        return redact(f"{data.get('errorText')} (errorId {data.get('errorId')})")
    parts = [str(data[k]) for k in ("title", "detail") if data.get(k)]
    return redact(": ".join(parts)[:300]) if parts else f"HTTP {response.status_code}"


def _require_problem_body(response: httpx.Response) -> None:
    # Ropo's "no jobs" is a JSON problem. A 404 page from a proxy or a wrong ROPO_BASE_URL is
    # not "this customer has no invoices", and must not be shown to an agent as one.
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise RopoProtocolError(
            f"Ropo One answered 404 without a problem body ({_content_type(response)}); "
            "is ROPO_BASE_URL right?",
            status=404,
        )


def _parse_jobs(response: httpx.Response) -> JobsResponse:
    try:
        data = json.loads(response.content, parse_float=Decimal)  # money stays exact
        return JobsResponse.model_validate(data)
    except (ValueError, ValidationError):
        raise RopoProtocolError(
            f"Ropo One answered 200 with an unexpected body ({_content_type(response)})",
            status=200,
        ) from None


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "no content-type").split(";")[0]


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        if not math.isfinite(seconds):
            return None  # "NaN" parses as a float; waiting on it would burn the whole budget
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _backoff_s(attempt: int) -> float:
    base = min(MAX_BACKOFF_S, INITIAL_BACKOFF_S * 2**attempt)
    return base * (0.5 + random.random() / 2)  # jitter spreads a rush of retries
