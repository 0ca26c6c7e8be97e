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
import http.cookiejar
import json
import logging
import random
import time
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from bot import __version__
from bot.metrics import ROPO_REQUEST_SECONDS, TOKEN_RENEWALS
from bot.national_ids import default_ssn_format, format_for_ropo
from bot.query import Identifier, Query
from bot.redact import redact
from bot.retry_after import parse_retry_after
from bot.ropo.auth import RopoAuth
from bot.ropo.circuit import CircuitBreaker, CircuitBreakerTransport, CircuitState
from bot.ropo.errors import (
    RopoAuthError,
    RopoBadRequest,
    RopoError,
    RopoProtocolError,
    RopoTimeout,
    RopoUnavailable,
)
from bot.ropo.models import Invoice, JobDetails, JobsResponse
from bot.ropo.transport import RopoTransport, environment_proxy

logger = logging.getLogger(__name__)

# When the current lookup's budget runs out (event-loop time). Login runs inside a lookup's
# task, so it sees the same deadline without threading it through the auth flow.
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
_OPERATIONS = {  # metric labels
    "token": "login",
    "jobs/findbyendcustomer": "invoice_query",
    "jobs": "job_details",
}
_NO_AUTH = httpx.Auth()  # the base flow sends the request as it is: the login has no token


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
        ssn_format: str | None = None,
        circuit: CircuitBreaker | None = None,
    ) -> None:
        self._ssn_format = ssn_format  # None: each country's default (bot/national_ids.py)
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
            auth=RopoAuth(self._observed_login),
            cookies=_NoCookies(),
        )
        # Set when Ropo refuses our cid/apicode, cleared by the next successful login:
        # /readyz reports it, since no lookup can succeed until an admin fixes the settings.
        self.last_login_rejected = False

    async def __aenter__(self) -> RopoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def check_credentials(self) -> None:
        """Log in once, as a lookup would, and ask nothing else (``python -m bot doctor``).

        Raises a :class:`~bot.ropo.errors.RopoError` subclass when Ropo One cannot be reached
        or refuses the credentials; the token itself is dropped.
        """
        loop = asyncio.get_running_loop()
        reset = _deadline.set(loop.time() + self._timeout_s)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._observed_login()
        except TimeoutError:
            raise RopoTimeout(f"Ropo One did not answer within {self._timeout_s:g} s") from None
        finally:
            _deadline.reset(reset)

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
        body: dict[str, Any] = {_ropo_field(query.identifier): self._ropo_value(query.identifier)}
        if query.include_paid:
            body["all_invoices"] = 1
        response = await self._within_budget("jobs/findbyendcustomer", body)
        if response.status_code == 404:
            _require_problem_body(response)
            return ()
        if response.status_code != 200:
            raise _error_for(response, "invoice query")
        return _parse_jobs(response).jobs

    def _ropo_value(self, identifier: Identifier) -> str:
        """An identity code in the form Ropo One is sent (ROPO_SSN_FORMAT); else as is."""
        country = identifier.kind.country
        if country is None:
            return identifier.value
        form = self._ssn_format or default_ssn_format(country)
        return format_for_ropo(identifier.value, country, form)

    async def get_job_details(self, job_id: int) -> JobDetails | None:
        """One job's details (``GET /rest/jobs?jobid=``); None when Ropo One has no such job.

        Same budget, retries and error mapping as :meth:`find_invoices`. Raises a
        :class:`~bot.ropo.errors.RopoError` subclass on any failure.
        """
        response = await self._within_budget("jobs", None, method="GET", params={"jobid": job_id})
        if response.status_code == 404:
            _require_problem_body(response)
            return None
        if response.status_code != 200:
            raise _error_for(response, "job details")
        return _parse_job_details(response, job_id)

    async def _within_budget(
        self,
        path: str,
        body: dict[str, Any] | None,
        *,
        method: str = "POST",
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """:meth:`_authorized_post` within ``timeout_s``, logins and retries included.

        Raises :class:`RopoTimeout` once the budget is spent; retries see the deadline and do
        not start one that could only end in it.
        """
        loop = asyncio.get_running_loop()
        reset = _deadline.set(loop.time() + self._timeout_s)
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._authorized_post(path, body, method=method, params=params)
        except TimeoutError:
            raise RopoTimeout(f"Ropo One did not answer within {self._timeout_s:g} s") from None
        finally:
            _deadline.reset(reset)

    async def _authorized_post(
        self,
        path: str,
        body: dict[str, Any] | None,
        *,
        method: str = "POST",
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        # RopoAuth has already renewed the token once on a 401: this one is not ours to fix.
        response = await self._post_with_retries(path, body, method=method, params=params)
        if response.status_code == 401:
            raise RopoAuthError("Ropo One rejected a freshly issued token", status=401)
        return response

    async def _observed_login(self) -> str:
        """:meth:`_login`, its outcome noted for readiness and metrics."""
        try:
            token = await self._login()
        except RopoAuthError:
            self.last_login_rejected = True
            TOKEN_RENEWALS.labels("rejected").inc()
            raise
        except RopoError:
            TOKEN_RENEWALS.labels("failed").inc()
            raise
        self.last_login_rejected = False
        TOKEN_RENEWALS.labels("ok").inc()
        return token

    async def _login(self) -> str:
        body = {"cid": self._cid, "apicode": self._apicode.get_secret_value()}
        response = await self._post_with_retries("token", body, login=True)
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
        self,
        path: str,
        body: dict[str, Any] | None,
        *,
        login: bool = False,
        method: str = "POST",
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """POST (or ``method``), retrying what is safe to retry; the last response, or raises.

        Sent with the bearer token (the client's :class:`RopoAuth`), except the login itself.
        """
        auth = _NO_AUTH if login else httpx.USE_CLIENT_DEFAULT
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                with ROPO_REQUEST_SECONDS.labels(_OPERATIONS.get(path, "other")).time():
                    response = await self._http.request(
                        method, path, json=body, params=params, auth=auth
                    )
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
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), cap_s=MAX_RETRY_AFTER_S
                )
            if attempt >= self._max_retries:
                raise failure
            delay = _backoff_s(attempt) if retry_after is None else retry_after
            remaining = _deadline.get(float("inf")) - asyncio.get_running_loop().time()
            if delay >= remaining:
                raise failure  # waiting would only end in a timeout; say what really failed
            logger.info("Ropo One %s failed (%s); retrying in %.2f s", path, failure, delay)
            await asyncio.sleep(delay)
            attempt += 1


class _NoCookies(http.cookiejar.CookieJar):
    """Ropo One authenticates by bearer token: no cookie is kept, none sent.

    httpx otherwise reads every answer for cookies and dresses every request in them, which
    was a quarter of what httpx itself costs per lookup (bench/).
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Keep nothing from an answer."""

    def add_cookie_header(self, request: Any) -> None:
        """Add nothing to a request."""


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


def _parse_job_details(response: httpx.Response, job_id: int) -> JobDetails:
    """A job's details, leniently; an object naming none of its fields, or another job, is not."""
    try:
        data = json.loads(response.content)
        if isinstance(data, list) and len(data) == 1:
            data = data[0]  # documented as one object; a one-item list means the same
        details = JobDetails.model_validate(data)
    except (ValueError, ValidationError):
        details = None
    if details is None or not details.model_fields_set or details.job_id not in (None, job_id):
        raise RopoProtocolError(
            f"Ropo One answered 200 with unexpected job details ({_content_type(response)})",
            status=200,
        )
    return details


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "no content-type").split(";")[0]


def _backoff_s(attempt: int) -> float:
    base = min(MAX_BACKOFF_S, INITIAL_BACKOFF_S * 2**attempt)
    return base * (0.5 + random.random() / 2)  # jitter spreads a rush of retries


def _ropo_field(identifier: Identifier) -> str:
    """Ropo's ``ssn`` for every country's identity code, ``custnum`` for a customer number."""
    return "ssn" if identifier.kind.is_identity_code else "custnum"
