"""Build requests exactly as Slack sends them, signed: for the demo, the tests and the benchmark."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot import ids
from bot.blocks.common import LABEL_INCLUDE_PAID
from bot.blocks.modal import INCLUDE_PAID_VALUE
from bot.dev.slack_standin import BOT_USER_ID, TEAM_ID

DEFAULT_USER = "U0AGENT01"
DEFAULT_CHANNEL = "C0SUPPORT"
DEFAULT_VIEW_ID = "V0STANDIN"  # the id the stand-in gives every view it opens
APP_ID = "A0ROPOINV"

FORM = "application/x-www-form-urlencoded"  # commands and interactions
JSON = "application/json"  # Events API callbacks


def signed_headers(
    signing_secret: str, body: str, *, timestamp: int | None = None, content_type: str = FORM
) -> dict:
    """The headers Slack adds: content type, request timestamp and v0 HMAC signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": content_type,
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
            "api_app_id": APP_ID,
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
        "api_app_id": APP_ID,
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


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": "standin"}


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": "agent", "name": "agent", "team_id": TEAM_ID}


def _interaction(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def message_shortcut_body(
    message: dict[str, Any],
    response_url: str,
    *,
    callback_id: str = ids.SHORTCUT_FIND_IN_MESSAGE,
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    trigger_id: str = "trigger-3",
) -> str:
    """A form-encoded ``message_action``: a message shortcut used on ``message``.

    ``message`` is the message as Slack includes it (``text``, ``blocks``, ``attachments``);
    its author and timestamp are filled in when missing.
    """
    ts = message.get("ts", f"{time.time():.6f}")
    return _interaction(
        {
            "type": "message_action",
            "token": "legacy-verification-token-unused",
            "action_ts": f"{time.time():.6f}",
            "team": _team(),
            "user": _user(user_id),
            "channel": {"id": channel_id, "name": "support"},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "response_url": response_url,
            "message_ts": ts,
            "message": {"type": "message", "user": "U0CUSTOMER", "ts": ts, **message},
        }
    )


def global_shortcut_body(
    *,
    callback_id: str = ids.SHORTCUT_LOOK_UP,
    user_id: str = DEFAULT_USER,
    trigger_id: str = "trigger-4",
) -> str:
    """A form-encoded global ``shortcut`` (from the shortcuts menu: no channel, no response_url)."""
    return _interaction(
        {
            "type": "shortcut",
            "token": "legacy-verification-token-unused",
            "action_ts": f"{time.time():.6f}",
            "team": _team(),
            "user": _user(user_id),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
        }
    )


def opened_view(view: dict[str, Any], *, view_id: str = DEFAULT_VIEW_ID) -> dict[str, Any]:
    """``view`` (as the app sent it) as Slack echoes it back in interactions from it."""
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "bot_id": "B0STANDIN",
        "hash": "h1",
        "private_metadata": "",
        "previous_view_id": None,
        "root_view_id": view_id,
        "state": {"values": {}},
        **view,
    }


def view_submission_body(
    view: dict[str, Any],
    values: dict[str, Any],
    *,
    user_id: str = DEFAULT_USER,
    view_id: str = DEFAULT_VIEW_ID,
) -> str:
    """A form-encoded ``view_submission`` of ``view`` with ``values`` as its state."""
    submitted = {**opened_view(view, view_id=view_id), "state": {"values": values}}
    return _interaction(
        {
            "type": "view_submission",
            "token": "legacy-verification-token-unused",
            "team": _team(),
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "trigger_id": "trigger-5",
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
    )


def lookup_form_values(text: str, *, include_paid: bool = False) -> dict[str, Any]:
    """The lookup form's ``state.values`` after the agent typed ``text`` (and ticked the box)."""
    selected = (
        [{"text": {"type": "plain_text", "text": LABEL_INCLUDE_PAID}, "value": INCLUDE_PAID_VALUE}]
        if include_paid
        else []
    )
    return {
        ids.BLOCK_LOOKUP_IDENTIFIER: {
            ids.ACTION_LOOKUP_IDENTIFIER: {"type": "plain_text_input", "value": text or None}
        },
        ids.BLOCK_LOOKUP_OPTIONS: {
            ids.ACTION_LOOKUP_INCLUDE_PAID: {"type": "checkboxes", "selected_options": selected}
        },
    }


def modal_click_body(
    action: dict[str, Any], view: dict[str, Any], *, user_id: str = DEFAULT_USER
) -> str:
    """A ``block_actions`` click on a button in a modal (or Home tab) ``view``: no response_url."""
    opened = opened_view(view)
    return block_actions_body(
        action,
        None,
        user_id=user_id,
        container={"type": "view", "view_id": opened["id"]},
        view=opened,
    )


def app_home_opened_body(*, user_id: str = DEFAULT_USER, tab: str = "home") -> str:
    """A JSON ``event_callback`` for ``app_home_opened``; sign it with ``content_type=JSON``."""
    return json.dumps(
        {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": "D0APPHOME",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )
