"""A local stand-in for Slack: the Web API and ``response_url``, recording what they receive.

The demo console, the end-to-end tests and the load benchmark point the app at this
instead of slack.com (``SLACK_API_URL``), so each of them can see exactly what the app sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.doctor import BOT_SCOPES

TEAM_ID = "T0STANDIN"
Failure = int | tuple[int, str]
"""A status to answer with, or a status and its ``Retry-After`` header."""
BOT_USER_ID = "U0BOTUSER"


def member(user_id: str, *, team_id: str = TEAM_ID, **fields: Any) -> dict[str, Any]:
    """A ``users.info`` user: a full member of ``team_id``, unless ``fields`` say otherwise.

    ``member("U1", is_restricted=True)`` is a guest, ``member("U1", team_id="T0OTHER")``
    someone from another organisation, ``member("U1", locale="fi-FI")`` an agent whose Slack
    is in Finnish (answered only to ``include_locale``, as Slack does).
    """
    return {
        "id": user_id,
        "team_id": team_id,
        "name": user_id.lower(),
        "deleted": False,
        "is_bot": False,
        "is_app_user": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        **fields,
    }


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the stand-in received it."""

    kind: str  # "api" or "response_url"
    name: str  # Web API method (``views.open``) or the response_url's path token
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 200  # what the stand-in answered it with


class SlackStandIn:
    """Records Web API calls and ``response_url`` posts; answers like Slack does.

    ``users`` maps a user id to the ``user`` object ``users.info`` returns (see
    :func:`member`); it starts with the agent the demo and the request builders act as, a
    full member, and tests can add guests or external users. ``users.list`` lists the same
    users, in the dict's order, ``limit`` a page (at most ``users_list_page_size``) with a
    cursor to the next. ``api_errors`` maps a Web API method to the error Slack answers it
    with (``{"views.open": "expired_trigger_id"}``); ``rate_limited`` maps a method to a
    ``Retry-After`` in seconds: its next call is answered ``429 ratelimited``, once.
    Like Slack, every Web API answer carries ``X-OAuth-Scopes`` (``scopes``, the token's
    grants) and ``Date`` (this machine's clock plus ``clock_skew_s``); serve it with
    uvicorn's own Date header off (``date_header=False``) so there is one. ``apps.connections
    .open`` wants an app-level token (``xapp-``), as Slack does.

    :meth:`fail_responses` and :meth:`fail_api` make the next posts to a ``response_url``,
    or calls of a method, fail with given statuses; every request is recorded, failed ones
    too, with the status it was answered with. ``slow_api`` maps a method to how many of its
    next calls are answered only after ``slow_api_delay_s``, as when Slack hangs.
    Thread-safe: the server may run in another thread.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        # Imported here: slack_requests imports this module for TEAM_ID.
        from bot.dev.slack_requests import DEFAULT_USER

        self.users: dict[str, dict[str, Any]] = {DEFAULT_USER: member(DEFAULT_USER)}
        self.api_errors: dict[str, str] = {}
        self.rate_limited: dict[str, int] = {}
        self.users_list_page_size = 1000
        self.usergroup_members: dict[str, list[str]] = {}
        self.scopes: tuple[str, ...] = BOT_SCOPES
        self.clock_skew_s = 0.0
        self._response_failures: dict[str, deque[Failure]] = {}
        self._api_failures: dict[str, deque[Failure]] = {}
        self.slow_api: dict[str, int] = {}
        self.slow_api_delay_s = 3.0
        self._changed = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["POST", "GET"]),
                Route("/response/{token}", self._response_url, methods=["POST"]),
            ]
        )

    # -- how it misbehaves -------------------------------------------------------------

    def fail_responses(self, *failures: Failure, token: str = "*") -> None:  # noqa: S107
        """Answer the next posts to ``token``'s response_url (any: ``*``) with ``failures``.

        Each is a status (``500``) or a status and a ``Retry-After`` value (``(429, "1")``),
        used once, in order; then posts are taken again.
        """
        with self._changed:
            self._response_failures.setdefault(token, deque()).extend(failures)

    def fail_api(self, method: str, *failures: Failure) -> None:
        """Answer the next calls of ``method`` with these statuses, like :meth:`fail_responses`."""
        with self._changed:
            self._api_failures.setdefault(method, deque()).extend(failures)

    def _next_failure(self, queues: dict[str, deque[Failure]], *names: str) -> Failure | None:
        with self._changed:
            for name in names:
                if queues.get(name):
                    return queues[name].popleft()
        return None

    # -- what was received -------------------------------------------------------------

    def api_calls(self, method: str | None = None) -> list[Received]:
        """Web API calls received, optionally only those of one method."""
        with self._changed:
            return [r for r in self.received if r.kind == "api" and method in (None, r.name)]

    def responses(self, token: str | None = None) -> list[Received]:
        """``response_url`` posts received, optionally only those to one token."""
        with self._changed:
            return [
                r for r in self.received if r.kind == "response_url" and token in (None, r.name)
            ]

    def wait_for_responses(self, count: int, token: str | None = None, timeout: float = 10.0):
        """Block (in a thread other than the server's) until ``count`` posts have arrived."""
        self._until(lambda: len(self.responses(token)) >= count, timeout, "response_url posts")
        return self.responses(token)

    def wait_for_api_calls(self, method: str, count: int, timeout: float = 10.0) -> list[Received]:
        """Block (in a thread other than the server's) until ``count`` ``method`` calls arrived."""
        self._until(lambda: len(self.api_calls(method)) >= count, timeout, f"{method} calls")
        return self.api_calls(method)

    def _until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                raise TimeoutError(f"the expected {what} did not arrive in {timeout}s")

    async def wait_for_responses_async(
        self, count: int, token: str | None = None
    ) -> list[Received]:
        """The same, for code on the server's own event loop; bound it with asyncio.timeout."""
        await self._until_async(lambda: len(self.responses(token)) >= count)
        return self.responses(token)

    async def wait_for_api_calls_async(self, method: str, count: int) -> list[Received]:
        """``count`` ``method`` calls, waiting on the event loop; bound it with asyncio.timeout."""
        await self._until_async(lambda: len(self.api_calls(method)) >= count)
        return self.api_calls(method)

    async def next_received_async(self, index: int) -> Received:
        """The ``index``-th request received (from 0), waiting on the event loop until it is."""
        await self._until_async(lambda: len(self.received) > index)
        with self._changed:
            return self.received[index]

    async def _until_async(self, ready: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while not ready():
            arrived = asyncio.Event()
            waiter = (loop, arrived)
            with self._changed:
                self._async_waiters.append(waiter)
            try:
                if not ready():
                    await arrived.wait()
            finally:
                with self._changed:
                    self._async_waiters.remove(waiter)

    def clear(self) -> None:
        """Forget everything received."""
        with self._changed:
            self.received.clear()

    # -- the endpoints ---------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        # users.info and usergroups.users.list are GETs: their arguments are in the query.
        body = {**request.query_params, **await _read_body(request)}
        failure = self._next_failure(self._api_failures, method)
        if failure is not None:
            status, headers = _failure(failure)
            self._record(Received("api", method, body, dict(request.headers), status=status))
            error = "ratelimited" if status == 429 else "internal_error"
            return JSONResponse({"ok": False, "error": error}, status, headers=headers)
        self._record(Received("api", method, body, dict(request.headers)))
        with self._changed:
            retry_after = self.rate_limited.pop(method, None)
            slow = self.slow_api.get(method, 0) > 0
            if slow:
                self.slow_api[method] -= 1
        if slow:  # recorded on arrival: the caller may give up before the answer
            await asyncio.sleep(self.slow_api_delay_s)
        if retry_after is not None:
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        answer = self._answer(method, body)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if method == "apps.connections.open" and not token.startswith("xapp-"):
            answer = {"ok": False, "error": "not_allowed_token_type"}
        return JSONResponse(answer, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        return {
            "X-OAuth-Scopes": ",".join(self.scopes),
            "Date": email.utils.formatdate(time.time() + self.clock_skew_s, usegmt=True),
        }

    async def _response_url(self, request: Request) -> Response:
        body = await _read_body(request)
        token = request.path_params["token"]
        failure = self._next_failure(self._response_failures, token, "*")
        status, headers = _failure(failure) if failure is not None else (200, {})
        self._record(Received("response_url", token, body, dict(request.headers), status=status))
        if failure is not None:
            return PlainTextResponse("slack_is_having_a_bad_day", status, headers=headers)
        return PlainTextResponse("ok")

    def _record(self, received: Received) -> None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
            for loop, arrived in self._async_waiters:
                loop.call_soon_threadsafe(arrived.set)

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method in self.api_errors:
            return {"ok": False, "error": self.api_errors[method]}
        if method == "apps.connections.open":
            return {"ok": True, "url": "wss://standin.slack.invalid/link"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://standin.slack.invalid/",
                "team": "Stand-in",
                "user": "ropo-invoices",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "B0STANDIN",
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1700000000.000100"}
        if method in {"views.open", "views.update", "views.push", "views.publish"}:
            view = body.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            return {"ok": True, "view": {"id": "V0STANDIN", "hash": "h1", **view}}
        if method == "users.info":
            user = self.users.get(str(body.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": _with_locale(user, body)}
        if method == "users.list":
            return self._users_list(body)
        if method == "usergroups.users.list":
            members = self.usergroup_members.get(str(body.get("usergroup")))
            if members is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": members}
        return {"ok": True}

    def _users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        """A page of ``users``: the cursor is the index of its first user, as text."""
        users = list(self.users.values())  # one C-level copy: tests may add users meanwhile
        limit = min(int(body.get("limit") or 1000), 1000, self.users_list_page_size)
        cursor = str(body.get("cursor") or "")
        if cursor and not cursor.isdigit():
            return {"ok": False, "error": "invalid_cursor"}
        start = int(cursor or 0)
        page = users[start : start + limit]
        following = start + limit
        next_cursor = str(following) if following < len(users) else ""
        return {
            "ok": True,
            "members": [_with_locale(user, body) for user in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }


def _failure(failure: Failure) -> tuple[int, dict[str, str]]:
    if isinstance(failure, tuple):
        return failure[0], {"Retry-After": failure[1]}
    return failure, {}


def _with_locale(user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``user`` as Slack answers: its ``locale`` only when asked with ``include_locale``."""
    if str(body.get("include_locale", "")).lower() in ("1", "true"):
        return user
    return {key: value for key, value in user.items() if key != "locale"}


async def _read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        return json.loads(raw or b"{}")
    return dict(parse_qsl(raw.decode()))
