"""The Ropo transport over real loopback sockets: errors that say what happened, and proxies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr

from bot.ropo.client import RopoClient
from bot.ropo.sandbox import SandboxState
from bot.ropo.transport import RopoTransport, environment_proxy
from tests.ropo.ropo_support import custnum

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A TCP server on loopback that answers every connection with ``handler``; its URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def _post(url: str, *, read_timeout_s: float = 5.0) -> httpx.Response:
    transport = RopoTransport(max_connections=10)
    timeout = httpx.Timeout(read_timeout_s, connect=1.0)
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
        return await client.post(f"{url}/rest/token", json={"cid": "c"})


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # hangs up: refused, reset or closed is "unreachable", not "slow"
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"jobs": [',  # a body cut short
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",  # not HTTP at all
    ],
    ids=["hang-up", "body-cut-short", "not-http"],
)
async def test_a_broken_answer_is_a_transport_error_not_a_timeout(answer: bytes):
    async def answer_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with raw_server(answer_and_close) as url:
        with pytest.raises(httpx.TransportError) as caught:
            await _post(url)

    assert not isinstance(caught.value, httpx.TimeoutException)


async def test_a_server_that_never_answers_is_a_timeout():
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(stall) as url:
        with pytest.raises(httpx.TimeoutException):
            await _post(url, read_timeout_s=0.2)


async def test_the_answer_and_what_was_sent_come_through_whole():
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        seen.append(head + await reader.readexactly(length))
        body = b'{"token": "t"}'
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    async with raw_server(answer) as url:
        response = await _post(url)

    assert response.status_code == 201
    assert response.json() == {"token": "t"}
    assert response.headers["content-type"] == "application/json"
    assert seen[0].startswith(b"POST /rest/token HTTP/1.1\r\n")
    assert seen[0].endswith(b'{"cid":"c"}')


async def test_requests_go_through_the_proxy_when_one_is_set(
    ropo_url: str, sandbox: SandboxState
) -> None:
    # The sandbox stands in for the proxy: a request that reaches it for a host that does not
    # exist can only have come through the proxy.
    proxy = ropo_url.removesuffix("/rest")
    transport = RopoTransport(max_connections=10, proxy=proxy)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(
            "http://ropo.invalid/rest/token", json={"cid": "wrong", "apicode": "wrong"}
        )

    assert response.status_code in (400, 401)
    assert sandbox.token_requests == 1


def test_the_https_proxy_of_the_environment_is_used_for_ropo(monkeypatch: pytest.MonkeyPatch):
    for name in ("https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert environment_proxy("https://rc.ropo24.fi/rest") == "http://proxy.internal:3128"


def test_no_proxy_exempts_ropo(monkeypatch: pytest.MonkeyPatch):
    for name in ("https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "ropo24.fi")
    assert environment_proxy("https://rc.ropo24.fi/rest") is None


def test_without_proxy_settings_there_is_no_proxy(monkeypatch: pytest.MonkeyPatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert environment_proxy("https://rc.ropo24.fi/rest") is None


async def test_a_cookie_ropo_sets_is_never_sent_back() -> None:
    """Ropo One authenticates by bearer token: cookies are neither kept nor sent."""
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                (
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                b"0",
            )
        )
        await reader.readexactly(length)
        heads.append(head.lower())
        body = b'{"token": "t0k3n-1234567890"}' if b"/token " in head else b'{"jobs": []}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Set-Cookie: session=abc; Path=/\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async with raw_server(answer) as url:
        client = RopoClient(f"{url}/rest", "cid", SecretStr("apicode"), timeout_s=5)
        try:
            for _ in range(2):
                assert await client.find_invoices(custnum("C-1")) == ()
        finally:
            await client.aclose()
    assert len(heads) == 3  # the login, then two lookups
    assert all(b"cookie:" not in head for head in heads)
