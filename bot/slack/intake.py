"""What ``POST /slack/events`` lets through to Bolt: signed requests of a shape Slack sends.

Bolt parses a body before it checks its signature, and a body that does not parse (a
``payload`` that is not JSON, or JSON that is not an object) comes back as a 500 with an
ERROR traceback, which anyone who can reach the URL can repeat at will. Here the signature
is checked first, on the raw bytes, and nothing is parsed unless it holds: a bad or missing
one is a 401. A signed request that is still malformed gets a 400, or, for a slash command,
whose answer Slack shows the agent, a polite 200, and one WARNING line naming what was wrong
(never the body: it may hold an identity code). Only then does Bolt see it, parsed once:
:class:`Accepted` carries the body as Bolt parses it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from bot.i18n import N_, SOURCE_LANGUAGE, _, use_language

logger = logging.getLogger(__name__)

UNANSWERABLE_COMMAND = N_(
    "Slack sent this command without what the app needs to answer it, so it was not run. "
    "Please try again; if it keeps happening, tell a Slack admin."
)

# Interaction payloads, with the objects each must carry (``actions`` is checked apart).
_INTERACTIONS = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "message_action",
        "shortcut",
        "view_submission",
        "view_closed",
    }
)
_OBJECT_FIELDS = ("view", "message", "container", "channel", "team")


@dataclass(frozen=True, slots=True)
class Rejection:
    """The answer to a request that does not reach Bolt, and why (for the log)."""

    status: int
    body: dict[str, Any]
    reason: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """A signed request of a shape Slack sends: its body as text, and parsed as Bolt parses it."""

    text: str
    payload: dict[str, Any]


class RequestIntake:
    """Checks each request's signature, then its shape."""

    def __init__(self, signing_secret: str, *, language: str = SOURCE_LANGUAGE) -> None:
        """``language``: DEFAULT_LANGUAGE; a request refused here never reaches the agent's own."""
        self._verifier = SignatureVerifier(signing_secret)
        self._language = language

    def check(self, body: bytes, headers: Mapping[str, str]) -> Accepted | Rejection:
        """The request for Bolt, parsed; else the answer to give instead, logged."""
        if not self._signed(body, headers):
            # Not logged at WARNING: anyone can send these, and a log line each is a lever.
            logger.info("refused a request to /slack/events: bad or missing signature")
            return Rejection(401, {"error": "invalid request"}, "bad signature")
        with use_language(self._language):
            checked = _parse(body, headers.get("content-type"))
        if isinstance(checked, Rejection):
            logger.warning(
                "refused a signed request to /slack/events: %s (HTTP %d)",
                checked.reason,
                checked.status,
            )
        return checked

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
            return False  # slack_sdk would raise on a timestamp that is not a number
        return self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def _parse(raw: bytes, content_type: str | None) -> Accepted | Rejection:
    try:
        text = raw.decode()
        payload = parse_body(text, (content_type or "").split(";")[0].strip() or None)
    except (UnicodeDecodeError, ValueError):
        return _bad("the body or its payload is not JSON")
    if not isinstance(payload, dict):
        return _bad("the payload is not a JSON object")
    rejection = _malformed(payload)
    return Accepted(text, payload) if rejection is None else rejection


def _malformed(payload: dict[str, Any]) -> Rejection | None:
    if "ssl_check" in payload or payload.get("type") == "url_verification":
        return None
    if "command" in payload:
        return _malformed_command(payload)
    kind = payload.get("type")
    if kind == "event_callback":
        return None if isinstance(payload.get("event"), dict) else _bad("event is not an object")
    if kind not in _INTERACTIONS:
        return _bad("not a command, an interaction or an event")
    return _malformed_interaction(payload)


def _malformed_command(payload: dict[str, Any]) -> Rejection | None:
    if not payload.get("user_id"):
        reason = "a command without a user id"
    elif not payload.get("response_url"):
        reason = "a command without a response_url"  # its answer could not be delivered
    else:
        return None
    body = {"response_type": "ephemeral", "text": _(UNANSWERABLE_COMMAND)}
    return Rejection(200, body, reason)


def _malformed_interaction(payload: dict[str, Any]) -> Rejection | None:
    kind = payload["type"]
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        return _bad(f"{kind} without a user id")
    for name in _OBJECT_FIELDS:
        if name in payload and payload[name] is not None and not isinstance(payload[name], dict):
            return _bad(f"{kind} whose {name} is not an object")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return _bad("block_actions whose actions are empty or not a list")
        if not all(isinstance(action, dict) for action in actions):
            return _bad("block_actions with an action that is not an object")
    if kind in ("view_submission", "view_closed") and not isinstance(payload.get("view"), dict):
        return _bad(f"{kind} without a view")
    return None


def _bad(reason: str) -> Rejection:
    return Rejection(400, {"error": "malformed request"}, reason)
