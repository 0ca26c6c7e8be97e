"""A connection pool for a rush: several small httpx pools instead of one large one.

httpcore's pool looks at every connection it holds each time a request is queued or a
response finishes, so with hundreds of lookups waiting on a slow Ropo One at once the event
loop spends most of its time in that scan (measured with py-spy under bench/: about 40 % of
the loop at 800 lookups in flight). The cost grows with the square of the pool's size, so
spreading the same connections over a few shards divides it by the number of shards, while
every request still goes through httpx's own HTTP/1.1 stack, timeouts and errors.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import httpx

SHARDS = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` httpx transports; each request goes to the one with the fewest in flight."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_keepalive: int,
        shards: int = SHARDS,
        proxy: str | None = None,
    ) -> None:
        per_shard = httpx.Limits(
            max_connections=max(1, max_connections // shards),
            max_keepalive_connections=max(1, max_keepalive // shards),
        )
        self._shards = [
            httpx.AsyncHTTPTransport(limits=per_shard, proxy=proxy) for _ in range(shards)
        ]
        self._in_flight = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on the least busy shard; its response body is read there too."""
        index = min(range(len(self._shards)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
            # The client reads the body after this returns; read it here so the shard's
            # count stays true (Ropo's answers are small JSON documents).
            await response.aread()
        finally:
            self._in_flight[index] -= 1
        return response

    async def aclose(self) -> None:
        """Close every shard's connections."""
        for shard in self._shards:
            await shard.aclose()


def environment_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` name for ``url``, unless ``NO_PROXY`` exempts it.

    httpx reads these itself only for its own default transport; a client given a transport
    must pass the proxy on, or a deployment behind a proxy could not reach Ropo One.
    """
    parts = urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)
