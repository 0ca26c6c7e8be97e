"""The batched writers: what a caller that stopped waiting leaves behind."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bot.store.batch import AsyncBatcher


class Down(Exception):
    pass


async def test_a_failed_batch_whose_caller_gave_up_is_not_reported_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A write that timed out for its caller still fails later: that is no loop-level error."""
    release = asyncio.Event()

    async def handle(items: list[int]) -> list[None]:
        await release.wait()
        raise Down

    batcher: AsyncBatcher[int, None] = AsyncBatcher(handle, "test-async")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await batcher.submit(1)
    release.set()
    await batcher.aclose()
    gc.collect()
    assert "never retrieved" not in caplog.text
