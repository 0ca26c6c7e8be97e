"""``/metrics`` moves with lookups and failures, holds nobody's id, and can require a token."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.dev.slack_standin import member
from tests.conftest import Stack, StackServers, serve_stack

METRICS_TOKEN = "test-metrics-token-0123456789"
GUEST = "U0GUEST01"


@pytest.fixture(scope="module")
def stack_servers() -> Iterator[StackServers]:
    with serve_stack() as servers:
        servers.slack.users[GUEST] = member(GUEST, is_restricted=True)
        yield servers


def scrape(url: str, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``url``/metrics, by name and labels."""
    response = httpx.get(url + "/metrics", headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll for something the app does after the event the test can see (a reply posted)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never became true"
        time.sleep(0.01)


def test_a_found_lookup_moves_its_counters(stack: Stack):
    before = scrape(stack.url)
    _, token = stack.command("131052-308T")
    stack.reply(token)
    after = scrape(stack.url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("ropo_invoices_lookups_total", surface="command", outcome="found") == 1
    assert moved("ropo_invoices_ropo_request_seconds_count", operation="invoice_query") == 1
    assert moved("ropo_invoices_audit_writes_total", result="stored") == 1
    assert moved("ropo_invoices_ack_seconds_count") >= 1
    assert moved("ropo_invoices_ropo_errors_total", kind="unavailable") == 0
    wait_until(
        lambda: (
            value(
                scrape(stack.url),
                "ropo_invoices_replies_total",
                via="response_url",
                result="delivered",
            )
            > value(before, "ropo_invoices_replies_total", via="response_url", result="delivered")
        )
    )


def test_ropo_failing_counts_as_an_error_of_its_kind_with_each_attempt_timed(stack: Stack):
    before = scrape(stack.url)
    _, token = stack.command("FAULT-500")
    stack.reply(token)
    after = scrape(stack.url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("ropo_invoices_lookups_total", surface="command", outcome="unavailable") == 1
    assert moved("ropo_invoices_ropo_errors_total", kind="unavailable") == 1
    assert moved("ropo_invoices_ropo_request_seconds_count", operation="invoice_query") == 3


def test_refused_logins_and_good_ones_are_counted_as_token_renewals(stack: Stack):
    before = scrape(stack.url)
    stack.ropo.refuse_logins = True
    stack.ropo.revoke_tokens()
    _, token = stack.command("C-1001")
    stack.reply(token)
    stack.ropo.refuse_logins = False
    _, token = stack.command("C-1001")
    stack.reply(token)
    after = scrape(stack.url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("ropo_invoices_ropo_token_renewals_total", result="rejected") == 1
    assert moved("ropo_invoices_ropo_token_renewals_total", result="ok") == 1
    assert moved("ropo_invoices_ropo_errors_total", kind="auth") == 1
    assert moved("ropo_invoices_lookups_total", surface="command", outcome="auth") == 1


def test_an_access_refusal_is_counted_by_its_reason(stack: Stack):
    before = scrape(stack.url)
    response, _ = stack.command("C-1001", user_id=GUEST)
    assert response.status_code == 200
    after = scrape(stack.url)
    assert (
        value(after, "ropo_invoices_access_refusals_total", reason="guest")
        - value(before, "ropo_invoices_access_refusals_total", reason="guest")
        == 1
    )
    assert not stack.ropo.lookups


def test_no_metric_holds_a_user_id_or_an_identifier(stack: Stack):
    _, token = stack.command("131052-308T")
    stack.reply(token)
    stack.command("C-1001", user_id=GUEST)
    text = httpx.get(stack.url + "/metrics", timeout=5).text
    for secret_or_id in ("131052", "C-1001", "U0AGENT01", GUEST, "T0STANDIN", "C0SUPPORT"):
        assert secret_or_id not in text


def test_build_info_and_the_circuit_state_are_exposed(stack: Stack):
    samples = scrape(stack.url)
    from bot import __version__

    build = [labels for (name, labels) in samples if name == "ropo_invoices_build_info"]
    assert ("version", __version__) in build[0]
    assert value(samples, "ropo_invoices_ropo_circuit_state", state="closed") == 1
    assert value(samples, "ropo_invoices_ropo_circuit_state", state="open") == 0


def test_with_metrics_token_set_a_bearer_token_is_required():
    with serve_stack(metrics_token=METRICS_TOKEN) as servers:
        url = servers.bot.url + "/metrics"
        assert httpx.get(url, timeout=5).status_code == 401
        wrong = httpx.get(url, headers={"Authorization": "Bearer not-it"}, timeout=5)
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        assert METRICS_TOKEN not in wrong.text
        right = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
        assert right.status_code == 200
        assert "ropo_invoices_lookups_total" in right.text
        # The health endpoints stay open: platforms probe them without credentials.
        assert httpx.get(servers.bot.url + "/healthz", timeout=5).status_code == 200
