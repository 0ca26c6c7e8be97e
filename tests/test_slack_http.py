"""Replies to response_url through the shared session: what is sent, and what is tried again."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bot.lookup import Delivery
from bot.slack import retry
from bot.slack.delivery import send_private
from bot.slack.session import SessionRespond


@asynccontextmanager
async def receiver(
    hang_up_first: int = 0, statuses: tuple[bytes, ...] = ()
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A response_url on loopback that records each post whole.

    It closes the first ``hang_up_first`` connections unanswered (after reading the request),
    then answers the next posts with ``statuses`` (e.g. ``b"500 Oops"``), then ``200 OK``.
    """
    received: list[bytes] = []
    connections = 0
    answers = list(statuses)

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
            status = answers.pop(0) if answers else b"200 OK"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n"
                b"Retry-After: 0\r\nContent-Length: 2\r\n\r\nok"
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


async def test_a_connection_closed_after_the_post_is_not_posted_again() -> None:
    async with receiver(hang_up_first=1) as (url, received), aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await SessionRespond(url, session)(text="Invoices")

    assert len(received) == 1  # Slack may have shown it: a duplicate is worse than nothing


@pytest.mark.parametrize("status", [b"500 Internal Server Error", b"503 Unavailable", b"429 Slow"])
async def test_a_reply_slack_did_not_take_is_posted_again(
    status: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "INITIAL_BACKOFF_S", 0.01)
    async with receiver(statuses=(status,)) as (url, received), aiohttp.ClientSession() as session:
        response = await SessionRespond(url, session)(text="Invoices")

    assert response.status_code == 200
    assert len(received) == 2
    assert received[0] == received[1]


async def test_three_refusals_end_the_tries_and_the_last_answer_is_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "INITIAL_BACKOFF_S", 0.01)
    statuses = (b"500 A", b"502 B", b"503 C", b"200 OK")
    async with receiver(statuses=statuses) as (url, received), aiohttp.ClientSession() as session:
        response = await SessionRespond(url, session)(text="Invoices")

    assert response.status_code == 503
    assert len(received) == 3


async def test_a_client_error_is_not_posted_again() -> None:
    async with (
        receiver(statuses=(b"404 Not Found",)) as (url, received),
        aiohttp.ClientSession() as session,
    ):
        response = await SessionRespond(url, session)(text="Invoices")

    assert response.status_code == 404
    assert len(received) == 1


async def test_a_connection_that_cannot_be_opened_is_tried_again_then_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "INITIAL_BACKOFF_S", 0.01)
    tries: list[str] = []
    real = SessionRespond._post

    async def counted(self: SessionRespond, url: str, body: bytes):  # type: ignore[no-untyped-def]
        tries.append(url)
        return await real(self, url, body)

    monkeypatch.setattr(SessionRespond, "_post", counted)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await SessionRespond(f"http://127.0.0.1:{port}/response/T1", session)(text="x")

    assert len(tries) == 3


async def test_a_retry_after_past_the_budget_ends_the_tries() -> None:
    assert retry.next_delay_s(1, "60", remaining_s=14.0) is None
    assert retry.next_delay_s(1, "2", remaining_s=14.0) == 2.0
    assert retry.next_delay_s(3, "0", remaining_s=14.0) is None  # the third try was the last


class RecordingFallback:
    """Stands in for chat.postEphemeral: records what it was asked to post."""

    def __init__(self) -> None:
        self.posted: list[dict] = []

    async def post(self, message: dict) -> bool:
        self.posted.append(message)
        return True


async def test_a_reply_that_may_have_been_shown_is_unconfirmed_and_not_sent_another_way() -> None:
    fallback = RecordingFallback()
    async with receiver(hang_up_first=1) as (url, received), aiohttp.ClientSession() as session:
        respond = SessionRespond(url, session, fallback)  # type: ignore[arg-type]
        delivery = await send_private(respond, {"text": "Invoices"}, reference="R-TEST01")

    assert delivery is Delivery.UNCONFIRMED
    assert len(received) == 1
    assert fallback.posted == []


async def test_a_reply_refused_every_time_goes_by_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "INITIAL_BACKOFF_S", 0.01)
    fallback = RecordingFallback()
    statuses = (b"500 A", b"500 B", b"500 C")
    async with receiver(statuses=statuses) as (url, received), aiohttp.ClientSession() as session:
        respond = SessionRespond(url, session, fallback)  # type: ignore[arg-type]
        delivery = await send_private(respond, {"text": "Invoices"}, reference="R-TEST02")

    assert delivery is Delivery.SHOWN
    assert len(received) == 3
    assert fallback.posted == [{"text": "Invoices"}]
