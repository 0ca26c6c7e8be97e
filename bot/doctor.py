"""``python -m bot doctor``: is this deployment set up right? Each check ✓ or ✗, with a fix.

It reads the same settings as the app and asks Slack and Ropo One only what proves the
configuration: ``auth.test`` (the bot token, its scopes in ``X-OAuth-Scopes``, and Slack's
clock in ``Date``), ``apps.connections.open`` (the app-level token, for Socket Mode), and a
Ropo One login (a token; never a customer query). It never prints a secret: every line goes
through the same redaction as the log. Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from bot.audit.store import connect
from bot.logs import cleaner, configure_logging, secret_values
from bot.ropo.errors import RopoAuthError, RopoError, RopoProtocolError
from bot.settings import Settings, SettingsError, load_settings
from bot.store.migrations import LATEST as SCHEMA_VERSION

PASS, FAIL = "✓", "✗"
MAX_CLOCK_SKEW_S = 5 * 60  # Slack refuses request signatures older than this
SLACK_TIMEOUT_S = 10.0

BOT_SCOPES = ("commands", "users:read", "usergroups:read")
"""manifest.yml's ``oauth_config.scopes.bot``, for installs without the repository's files
(tests/test_doctor.py keeps the two the same)."""
MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, what was found, and the fix if it failed."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def lines(self) -> list[str]:
        """``✓ name: found``, and for a failure an indented ``fix:`` line."""
        head = f"{PASS if self.ok else FAIL} {self.name}: {self.found}"
        return [head] if self.ok else [head, f"    fix: {self.fix}"]


def run(
    load: Callable[[], Settings] = load_settings,
    out: TextIO | None = None,
    *,
    configure_logs: bool = False,
) -> int:
    """Check everything, print the report, and return the exit status.

    ``configure_logs``: send what the libraries log (warnings only) through the app's
    redacting set-up, as the CLI does.
    """
    out = out or sys.stdout
    try:
        settings = load()
    except SettingsError as exc:
        print(FAIL + " Settings: " + str(exc).removeprefix("Configuration problem: "), file=out)
        print("    fix: correct the variables named above (see .env.example)", file=out)
        return 1
    if configure_logs:
        configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    checks = asyncio.run(diagnose(settings))
    clean = cleaner(secret_values(settings))
    for check in checks:
        for line in check.lines():
            print(clean(line), file=out)
    failed = sum(not check.ok for check in checks)
    print(clean(f"\n{len(checks) - failed} passed, {failed} failed"), file=out)
    return 0 if not failed else 1


async def diagnose(settings: Settings) -> list[Check]:
    """Every check, in the order a person setting the app up would fix them."""
    checks = [Check("Settings", True, f"valid ({_mode(settings)}; Ropo One {_ropo(settings)})")]
    async with httpx.AsyncClient(base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_S) as slack:
        auth = await _auth_test(slack, settings)
        checks.append(auth.check)
        checks.append(_scopes(auth))
        if settings.slack_app_token is not None:
            checks.append(await _app_token(slack, settings))
        checks.append(_signing_secret(settings))
        checks.append(await _ropo_login(settings))
        checks.append(_audit_store(settings))
        checks.append(_clock(auth))
    return checks


# --- Slack ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AuthTest:
    check: Check
    response: httpx.Response | None  # Slack's answer, if it was accepted


async def _auth_test(slack: httpx.AsyncClient, settings: Settings) -> _AuthTest:
    name = "Slack bot token"
    fix = "copy OAuth & Permissions → Bot User OAuth Token (xoxb-…) into SLACK_BOT_TOKEN"
    token = settings.slack_bot_token
    if token is None:
        return _AuthTest(Check(name, False, "SLACK_BOT_TOKEN is not set", fix), None)
    try:
        response = await slack.post("auth.test", headers=_bearer(token.get_secret_value()))
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        found = f"no answer from Slack at {settings.slack_api_url} ({type(exc).__name__})"
        return _AuthTest(Check(name, False, found, _slack_unreachable()), None)
    if not body.get("ok"):
        found = f"Slack refused it ({body.get('error', f'HTTP {response.status_code}')})"
        return _AuthTest(Check(name, False, found, fix), None)
    found = f"accepted (workspace {body.get('team')}, bot @{body.get('user')})"
    return _AuthTest(Check(name, True, found), response)


def _scopes(auth: _AuthTest) -> Check:
    name = "Slack scopes"
    if auth.response is None:
        return Check(
            name, False, "not checked: the bot token was not accepted", "fix the bot token first"
        )
    wanted, source = manifest_scopes()
    header = auth.response.headers.get("x-oauth-scopes")
    if header is None:
        return Check(
            name,
            False,
            "Slack's answer did not list the token's scopes (X-OAuth-Scopes)",
            "make sure SLACK_API_URL is Slack's Web API (https://slack.com/api/)",
        )
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = [scope for scope in wanted if scope not in granted]
    if missing:
        return Check(
            name,
            False,
            f"missing {', '.join(missing)} (asked for by {source})",
            "add them in OAuth & Permissions → Scopes (or update the app from manifest.yml), "
            "then reinstall the app to the workspace",
        )
    return Check(name, True, f"{', '.join(wanted)} granted, as {source} asks")


def manifest_scopes() -> tuple[tuple[str, ...], str]:
    """The bot scopes the app asks for, and where they were read.

    From the repository's ``manifest.yml`` when the app runs from a checkout (it may have been
    edited), else the copy kept in the package.
    """
    try:
        import yaml

        manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
        scopes = manifest["oauth_config"]["scopes"]["bot"]
        if isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
            return tuple(scopes), "manifest.yml"
    except (OSError, ImportError, KeyError, TypeError, ValueError):
        pass
    return BOT_SCOPES, "this version's manifest"


async def _app_token(slack: httpx.AsyncClient, settings: Settings) -> Check:
    name = "Slack app-level token (Socket Mode)"
    token = settings.slack_app_token
    assert token is not None
    fix = (
        "create an app-level token with connections:write (Basic Information → App-Level "
        "Tokens) and put it (xapp-…) in SLACK_APP_TOKEN"
    )
    try:
        response = await slack.post(
            "apps.connections.open", headers=_bearer(token.get_secret_value())
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        found = f"no answer from Slack ({type(exc).__name__})"
        return Check(name, False, found, _slack_unreachable())
    if not body.get("ok"):
        found = f"Slack refused it ({body.get('error', f'HTTP {response.status_code}')})"
        return Check(name, False, found, fix)
    return Check(name, True, "accepted: Socket Mode can connect")


def _signing_secret(settings: Settings) -> Check:
    where = "Basic Information → App Credentials → Signing Secret"
    if settings.slack_app_token is not None:  # Socket Mode: it only keys the button context
        name = "Slack signing secret (button context)"
        if settings.slack_signing_secret is None:
            return Check(
                name,
                False,
                "SLACK_SIGNING_SECRET is not set: buttons stop working when the app restarts",
                f"copy {where} into SLACK_SIGNING_SECRET",
            )
        return Check(name, True, "set: buttons keep working across restarts and instances")
    name = "Slack signing secret (HTTP mode)"
    if settings.slack_signing_secret is None:
        return Check(
            name,
            False,
            "SLACK_SIGNING_SECRET is not set: Slack's requests cannot be verified",
            f"copy {where} into SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)",
        )
    return Check(name, True, "set (Slack cannot confirm it: a wrong one shows as 401s in the log)")


def _clock(auth: _AuthTest) -> Check:
    name = "Clock"
    if auth.response is None:
        return Check(
            name, False, "not checked: Slack did not answer auth.test", "fix the bot token first"
        )
    date = auth.response.headers.get("date")
    try:
        slack_time = email.utils.parsedate_to_datetime(date or "").timestamp()
    except (TypeError, ValueError):
        return Check(
            name,
            False,
            "Slack's answer had no readable Date header",
            "make sure SLACK_API_URL is Slack's Web API (https://slack.com/api/)",
        )
    skew = time.time() - slack_time
    ahead = "ahead of" if skew > 0 else "behind"
    if abs(skew) > MAX_CLOCK_SKEW_S:
        return Check(
            name,
            False,
            f"{abs(skew):.0f} s {ahead} Slack's",
            "synchronise this machine's clock (NTP): Slack's signatures older than 5 minutes "
            "are refused",
        )
    return Check(name, True, f"within {max(abs(skew), 1):.0f} s of Slack's")


# --- Ropo One and the audit trail -----------------------------------------------------------


async def _ropo_login(settings: Settings) -> Check:
    from bot.slack.app import create_ropo_client  # builds the client exactly as the app does

    name = "Ropo One"
    where = "the built-in sandbox" if settings.uses_sandbox else settings.ropo_base_url
    async with create_ropo_client(settings) as ropo:
        try:
            await ropo.check_credentials()
        except RopoAuthError:
            return Check(
                name,
                False,
                f"{where} refused ROPO_CID/ROPO_APICODE",
                "check ROPO_CID and ROPO_APICODE with Ropo support, and that ROPO_BASE_URL is "
                "the environment they were issued for (rc. is test)",
            )
        except RopoProtocolError as exc:
            return Check(
                name,
                False,
                f"{where} answered something else than Ropo One's API ({exc})",
                "check ROPO_BASE_URL: it ends in /rest, e.g. https://rc.ropo24.fi/rest",
            )
        except RopoError as exc:
            return Check(
                name,
                False,
                f"cannot reach {where} ({exc})",
                "check ROPO_BASE_URL, and that this machine may connect to it (firewall, "
                "HTTPS_PROXY)",
            )
    if settings.uses_sandbox:
        return Check(name, True, "the built-in sandbox (fake data): set ROPO_CID and ROPO_APICODE")
    return Check(name, True, f"{where} reachable, credentials accepted (a token was issued)")


def _audit_store(settings: Settings) -> Check:
    name = "Audit store"
    path = settings.audit_db
    if settings.audit_key is None and not settings.uses_sandbox:
        return Check(
            name,
            False,
            "AUDIT_KEY is not set: the app will not start with Ropo credentials",
            "python -c 'import secrets; print(secrets.token_urlsafe(32))' → AUDIT_KEY "
            "(keep it: searching the trail needs it)",
        )
    if settings.database_url is not None:
        return _postgres_store(name, settings.database_url.get_secret_value())
    fix_place = "point AUDIT_DB at a file on a persistent volume this user may write"
    if not path.exists():
        folder = path.parent if str(path.parent) else Path(".")
        if folder.is_dir() and os.access(folder, os.W_OK):
            return Check(name, True, f"{path} will be created at start")
        return Check(name, False, f"{folder} does not exist or is not writable", fix_place)
    try:
        with closing(connect(path)) as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock; writes nothing
            connection.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return Check(name, False, f"{path} is not writable ({exc})", fix_place)
    if version > SCHEMA_VERSION:
        return Check(
            name,
            False,
            f"{path} is at schema {version}, newer than this version's {SCHEMA_VERSION}",
            "run the version of the app that wrote it, or point AUDIT_DB elsewhere",
        )
    if version < SCHEMA_VERSION:
        return Check(
            name,
            False,
            f"{path} is at schema {version}, this version needs {SCHEMA_VERSION}",
            "back the file up, then start the app once: it brings the schema up to date",
        )
    return Check(name, True, f"{path} writable, schema {version}")


def _postgres_store(name: str, url: str) -> Check:
    """DATABASE_URL: reachable, the audit table insertable, the schema migrated."""
    import psycopg

    from bot.store.postgres import CONNECT_TIMEOUT_S, describe_url

    where = describe_url(url)  # never the password
    try:
        with closing(psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S))) as connection:
            migrated = connection.execute(
                "SELECT to_regclass('schema_migrations') IS NOT NULL"
            ).fetchone()
            if not (migrated and migrated[0]):
                return Check(
                    name, False, f"{where} has no schema yet", "run `python -m bot migrate`"
                )
            row = connection.execute("SELECT max(version) FROM schema_migrations").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            allowed = connection.execute(
                "SELECT has_table_privilege('lookups', 'INSERT')"
            ).fetchone()
    except psycopg.Error as exc:
        return Check(
            name,
            False,
            f"cannot reach {where} ({type(exc).__name__})",
            "check DATABASE_URL, and that this machine may connect to the server",
        )
    if version != SCHEMA_VERSION:
        return Check(
            name,
            False,
            f"{where} is at schema {version}, this version needs {SCHEMA_VERSION}",
            "run `python -m bot migrate` with this version of the app",
        )
    if not (allowed and allowed[0]):
        return Check(name, False, f"{where}: this user may not insert audit rows", "GRANT INSERT")
    return Check(name, True, f"{where} writable, schema {version}")


# --- helpers --------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _slack_unreachable() -> str:
    return "check the network, and that SLACK_API_URL is https://slack.com/api/"


def _mode(settings: Settings) -> str:
    return "Socket Mode" if settings.slack_app_token is not None else "HTTP mode"


def _ropo(settings: Settings) -> str:
    return settings.ropo_environment.value
