"""Ropo One down, end to end: the breaker opens, agents are told at once, /healthz shows it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Stack, StackServers, open_stack, serve_stack


@pytest.fixture(scope="module")
def stack_servers() -> Iterator[StackServers]:
    """A stack whose breaker opens after two failed Ropo requests."""
    with serve_stack(ropo_circuit_failures=2, ropo_circuit_reset_s=600) as servers:
        yield servers


def test_once_ropo_has_failed_agents_are_told_at_once_and_ropo_is_left_alone(
    stack_servers: StackServers,
):
    with open_stack(stack_servers) as stack:
        _, first = stack.command("FAULT-503")  # tried, retried: opens the breaker
        # Its third try found the breaker open: this agent is told so too.
        assert stack.reply(first)["text"].startswith("Ropo One is unavailable.")
        asked = len(stack.ropo.lookups)
        assert asked == 2  # the third try was not sent

        health = stack.http.get(stack.url + "/healthz").json()
        assert health["circuit"] == "open"
        assert 590 < health["circuit_retry_in_s"] <= 600
        ready = stack.http.get(stack.url + "/readyz")
        assert ready.status_code == 503  # a load balancer sends the lookups elsewhere
        problem = ready.json()["checks"]["ropo_circuit"]
        assert problem.startswith("Ropo One keeps failing, so the circuit to it is open")
        metrics = stack.http.get(stack.url + "/metrics").text
        assert 'ropo_invoices_ropo_circuit_state{state="open"} 1.0' in metrics

        _, second = stack.command("C-1001")
        reply = stack.reply(second)
        _assert_told_ropo_is_unavailable(stack, reply)
        assert len(stack.ropo.lookups) == asked  # Ropo was not asked


def _assert_told_ropo_is_unavailable(stack: Stack, reply: dict) -> None:
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Ropo One is unavailable. Reference: R-")
    summary = reply["blocks"][0]["text"]["text"]
    assert "it will try Ropo One again in about 10 minutes" in summary
    assert "`C-1001`" in summary
