"""The sharded Ropo pool: requests spread over shards, and the environment's proxy honoured."""

from __future__ import annotations

import pytest

from bot.ropo.pool import ShardedTransport, environment_proxy


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


async def test_every_shard_goes_through_the_proxy():
    transport = ShardedTransport(
        max_connections=80, max_keepalive=16, shards=8, proxy="http://proxy.internal:3128"
    )
    try:
        pools = [shard._pool for shard in transport._shards]
        assert len(pools) == 8
        assert {type(pool).__name__ for pool in pools} == {"AsyncHTTPProxy"}
    finally:
        await transport.aclose()
