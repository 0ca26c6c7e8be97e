"""How the Ropo client reaches Ropo One: httpx's API over aiohttp's HTTP/1.1 connections.

In a rush (bench/ measures it), httpx's own stack (httpcore, h11 and anyio) costs the event
loop clearly more per lookup than the same request sent through aiohttp, and the event loop
is what every agent waits on. So the client keeps httpx (its requests, responses, timeouts
and errors, which the rest of the adapter and its tests speak) and sends through
``httpx-aiohttp``'s transport.

That transport maps aiohttp's errors to httpx's, but files a refused or dropped connection
under ``ConnectTimeout`` and lets a few aiohttp errors through unmapped. :class:`RopoTransport`
puts them right, so the client can tell "Ropo One is slow" from "Ropo One is unreachable".
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class RopoTransport(httpx.AsyncBaseTransport):
    """aiohttp under httpx, with errors that say what happened; response bodies read here."""

    def __init__(self, *, max_connections: int, proxy: str | None = None) -> None:
        self._inner = AiohttpTransport(
            limits=httpx.Limits(max_connections=max_connections),
            proxy=httpx.Proxy(proxy) if proxy else None,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its body (Ropo's answers are small JSON documents)."""
        with _true_errors():
            response = await self._inner.handle_async_request(request)
            await response.aread()  # here, so an error in the body is mapped here too
        return response

    async def aclose(self) -> None:
        """Close the connections."""
        await self._inner.aclose()


@contextmanager
def _true_errors() -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        if isinstance(exc.__cause__, TimeoutError):  # aiohttp's timeouts are TimeoutErrors
            raise
        # Refused, reset or closed by the other end: unreachable, not slow.
        raise httpx.ConnectError(str(exc) or type(exc.__cause__).__name__) from exc.__cause__
    except aiohttp.ClientError as exc:
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc


def environment_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` name for ``url``, unless ``NO_PROXY`` exempts it.

    httpx reads these itself only for its own default transport; a client given a transport
    must pass the proxy on, or a deployment behind a proxy could not reach Ropo One.
    """
    parts = urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):  # type: ignore[attr-defined]
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)
