"""``python -m bot doctor`` against the stand-ins: all ✓ when set up right, and for each
broken setting the ✗ line that names it, with its fix."""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import doctor
from bot.audit.store import create_schema
from bot.dev.slack_standin import SlackStandIn
from bot.ropo.sandbox import SandboxState, create_sandbox_app
from bot.settings import Settings, load_settings
from bot.store.migrations import LATEST as SCHEMA_VERSION
from tests.conftest import AUDIT_KEY, BOT_TOKEN, SIGNING_SECRET, audit_db_path, stack_settings
from tests.servers import ServedApp
from tests.test_cli import ROOT, run_bot

APP_TOKEN = "xapp-1-A0TEST-0000-apptoken"


@dataclass
class StandIns:
    slack: SlackStandIn
    slack_url: str
    ropo: SandboxState
    ropo_url: str

    def settings(self, **overrides: Any) -> Settings:
        return stack_settings(self.ropo_url, self.slack_url, **overrides)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SlackStandIn, str, SandboxState, str]]:
    slack = SlackStandIn()
    ropo_app = create_sandbox_app()
    with (
        ServedApp(ropo_app) as ropo,
        ServedApp(slack.app, lifespan="off", date_header=False) as slack_server,
    ):
        yield slack, slack_server.url, ropo_app.state.sandbox, ropo.url


@pytest.fixture
def standins(served) -> Iterator[StandIns]:
    slack, slack_url, ropo, ropo_url = served
    yield StandIns(slack, slack_url, ropo, ropo_url)
    slack.api_errors.clear()
    slack.scopes = doctor.BOT_SCOPES
    slack.clock_skew_s = 0.0
    slack.clear()
    ropo.reset()


def diagnose(settings: Settings) -> tuple[int, list[str]]:
    """Run the doctor on ``settings``: its exit status and its lines."""
    out = io.StringIO()
    status = doctor.run(lambda: settings, out)
    text = out.getvalue()
    for secret in (BOT_TOKEN, SIGNING_SECRET, AUDIT_KEY, APP_TOKEN, "sandbox-apicode"):
        assert secret not in text
    return status, text.splitlines()


def line(lines: list[str], name: str) -> list[str]:
    """The check's line, and its fix line if it failed."""
    index = next(i for i, text in enumerate(lines) if text[2:].startswith(name + ":"))
    fix = lines[index + 1 : index + 2]
    return [lines[index], *(fix if fix and fix[0].startswith("    fix: ") else [])]


def test_a_good_setup_passes_every_check(standins: StandIns):
    status, lines = diagnose(standins.settings())
    assert status == 0
    checks = [text for text in lines if text[:1] in (doctor.PASS, doctor.FAIL)]
    assert [text.split(":")[0] for text in checks] == [
        "✓ Settings",
        "✓ Slack bot token",
        "✓ Slack scopes",
        "✓ Slack signing secret (HTTP mode)",
        "✓ Ropo One",
        "✓ Audit store",
        "✓ Clock",
    ]
    assert line(lines, "Slack scopes") == [
        "✓ Slack scopes: commands, users:read, usergroups:read granted, as manifest.yml asks"
    ]
    assert line(lines, "Slack bot token") == [
        "✓ Slack bot token: accepted (workspace Stand-in, bot @ropo-invoices)"
    ]
    assert lines[-1] == "7 passed, 0 failed"
    # Ropo was asked for a token, and nothing about any customer.
    assert standins.ropo.token_requests == 1
    assert standins.ropo.lookups == []
    assert [call.name for call in standins.slack.api_calls()] == ["auth.test"]


def test_socket_mode_checks_the_app_level_token(standins: StandIns):
    status, lines = diagnose(standins.settings(slack_app_token=APP_TOKEN))
    assert status == 0
    assert line(lines, "Slack app-level token (Socket Mode)") == [
        "✓ Slack app-level token (Socket Mode): accepted: Socket Mode can connect"
    ]
    (opened,) = standins.slack.api_calls("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"


def test_socket_mode_without_a_signing_secret_fails_for_the_buttons(standins: StandIns):
    status, lines = diagnose(
        standins.settings(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    )
    assert status == 1
    assert line(lines, "Slack signing secret (button context)") == [
        "✗ Slack signing secret (button context): SLACK_SIGNING_SECRET is not set: buttons "
        "stop working when the app restarts",
        "    fix: copy Basic Information → App Credentials → Signing Secret into "
        "SLACK_SIGNING_SECRET",
    ]
    assert line(lines, "Slack app-level token (Socket Mode)")[0].startswith("✓")


def test_a_bot_token_in_place_of_the_app_level_token_fails(standins: StandIns):
    status, lines = diagnose(standins.settings(slack_app_token="xoxb-not-an-app-token-1"))
    assert status == 1
    assert line(lines, "Slack app-level token (Socket Mode)") == [
        "✗ Slack app-level token (Socket Mode): Slack refused it (not_allowed_token_type)",
        "    fix: create an app-level token with connections:write (Basic Information → "
        "App-Level Tokens) and put it (xapp-…) in SLACK_APP_TOKEN",
    ]


def test_a_refused_bot_token_fails_and_what_depends_on_it_is_not_checked(standins: StandIns):
    standins.slack.api_errors["auth.test"] = "invalid_auth"
    status, lines = diagnose(standins.settings())
    assert status == 1
    assert line(lines, "Slack bot token") == [
        "✗ Slack bot token: Slack refused it (invalid_auth)",
        "    fix: copy OAuth & Permissions → Bot User OAuth Token (xoxb-…) into SLACK_BOT_TOKEN",
    ]
    assert line(lines, "Slack scopes")[0].startswith("✗ Slack scopes: not checked")
    assert line(lines, "Clock")[0].startswith("✗ Clock: not checked")
    assert line(lines, "Ropo One")[0].startswith("✓")  # the rest is still checked
    assert lines[-1] == "4 passed, 3 failed"


def test_a_missing_scope_is_named(standins: StandIns):
    standins.slack.scopes = ("commands", "users:read")
    status, lines = diagnose(standins.settings())
    assert status == 1
    assert line(lines, "Slack scopes") == [
        "✗ Slack scopes: missing usergroups:read (asked for by manifest.yml)",
        "    fix: add them in OAuth & Permissions → Scopes (or update the app from "
        "manifest.yml), then reinstall the app to the workspace",
    ]


def test_a_clock_more_than_five_minutes_off_fails(standins: StandIns):
    standins.slack.clock_skew_s = -600.0  # Slack's clock says ten minutes ago
    status, lines = diagnose(standins.settings())
    assert status == 1
    clock = line(lines, "Clock")
    assert re.fullmatch(r"✗ Clock: 60[01] s ahead of Slack's", clock[0])
    assert clock[1].startswith("    fix: synchronise this machine's clock (NTP)")


def test_a_clock_a_little_off_passes(standins: StandIns):
    standins.slack.clock_skew_s = 120.0
    status, lines = diagnose(standins.settings())
    assert status == 0
    assert re.fullmatch(r"✓ Clock: within 1[12]\d s of Slack's", line(lines, "Clock")[0])


def test_http_mode_without_a_signing_secret_fails(standins: StandIns):
    # On the sandbox, settings allow a bot token without a signing secret; HTTP mode does not.
    settings = standins.settings(ropo_cid=None, ropo_apicode=None, slack_signing_secret=None)
    status, lines = diagnose(settings)
    assert status == 1
    assert line(lines, "Slack signing secret (HTTP mode)") == [
        "✗ Slack signing secret (HTTP mode): SLACK_SIGNING_SECRET is not set: Slack's requests "
        "cannot be verified",
        "    fix: copy Basic Information → App Credentials → Signing Secret into "
        "SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)",
    ]
    assert line(lines, "Ropo One")[0] == (
        "✓ Ropo One: the built-in sandbox (fake data): set ROPO_CID and ROPO_APICODE"
    )


def test_ropo_refusing_the_credentials_fails(standins: StandIns):
    status, lines = diagnose(standins.settings(ropo_apicode="not-the-apicode"))
    assert status == 1
    assert line(lines, "Ropo One") == [
        f"✗ Ropo One: {standins.ropo_url}/rest refused ROPO_CID/ROPO_APICODE",
        "    fix: check ROPO_CID and ROPO_APICODE with Ropo support, and that ROPO_BASE_URL is "
        "the environment they were issued for (rc. is test)",
    ]
    assert "not-the-apicode" not in "\n".join(lines)


def test_a_ropo_base_url_that_is_not_ropo_fails(standins: StandIns):
    status, lines = diagnose(standins.settings(ropo_base_url=f"{standins.slack_url}/rest"))
    assert status == 1
    ropo = line(lines, "Ropo One")
    assert ropo[0].startswith(f"✗ Ropo One: {standins.slack_url}/rest answered something else")
    assert (
        ropo[1] == "    fix: check ROPO_BASE_URL: it ends in /rest, e.g. https://rc.ropo24.fi/rest"
    )


def test_an_unreachable_ropo_fails(standins: StandIns):
    with ServedApp(create_sandbox_app()) as gone:
        url = gone.url
    status, lines = diagnose(standins.settings(ropo_base_url=f"{url}/rest", ropo_timeout_s=1.0))
    assert status == 1
    ropo = line(lines, "Ropo One")
    assert ropo[0].startswith(f"✗ Ropo One: cannot reach {url}/rest (")
    assert ropo[1].startswith("    fix: check ROPO_BASE_URL, and that this machine may connect")


def test_no_audit_key_with_ropo_credentials_fails(standins: StandIns):
    status, lines = diagnose(standins.settings(audit_key=None))
    assert status == 1
    assert line(lines, "Audit store")[0] == (
        "✗ Audit store: AUDIT_KEY is not set: the app will not start with Ropo credentials"
    )


def test_an_audit_db_in_a_missing_folder_fails(standins: StandIns, tmp_path: Path):
    status, lines = diagnose(standins.settings(audit_db=tmp_path / "nowhere" / "audit.db"))
    assert status == 1
    assert line(lines, "Audit store") == [
        f"✗ Audit store: {tmp_path / 'nowhere'} does not exist or is not writable",
        "    fix: point AUDIT_DB at a file on a persistent volume this user may write",
    ]


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (SCHEMA_VERSION, f"✓ Audit store: {{path}} writable, schema {SCHEMA_VERSION}"),
        (0, f"✗ Audit store: {{path}} is at schema 0, this version needs {SCHEMA_VERSION}"),
        (
            SCHEMA_VERSION + 1,
            f"✗ Audit store: {{path}} is at schema {SCHEMA_VERSION + 1}, "
            f"newer than this version's {SCHEMA_VERSION}",
        ),
    ],
)
def test_the_audit_store_must_be_at_the_current_schema(
    standins: StandIns, version: int, expected: str
):
    path = audit_db_path("doctor")
    create_schema(path)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(f"PRAGMA user_version = {version}")
    status, lines = diagnose(standins.settings(audit_db=path))
    assert line(lines, "Audit store")[0] == expected.format(path=path)
    assert status == (0 if version == SCHEMA_VERSION else 1)


def test_invalid_settings_fail_first_and_alone():
    out = io.StringIO()
    status = doctor.run(lambda: load_settings(_env_file=None, port=0), out)
    assert status == 1
    assert out.getvalue().splitlines() == [
        "✗ Settings: PORT: Input should be greater than or equal to 1",
        "    fix: correct the variables named above (see .env.example)",
    ]


def test_the_scopes_kept_in_the_package_are_manifest_ymls():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == doctor.BOT_SCOPES
    assert doctor.manifest_scopes() == (doctor.BOT_SCOPES, "manifest.yml")


def test_without_the_repository_the_packaged_scopes_are_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(doctor, "MANIFEST", tmp_path / "manifest.yml")
    assert doctor.manifest_scopes() == (doctor.BOT_SCOPES, "this version's manifest")


def test_python_m_bot_doctor_exits_0_when_all_pass_and_1_otherwise(standins: StandIns):
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{standins.slack_url}/api/",
        "ROPO_BASE_URL": f"{standins.ropo_url}/rest",
        "ROPO_CID": "sandbox",
        "ROPO_APICODE": "sandbox-apicode",
        "AUDIT_KEY": AUDIT_KEY,
        "AUDIT_DB": str(audit_db_path("doctor-cli")),
    }
    good = run_bot("doctor", **env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "✓ Ropo One:" in good.stdout
    assert BOT_TOKEN not in good.stdout + good.stderr
    bad = run_bot("doctor", **{**env, "ROPO_APICODE": "wrong-apicode"})
    assert bad.returncode == 1
    assert "✗ Ropo One:" in bad.stdout
    assert "wrong-apicode" not in bad.stdout + bad.stderr
