"""Timings of the pure parts with :mod:`timeit`: parsing input and rendering a long reply."""

from __future__ import annotations

import json
import statistics
import timeit
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from bot.blocks import render_invoice_list
from bot.lookup import LookupResult, sort_invoices
from bot.query import Query, parse_command
from bot.ropo.models import JobsResponse
from bot.ropo.sandbox_data import CUSTNUM_LARGE, CUSTOMERS_BY_CUSTNUM
from bot.settings import RopoEnvironment
from bot.slack.context import ContextSealer
from bot.slack.delivery import render_outcome

REPEATS = 7
RENDER_KEY = "render page 1 of 120 + sealed buttons (render_outcome)"
"""The timing the 2 ms target is checked against: the render exactly as the listener does it."""


def per_call_s(function: Callable[[], Any]) -> float:
    """The median over ``REPEATS`` runs of one call's time, each run long enough to trust."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(REPEATS, number))


def _large_customer_json() -> bytes:
    """C-1200's open invoices as Ropo One's JSON text (amounts as JSON numbers)."""
    jobs = CUSTOMERS_BY_CUSTNUM[CUSTNUM_LARGE].matching_jobs(include_paid=False)
    text = json.dumps({"jobs": jobs}, default=lambda d: float(d) if isinstance(d, Decimal) else d)
    return text.encode()


def _large_result(query: Query, raw: bytes) -> LookupResult:
    """What the lookup makes of C-1200's answer: parsed as the client parses, then sorted."""
    jobs = JobsResponse.model_validate(json.loads(raw, parse_float=Decimal)).jobs
    return LookupResult(
        query=query,
        invoices=sort_invoices(jobs),
        currency="EUR",
        environment=RopoEnvironment.CUSTOM,
        reference="R-BENCH1",
    )


def time_pure_parts() -> dict[str, float]:
    """Seconds per call of each pure step, keyed by a short description."""
    # render_outcome reads only these two services; the rest of the app stays out of it.
    services = SimpleNamespace(sealer=ContextSealer(b"bench-signing-secret"), locale="en_FI")
    query = parse_command(CUSTNUM_LARGE)
    assert isinstance(query, Query)
    raw = _large_customer_json()
    result = _large_result(query, raw)
    assert len(result.invoices) == 120

    def stub_value(page: int, include_paid: bool) -> str:
        return f"{page}:{int(include_paid)}"

    return {
        "parse `C-1001`": per_call_s(lambda: parse_command("C-1001")),
        "parse `131052-308T all`": per_call_s(lambda: parse_command("131052-308T all")),
        "parse + sort Ropo's JSON, 120 invoices": per_call_s(lambda: _large_result(query, raw)),
        "render page 1 of 120 (render_invoice_list)": per_call_s(
            lambda: render_invoice_list(result, page=0, button_value=stub_value, locale="en_FI")
        ),
        RENDER_KEY: per_call_s(lambda: render_outcome(result, services, page=0)),  # type: ignore[arg-type]
    }


def main() -> None:
    """Print the timings as JSON: ``bench.load`` runs this with the app's own ``PYTHONPATH``."""
    print(json.dumps(time_pure_parts()))


if __name__ == "__main__":
    main()
