"""The app's Prometheus metrics: defined here, incremented with one line where things happen.

Served at ``GET /metrics`` (:mod:`bot.slack.web`). Every label has a small, fixed set of
values (a surface, an outcome, an error kind, a refusal reason): never a user id, an
identifier or free text, so the number of series stays bounded and the metrics reveal
nobody. The metrics live in prometheus-client's default registry, which also carries the
process's CPU, memory and file descriptors.

One process keeps one set of counters. Should the app ever run several worker processes
behind one port, prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) is
what would add them up; it is not set up here.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram, Info

from bot import __version__

_PREFIX = "ropo_invoices"

LOOKUPS = Counter(
    f"{_PREFIX}_lookups",
    "Lookups answered, by Slack surface and outcome (found, none, or the failure's kind).",
    ["surface", "outcome"],
)
ROPO_REQUEST_SECONDS = Histogram(
    f"{_PREFIX}_ropo_request_seconds",
    "Time of one HTTP request to Ropo One (each attempt of a retry counts), by operation.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0),
)
ROPO_ERRORS = Counter(
    f"{_PREFIX}_ropo_errors",
    "Lookups Ropo One failed, by kind (auth, unavailable, timeout, protocol, bad_request).",
    ["kind"],
)
ACK_SECONDS = Histogram(
    f"{_PREFIX}_ack_seconds",
    "Time from Slack's request arriving to its acknowledgement (HTTP mode); Slack allows 3 s.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
REPLIES = Counter(
    f"{_PREFIX}_replies",
    "Replies to agents, by how they went (response_url or a modal) and result.",
    ["via", "result"],
)
AUDIT_WRITES = Counter(
    f"{_PREFIX}_audit_writes",
    "Audit rows, by result: stored, or failed (the lookup's answer is then withheld).",
    ["result"],
)
ACCESS_REFUSALS = Counter(
    f"{_PREFIX}_access_refusals",
    "Requests refused by the access policy, by reason (guest, external, not_allowed, ...).",
    ["reason"],
)
RATE_LIMIT_REFUSALS = Counter(
    f"{_PREFIX}_rate_limit_refusals",
    "Lookups refused because the agent passed RATE_LIMIT_PER_MINUTE.",
)
CIRCUIT_STATES = ("closed", "open", "half_open")
ROPO_CIRCUIT_STATE = Gauge(
    f"{_PREFIX}_ropo_circuit_state",
    "The Ropo One circuit breaker: 1 for the state it is in, 0 for the others.",
    ["state"],
)
TOKEN_RENEWALS = Counter(
    f"{_PREFIX}_ropo_token_renewals",
    "Ropo One logins for a new token, by result (ok, rejected, failed).",
    ["result"],
)
BUILD_INFO = Info(f"{_PREFIX}_build", "The running version of the app.")
BUILD_INFO.info({"version": __version__, "python": platform.python_version()})


def set_circuit_state(state: str) -> None:
    """Mark ``state`` (closed, open or half_open) as the circuit's current one."""
    for each in CIRCUIT_STATES:
        ROPO_CIRCUIT_STATE.labels(each).set(1 if each == state else 0)


set_circuit_state("closed")  # until a breaker is watched, the circuit is never open


def watch_circuit(state_of: Callable[[], str]) -> None:
    """Read the circuit's state from ``state_of`` at every scrape (it moves with time alone)."""

    def reads(state: str) -> Callable[[], float]:
        return lambda: 1.0 if str(state_of()) == state else 0.0

    for each in CIRCUIT_STATES:
        ROPO_CIRCUIT_STATE.labels(each).set_function(reads(each))
