"""Build requests exactly as Slack sends them, signed: for the demo, the tests and the benchmark."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot import ids
from bot.slack_standin import TEAM_ID

DEFAULT_USER = "U0AGENT01"
DEFAULT_CHANNEL = "C0SUPPORT"


def signed_headers(signing_secret: str, body: str, *, timestamp: int | None = None) -> dict:
    """The headers Slack adds: content type, request timestamp and v0 HMAC signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def slash_command_body(
    text: str,
    response_url: str,
    *,
    command: str = ids.COMMAND,
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    trigger_id: str = "trigger-1",
) -> str:
    """A form-encoded slash command invocation."""
    return urlencode(
        {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "standin",
            "channel_id": channel_id,
            "channel_name": "support",
            "user_id": user_id,
            "user_name": "agent",
            "command": command,
            "text": text,
            "api_app_id": "A0ROPOINV",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def block_actions_body(
    action: dict[str, Any],
    response_url: str | None,
    *,
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    container: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
) -> str:
    """A form-encoded ``block_actions`` interaction: one button click."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "standin"},
        "user": {"id": user_id, "username": "agent", "team_id": TEAM_ID},
        "api_app_id": "A0ROPOINV",
        "token": "legacy-verification-token-unused",
        "container": container or {"type": "message", "is_ephemeral": True},
        "trigger_id": "trigger-2",
        "channel": {"id": channel_id, "name": "support"},
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }
    if response_url is not None:
        payload["response_url"] = response_url
    if view is not None:
        payload["view"] = view
    return urlencode({"payload": json.dumps(payload)})


def button_click(button: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The ``actions[0]`` Slack sends when ``button`` (an element of our blocks) is clicked."""
    return {
        "type": "button",
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": button["text"],
        **({"value": button["value"]} if "value" in button else {}),
    }
