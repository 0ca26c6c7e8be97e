"""Runs after the whole suite (by name): no Swedish or Norwegian code the suite used is in its log.

The oracle is the literal codes the suite types (the sandbox's customers, written every
accepted way), not the redactor's regex.
"""

from __future__ import annotations

from bot.ropo import sandbox_data as sandbox
from tests.conftest import app_log

PERSONNUMMER = sandbox.PERSONNUMMER_THREE_INVOICES
SAMORDNINGSNUMMER = sandbox.SAMORDNINGSNUMMER_DUE
WRITTEN = {
    form
    for canonical in (PERSONNUMMER, SAMORDNINGSNUMMER)
    for form in (
        canonical,
        canonical[2:],
        f"{canonical[2:8]}-{canonical[8:]}",
        f"{canonical[:8]}-{canonical[8:]}",
    )
} | {sandbox.FODSELSNUMMER_THREE_INVOICES, sandbox.D_NUMBER_REMINDER}


def test_no_swedish_or_norwegian_code_in_the_app_log_of_the_whole_run() -> None:
    log = app_log().read_text(encoding="utf-8")
    # Not vacuous: the run logged these codes, masked (tests/test_privacy_national.py).
    assert "811228-****" in log
    assert "151086*****" in log
    leaks = sorted(code for code in WRITTEN if code in log)
    assert leaks == [], f"the run's log holds {len(leaks)} full Swedish or Norwegian codes"
