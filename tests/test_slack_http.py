"""Replies to response_url through the shared session: what is sent, and one retry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bot.slack.session import SessionRespond


@asynccontextmanager
async def receiver(hang_up_first: int) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A response_url on loopback that closes the first ``hang_up_first`` connections unanswered."""
    received: list[bytes] = []
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(
                b":"
            )[1]
        )
        received.append(head + await reader.readexactly(length))
        if connections > hang_up_first:
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/response/T1", received
    finally:
        server.close()
        await server.wait_closed()


async def test_a_reply_is_posted_as_json_without_empty_fields() -> None:
    async with receiver(hang_up_first=0) as (url, received), aiohttp.ClientSession() as session:
        response = await SessionRespond(url, session)(
            text="Invoices", blocks=[{"type": "divider"}], response_type="ephemeral", thread_ts=None
        )

    assert (response.status_code, response.body) == (200, "ok")
    head, _, body = received[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /response/T1 HTTP/1.1")
    assert b"content-type: application/json; charset=utf-8" in head.lower()
    assert json.loads(body) == {
        "text": "Invoices",
        "blocks": [{"type": "divider"}],
        "response_type": "ephemeral",
    }


async def test_a_connection_closed_before_the_answer_is_tried_once_more() -> None:
    async with receiver(hang_up_first=1) as (url, received), aiohttp.ClientSession() as session:
        response = await SessionRespond(url, session)(text="Invoices")

    assert response.status_code == 200
    assert len(received) == 2
    assert received[0] == received[1]


async def test_a_second_hang_up_is_raised_for_the_caller_to_report() -> None:
    async with receiver(hang_up_first=2) as (url, received), aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await SessionRespond(url, session)(text="Invoices")

    assert len(received) == 2
