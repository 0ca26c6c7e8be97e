"""The built-in Ropo One stand-in: a real ASGI app speaking the documented API under ``/rest``.

It issues real HS256 JWTs, checks them on every lookup, answers from the fake customers in
:mod:`bot.ropo.sandbox_data`, and can misbehave on request (fault customer numbers,
:meth:`SandboxState.fail_next`, added latency). Everything it receives is recorded on
``app.state.sandbox`` so tests can check exactly what the bot sent.

It never logs an identity code: problem ``detail`` texts do not echo the request either.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.ropo.sandbox_data import (
    CUSTNUM_SMALL,
    CUSTOMERS_BY_CUSTNUM,
    CUSTOMERS_BY_SSN,
    DETAILS_FAULT_JOBS,
    JOBS_BY_ID,
    Fault,
)

__all__ = [
    "DETAILS_PATH",
    "FIND_PATH",
    "PROBLEM_TYPE",
    "SANDBOX_APICODE",
    "SANDBOX_CID",
    "TOKEN_PATH",
    "RecordedRequest",
    "SandboxState",
    "create_sandbox_app",
]

logger = logging.getLogger(__name__)

SANDBOX_CID = "sandbox"
SANDBOX_APICODE = "sandbox-apicode"  # published on purpose: it only opens the sandbox

TOKEN_PATH = "/rest/token"  # noqa: S105 - a URL path, not a secret
FIND_PATH = "/rest/jobs/findbyendcustomer"
DETAILS_PATH = "/rest/jobs"

PROBLEM_TYPE = "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# errorId values of the token endpoint's 400 answer.
TOKEN_ERROR_MALFORMED = 1001
TOKEN_ERROR_CREDENTIALS = 1002

_FAULTS = {fault.value: fault for fault in Fault}

_MAINTENANCE_PAGE = """<!DOCTYPE html>
<html><head><title>Service temporarily unavailable</title></head>
<body><h1>Service temporarily unavailable</h1>
<p>The service is under maintenance. Please try again later.</p>
<hr><address>proxy.sandbox.example</address></body></html>
"""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the sandbox received, exactly as sent."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    json: Any | None  # the parsed body, or None when it was empty or not JSON
    query: str = ""  # the query string, as sent


class _TokenBook:
    """Issues and checks the sandbox's JWTs; only tokens issued (and not revoked) pass."""

    def __init__(self, *, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._key = secrets.token_bytes(32)
        # jti -> expiry as a float, so a test can use a sub-second lifetime.
        self._active: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, subject: str) -> str:
        now = time.time()
        expires_at = now + self._ttl_s
        jti = uuid.uuid4().hex
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"sub": subject, "iat": int(now), "exp": int(expires_at), "jti": jti}
        signing_input = f"{_b64url_json(header)}.{_b64url_json(payload)}"
        token = f"{signing_input}.{self._sign(signing_input)}"
        with self._lock:
            self._active = {k: v for k, v in self._active.items() if v > now}
            self._active[jti] = expires_at
        return token

    def is_valid(self, token: str) -> bool:
        parts = token.split(".")
        # A header may carry any latin-1 text; a JWT is ASCII, so anything else is garbage.
        if not token.isascii() or len(parts) != 3:
            return False
        header, payload, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{header}.{payload}")):
            return False
        try:
            claims = json.loads(_b64url_decode(payload))
        except ValueError:
            return False
        jti = claims.get("jti") if isinstance(claims, dict) else None
        with self._lock:
            expires_at = self._active.get(jti) if isinstance(jti, str) else None
        return expires_at is not None and time.time() < expires_at

    def revoke_all(self) -> None:
        with self._lock:
            self._active.clear()

    def _sign(self, signing_input: str) -> str:
        digest = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return _b64url(digest)


class SandboxState:
    """What a test can see and steer: ``app.state.sandbox``.

    The app may run in a uvicorn thread while a test reads this from another; list appends
    and deque pops are atomic, and the token book has its own lock.
    """

    def __init__(self, *, latency_s: float, token_ttl_s: float) -> None:
        self.requests: list[RecordedRequest] = []
        self.latency_s = latency_s
        """Added before every lookup and job details answer; may be changed at run time."""
        self._initial_latency_s = latency_s
        self._failures: deque[int] = deque()
        self._tokens = _TokenBook(ttl_s=token_ttl_s)
        self.refuse_logins = False
        """Refuse every login as if the credentials were wrong (a rotated apicode)."""

    @property
    def token_requests(self) -> int:
        """How many ``POST /rest/token`` requests arrived, successful or not."""
        return sum(1 for r in self.requests if r.path == TOKEN_PATH)

    @property
    def lookups(self) -> list[RecordedRequest]:
        """The ``findbyendcustomer`` requests received, oldest first."""
        return [r for r in self.requests if r.path == FIND_PATH]

    @property
    def details_requests(self) -> list[RecordedRequest]:
        """The ``GET /rest/jobs`` (job details) requests received, oldest first."""
        return [r for r in self.requests if r.path == DETAILS_PATH]

    def revoke_tokens(self) -> None:
        """Make every token issued so far invalid: the next lookup with one gets ``401``."""
        self._tokens.revoke_all()

    def fail_next(self, *statuses: int) -> None:
        """Answer the next lookups or job details calls with these statuses, in order.

        Each answer is a problem JSON (a ``429`` carries ``Retry-After: 0``). Only calls that
        pass the token check consume a queued status; then normal behaviour resumes.
        """
        for status in statuses:
            if not 400 <= status <= 599:
                raise ValueError(f"fail_next takes 4xx/5xx statuses, not {status}")
        self._failures.extend(statuses)

    def reset(self) -> None:
        """Forget recorded requests and queued failures, and restore the initial latency.

        Issued tokens stay valid: use :meth:`revoke_tokens` for that.
        """
        self.requests.clear()
        self._failures.clear()
        self.latency_s = self._initial_latency_s
        self.refuse_logins = False

    def _next_failure(self) -> int | None:
        try:
            return self._failures.popleft()
        except IndexError:
            return None


class _RecordingMiddleware:
    """Records every HTTP request, then hands the buffered body on unchanged."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        self._state.requests.append(
            RecordedRequest(
                method=scope["method"],
                path=scope["path"],
                headers={
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
                },
                json=_parse_json(body),
                query=scope.get("query_string", b"").decode("latin-1"),
            )
        )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)


def create_sandbox_app(
    *,
    cid: str = SANDBOX_CID,
    apicode: str = SANDBOX_APICODE,
    token_ttl_s: float = 7200,
    latency_s: float = 0.0,
    slow_delay_s: float = 30.0,
) -> Starlette:
    """Build the sandbox ASGI app; its :class:`SandboxState` is ``app.state.sandbox``.

    ``token_ttl_s`` may be fractional (or 0, for tokens that are born expired);
    ``slow_delay_s`` is how long the ``FAULT-SLOW`` customer takes to answer.
    """
    state = SandboxState(latency_s=latency_s, token_ttl_s=token_ttl_s)

    async def token(request: Request) -> Response:
        body = _parse_json(await request.body())
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("cid"), str)
            or not isinstance(body.get("apicode"), str)
        ):
            return _token_error(TOKEN_ERROR_MALFORMED, "cid and apicode are required strings.")
        # compare_digest for both, so a wrong cid and a wrong apicode take the same time.
        cid_ok = hmac.compare_digest(_utf8(body["cid"]), _utf8(cid))
        apicode_ok = hmac.compare_digest(_utf8(body["apicode"]), _utf8(apicode))
        if not (cid_ok and apicode_ok) or state.refuse_logins:
            return _token_error(TOKEN_ERROR_CREDENTIALS, "Invalid cid or apicode.")
        return _json_response(201, {"token": state._tokens.issue(cid)})

    async def _admit(request: Request) -> Response | None:
        """What every job endpoint does first: its latency, the token, an injected failure."""
        if state.latency_s > 0:
            await asyncio.sleep(state.latency_s)
        if not state._tokens.is_valid(_bearer_token(request)):
            return _problem(
                401, "Missing, invalid or expired token.", {"WWW-Authenticate": "Bearer"}
            )
        failure = state._next_failure()
        if failure is not None:
            headers = {"Retry-After": "0"} if failure == 429 else None
            return _problem(failure, "Failure injected by the sandbox.", headers)
        return None

    async def find_by_end_customer(request: Request) -> Response:
        refused = await _admit(request)
        if refused is not None:
            return refused

        body = _parse_json(await request.body())
        if not isinstance(body, dict):
            return _problem(400, "The request body must be a JSON object.")
        ssn, custnum = body.get("ssn"), body.get("custnum")
        if (ssn is not None and not isinstance(ssn, str)) or (
            custnum is not None and not isinstance(custnum, str)
        ):
            return _problem(400, "ssn and custnum must be strings.")
        if bool(ssn) == bool(custnum):
            return _problem(400, "Either ssn or custnum is required, not both.")
        all_invoices = body.get("all_invoices", 0)
        # bool is an int in Python; JSON true is not what the API documents, so refuse it.
        if isinstance(all_invoices, bool) or all_invoices not in (0, 1):
            return _problem(400, "all_invoices must be 0 or 1.")

        fault = _FAULTS.get(custnum) if custnum else None
        if fault is not None:
            logger.info("Sandbox answering with fault %s", fault.name)
            if fault is Fault.SLOW:
                await asyncio.sleep(slow_delay_s)
                custnum = CUSTNUM_SMALL
            else:
                return _fault_response(fault)

        answer = _jobs_answer(ssn, custnum, include_paid=all_invoices == 1)
        if answer is None:
            return _problem(404, "No jobs found for the end customer.")
        return Response(answer, media_type="application/json")

    async def job_details(request: Request) -> Response:
        refused = await _admit(request)
        if refused is not None:
            return refused
        raw = request.query_params.get("jobid", "")
        if not raw.isascii() or not raw.isdigit():
            return _problem(400, "jobid is a required integer.")
        job_id = int(raw)
        fault = DETAILS_FAULT_JOBS.get(job_id)
        if fault is not None:
            logger.info("Sandbox answering job details with fault %s", fault.name)
            if fault is not Fault.SLOW:
                return _fault_response(fault)
            await asyncio.sleep(slow_delay_s)
            return _json_response(200, {"jobid": job_id, "currentstatustext": "Invoicing"})
        found = JOBS_BY_ID.get(job_id)
        if found is None:
            return _problem(404, "No job found.")
        job, govid = found
        return _json_response(200, job.details_json(govid))

    app = Starlette(
        routes=[
            Mount(
                "/rest",
                routes=[
                    Route("/token", token, methods=["POST"]),
                    Route("/jobs/findbyendcustomer", find_by_end_customer, methods=["POST"]),
                    Route("/jobs", job_details, methods=["GET"]),
                ],
            )
        ],
        middleware=[Middleware(_RecordingMiddleware, state=state)],
    )
    app.state.sandbox = state
    return app


def _fault_response(fault: Fault) -> Response:
    match fault:
        case Fault.SERVER_ERROR:
            return _problem(500, "The sandbox simulated an internal error.")
        case Fault.UNAVAILABLE:
            return _problem(503, "The sandbox simulated a service outage.")
        case Fault.RATE_LIMITED:
            return _problem(429, "The sandbox simulated rate limiting.", {"Retry-After": "1"})
        case Fault.HTML:
            # A proxy in front of Ropo answering for it: 200, but not the API at all.
            return HTMLResponse(_MAINTENANCE_PAGE, status_code=200)
        case Fault.BAD_JSON:
            return _json_response(200, {"jobs": "maintenance"})
        case Fault.BAD_REQUEST:
            return _problem(400, "The sandbox simulated a rejected request.")
        case Fault.SLOW:
            raise AssertionError("FAULT-SLOW is answered with data, not a fault response")


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An RFC 7807 problem; ``detail`` is fixed text, never the request echoed back."""
    body = {
        "status": status,
        "type": PROBLEM_TYPE,
        "title": _reason_phrase(status),
        "detail": detail,
    }
    return _json_response(status, body, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _reason_phrase(status: int) -> str:
    # fail_next accepts any 4xx/5xx, including codes the stdlib has no name for (499).
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@functools.cache
def _jobs_answer(ssn: str | None, custnum: str | None, *, include_paid: bool) -> bytes | None:
    """A customer's ``200`` body, or None when they have no such jobs.

    The sandbox's customers never change, so each answer is rendered once: the load
    benchmark's Ropo stand-in then spends its CPU on HTTP, not on JSON, and the app under
    test has the machine's cores to itself as far as possible.
    """
    customer = CUSTOMERS_BY_SSN.get(ssn) if ssn else CUSTOMERS_BY_CUSTNUM.get(custnum or "")
    jobs = customer.matching_jobs(include_paid=include_paid) if customer else []
    return _dump_json({"jobs": jobs}).encode() if jobs else None


def _token_error(error_id: int, text: str) -> Response:
    return _json_response(400, {"errorId": error_id, "errorText": text})


def _json_response(
    status: int,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    return Response(_dump_json(body), status_code=status, headers=headers, media_type=media_type)


def _dump_json(value: Any) -> str:
    """JSON text in which money keeps exactly two decimals (``12.10``, not ``12.1``)."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{_dump_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump_json(v) for v in value) + "]"
    return json.dumps(value)


def _parse_json(body: bytes) -> Any | None:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _utf8(text: str) -> bytes:
    # JSON may carry a lone surrogate ("\ud800"); that is a wrong credential, not a crash.
    return text.encode("utf-8", "surrogatepass")


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
