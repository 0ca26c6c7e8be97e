"""Ropo One bearer tokens: an ``httpx.Auth`` flow, one login shared, renewed early or on a 401."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

logger = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 2 * 60 * 60  # Ropo documents two hours; used when the JWT has no exp
RENEW_MARGIN_S = 5 * 60  # renew this long before expiry so no request races the deadline


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and when we stop trusting it (monotonic clock)."""

    value: SecretStr
    renew_at: float

    @property
    def fresh(self) -> bool:
        """True while the token is comfortably inside its lifetime."""
        return time.monotonic() < self.renew_at


def token_lifetime(jwt: str, *, now: float | None = None) -> float:
    """Seconds until ``jwt`` expires, read from its ``exp`` claim, else Ropo's two hours.

    The signature is not ours to check; we only read when to renew.
    """
    now = time.time() if now is None else now
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return max(0.0, float(claims["exp"]) - now)
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return float(TOKEN_LIFETIME_S)


class RopoAuth(httpx.Auth):
    """Ropo One's bearer token on every request, as an ``httpx.Auth`` flow.

    ``login`` is the coroutine that asks Ropo for a new token (without this auth: it is the
    one request that has no token). One token serves the whole process: concurrent requests
    on a cold start, or all those Ropo answered 401 at once, wait on one lock and share the
    one login it makes. A token is renewed shortly before it expires, and once when Ropo
    answers 401 to it (revoked, or Ropo restarted); a 401 to the renewed token is the
    caller's to report.
    """

    def __init__(self, login: Callable[[], Awaitable[str]]) -> None:
        self._login = login
        self._token: Token | None = None
        self._lock = asyncio.Lock()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """Not supported: the token is fetched with the async client."""
        raise RuntimeError("RopoAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send ``request`` with the current token; on a 401, renew it and send it once more."""
        token = await self._current()
        request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        response = yield request
        if response.status_code == 401:
            token = await self._renew_after_rejection(token)
            request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
            yield request

    async def _current(self) -> SecretStr:
        """A fresh token, logging in first if there is none or it is about to expire."""
        token = self._token
        if token is not None and token.fresh:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or not token.fresh:
                token = await self._renew()
            return token.value

    async def _renew_after_rejection(self, rejected: SecretStr) -> SecretStr:
        """Replace a token Ropo answered 401 to, unless another request already replaced it."""
        async with self._lock:
            token = self._token
            if token is None or token.value.get_secret_value() == rejected.get_secret_value():
                token = await self._renew()
            return token.value

    async def _renew(self) -> Token:
        raw = await self._login()
        lifetime = token_lifetime(raw)
        renew_in = max(0.0, lifetime - min(RENEW_MARGIN_S, lifetime / 10))
        self._token = Token(SecretStr(raw), time.monotonic() + renew_in)
        logger.info("Ropo One token renewed; valid for %d s", int(lifetime))
        return self._token
