"""manifest.yml is a valid Slack app manifest and agrees with the ids the code listens for."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot import ids

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
# The project's shared copy of slackapi/manifest-schema when it is beside the repo; otherwise
# the copy vendored in tests/data (MIT, licence beside it), so the check never silently skips.
_SHARED = REPO_ROOT.parent / "shared" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"
_VENDORED = REPO_ROOT / "tests" / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"
SCHEMA_PATH = _SHARED if _SHARED.is_file() else _VENDORED

EXPECTED_BOT_SCOPES = {"commands", "users:read", "usergroups:read"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """The parsed manifest.yml."""
    return yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    """A validator for Slack's manifest schema (draft-07)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _errors(validator: Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_manifest_validates_against_slack_schema(
    manifest: dict[str, Any], validator: Draft7Validator
) -> None:
    assert _errors(validator, manifest) == []


def test_misspelt_key_fails_validation(
    manifest: dict[str, Any], validator: Draft7Validator
) -> None:
    broken = copy.deepcopy(manifest)
    broken["settings"]["socket_mode_enable"] = broken["settings"].pop("socket_mode_enabled")

    errors = _errors(validator, broken)

    assert len(errors) == 1
    assert "socket_mode_enable" in errors[0]


def test_slash_command_is_the_one_the_app_listens_for(manifest: dict[str, Any]) -> None:
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == [ids.COMMAND]


def test_shortcut_callback_ids_match_bot_ids(manifest: dict[str, Any]) -> None:
    shortcuts = {s["type"]: s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {
        "message": ids.SHORTCUT_FIND_IN_MESSAGE,
        "global": ids.SHORTCUT_LOOK_UP,
    }


def test_every_request_url_points_at_slack_events(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        *(c["url"] for c in manifest["features"]["slash_commands"]),
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    assert len(urls) == 3
    assert all(url.endswith("/slack/events") for url in urls), urls


def test_interactivity_is_on_for_buttons_and_shortcuts(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_app_home_opened_is_subscribed(manifest: dict[str, Any]) -> None:
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_bot_scopes_are_exactly_what_the_app_needs(manifest: dict[str, Any]) -> None:
    bot_scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(bot_scopes) == len(set(bot_scopes))
    assert set(bot_scopes) == EXPECTED_BOT_SCOPES
    assert set(manifest["oauth_config"]["scopes"]) == {"bot"}
