"""Helpers shared by the Ropo One adapter tests: queries, a served sandbox, a fake Ropo."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.query import Identifier, IdentifierKind, Query
from bot.ropo.sandbox import SandboxState, create_sandbox_app
from tests.servers import ServedApp

# Distinctive values, so a leak of either into a log line or an error message is findable.
TEST_CID = "bot-tests"
TEST_APICODE = "apicode-Zq8wX3-never-logged"
# FAULT-SLOW answers after this long: past every timeout the tests use, short enough that
# stopping the server does not wait long for the handler still sleeping in it.
SLOW_DELAY_S = 1.3

FAKE_BASE_URL = "https://ropo.test/rest"
TOKEN_URL_PATH = "/rest/token"
FIND_URL_PATH = "/rest/jobs/findbyendcustomer"


def hetu(value: str, *, include_paid: bool = False) -> Query:
    """A lookup by identity code, exactly as given."""
    return Query(Identifier(IdentifierKind.HETU, value), include_paid=include_paid)


def custnum(value: str, *, include_paid: bool = False) -> Query:
    """A lookup by customer number, exactly as given."""
    return Query(Identifier(IdentifierKind.CUSTOMER_NUMBER, value), include_paid=include_paid)


@contextmanager
def serve_sandbox(**options: Any) -> Iterator[tuple[str, SandboxState]]:
    """A sandbox on loopback with the test credentials: its ``/rest`` base URL and state."""
    app: Starlette = create_sandbox_app(cid=TEST_CID, apicode=TEST_APICODE, **options)
    with ServedApp(app) as served:
        yield f"{served.url}/rest", app.state.sandbox


def jwt(claims: dict[str, Any]) -> str:
    """An unsigned-looking JWT carrying ``claims``: the client only reads ``exp``."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


Answer = httpx.Response | Exception


class FakeRopo:
    """A scripted Ropo One for :class:`httpx.MockTransport`, for what the sandbox can't do.

    Token requests get ``token_answers`` in order (then a 201 with ``token``); lookups get
    ``lookup_answers`` in order (then a 404 problem). An exception answer is raised, as a
    transport would raise it.
    """

    def __init__(
        self,
        *,
        lookup_answers: list[Answer] | None = None,
        token_answers: list[Answer] | None = None,
        token: str = "opaque-token-value-1234",  # noqa: S107 - a fake token
    ) -> None:
        self.token = token
        self.lookup_answers = list(lookup_answers or [])
        self.token_answers = list(token_answers or [])
        self.requests: list[httpx.Request] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == TOKEN_URL_PATH:
            return self._next(self.token_answers, httpx.Response(201, json={"token": self.token}))
        if request.url.path == FIND_URL_PATH:
            return self._next(self.lookup_answers, problem(404, "Not Found", "No jobs found."))
        return httpx.Response(500, text="unexpected path")

    @staticmethod
    def _next(answers: list[Answer], default: httpx.Response) -> httpx.Response:
        answer = answers.pop(0) if answers else default
        if isinstance(answer, Exception):
            raise answer
        return answer


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """An RFC 7807 problem answer, as Ropo One sends them."""
    body = {"status": status, "type": "about:blank", "title": title, "detail": detail}
    return httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json", **(headers or {})}
    )


class RawRecords(logging.Handler):
    """Keeps every record's message as it was logged, before any redacting filter runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name} {record.levelname}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)
