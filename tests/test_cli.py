"""The command line as a user runs it: ``python -m bot ...`` in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bot(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot`` with a clean Slack/Ropo environment plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_"))}
    clean.pop("LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",  # no .env there
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )


def test_demo_once_prints_the_reply_drawn_for_the_terminal():
    result = run_bot("demo", "--once", "/invoices C-1001")
    assert result.returncode == 0, result.stderr
    assert "Invoices for C-1001" in result.stdout
    assert "SBX-10401" in result.stdout
    assert "[ Open in MyRopo ] https://sandbox.myropo.example/invoice/9100401" in result.stdout
    assert "Ropo One sandbox" in result.stdout


def test_demo_console_pages_when_a_button_number_is_typed():
    result = run_bot("demo", stdin="/invoices C-1200\n")
    buttons = re.findall(r"\[(\d+)\] (\w[\w ]*)", result.stdout)
    next_number = next(n for n, label in buttons if label.strip() == "Next")
    result = run_bot("demo", stdin=f"/invoices C-1200\n{next_number}\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "Showing 1–10 of 120" in result.stdout
    assert "Showing 11–20 of 120" in result.stdout


def test_demo_console_opens_the_lookup_form_and_submits_what_is_typed():
    first = run_bot("demo", stdin="/invoices C-1001\n")
    buttons = dict(
        (label.strip(), n) for n, label in re.findall(r"\[(\d+)\] (\w[\w ]*)", first.stdout)
    )
    another = buttons["Look up another"]
    result = run_bot("demo", stdin=f"/invoices C-1001\n{another}\n131052-308T all\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "Type the HETU or customer number" in result.stdout
    assert "Invoices for 131052-****" in result.stdout
    assert "paid invoices included" in result.stdout
    assert "(no reply arrived" not in result.stdout


def test_demo_masks_the_identity_code_and_stays_quiet_on_stderr():
    result = run_bot("demo", "--once", "/invoices 131052-308T")
    assert result.returncode == 0
    assert "131052-****" in result.stdout
    assert "131052-308T" not in result.stdout + result.stderr
    assert result.stderr == ""


def test_serve_without_slack_credentials_says_what_is_missing():
    result = run_bot("serve")
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr


def test_half_configured_ropo_credentials_stop_start_up_without_echoing_the_secret():
    result = run_bot("demo", "--once", "help", ROPO_APICODE="very-secret-apicode")
    assert result.returncode == 2
    assert "ROPO_CID" in result.stderr
    assert "very-secret-apicode" not in result.stderr + result.stdout


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^python3 -m venv .*$", readme, flags=re.MULTILINE)
    test_command = next(c for c in commands if "pytest" in c)
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci_script.splitlines()


def test_demo_follows_the_country_it_is_given():
    result = run_bot("demo", "--country", "se", stdin="/invoices 811228-9841 alla\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "/invoices 811228-9841" in result.stdout  # the intro's Swedish examples
    assert "Invoices for 811228-****" in result.stdout
    assert "kr" in result.stdout
    refused = run_bot("demo", "--once", "/invoices 131052-308T", ROPO_COUNTRY="no")
    assert "That looks like a Finnish HETU" in refused.stdout
    assert "131052-308T" not in refused.stdout + refused.stderr


def test_demo_answers_in_the_language_it_is_given():
    finnish = run_bot("demo", "--lang", "fi", "--once", "/invoices C-1001 kaikki")
    assert finnish.returncode == 0, finnish.stderr
    assert "Laskut: C-1001" in finnish.stdout
    assert "Avaa MyRopossa" in finnish.stdout
    swedish = run_bot("demo", "--lang", "sv", "--once", "/invoices hjälp")
    assert "Sök fakturor med /invoices" in swedish.stdout
    default = run_bot("demo", "--once", "/invoices help", DEFAULT_LANGUAGE="nb")
    assert "Slå opp fakturaer med /invoices" in default.stdout
    wrong = run_bot("demo", "--lang", "de", "--once", "help")
    assert wrong.returncode != 0
    assert "--lang" in wrong.stderr
