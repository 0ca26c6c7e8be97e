"""The text of a Slack message, wherever the message keeps it: to find identifiers in.

One reading for everything that looks into a message, so the message shortcut's listener
and the access gate (which counts and audits the same request) always agree on what the
message says. Pure: no Slack calls, no parsing of identifiers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Where a message keeps text: the text itself, rich text and section text in its blocks,
# and an attachment's text, fallback, pretext, title and field values. Link URLs count too,
# since find_identifiers reads identity codes inside Slack links.
_TEXT_KEYS = ("text", "fallback", "pretext", "title", "value", "url")
_MAX_MESSAGE_CHARS = 100_000  # far more than any real message; a bound for a hostile one


def message_text(message: dict[str, Any]) -> str:
    """All the text of a Slack message, its blocks and attachments, one piece per line."""
    pieces: list[str] = []
    size = 0
    for piece in _texts([message.get("text"), message.get("blocks"), message.get("attachments")]):
        pieces.append(piece)
        size += len(piece) + 1
        if size > _MAX_MESSAGE_CHARS:
            break
    return "\n".join(pieces)[:_MAX_MESSAGE_CHARS]


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if key in _TEXT_KEYS:
                    yield value
            else:
                yield from _texts(value)
