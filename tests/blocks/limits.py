"""Slack's Block Kit limits, checked on every payload the builder tests render.

Slack refuses a whole message that breaks one of these, so a reply that broke one would reach
the agent as nothing at all. The builders keep within them by construction (truncated texts,
bounded lists, a page size); these checks are how the tests know they do, on every golden
payload and on the property tests' random ones.
"""

from __future__ import annotations

from typing import Any

from bot.blocks.common import MAX_URL, Block, Payload

MAX_MESSAGE_TEXT = 40_000
MAX_TEXT_OBJECT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ID = 255


def check_limits(payload: Payload, *, max_blocks: int = 50, require_text: bool = True) -> None:
    """Raise :class:`ValueError` naming the first Slack limit ``payload`` breaks.

    Slack rejects a whole message over one of these, so a reply that fails here would
    reach the agent as nothing at all. ``max_blocks`` is 50 for a message, 100 for a modal;
    a view has no top-level ``text``, hence ``require_text``.
    """
    if require_text:
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text: a message needs a non-empty top-level text")
        _at_most("text", text, MAX_MESSAGE_TEXT)
    blocks = payload.get("blocks", [])
    if len(blocks) > max_blocks:
        raise ValueError(f"blocks: {len(blocks)} blocks, Slack allows at most {max_blocks}")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        block_id = block.get("block_id")
        if block_id is not None:
            _at_most(f"{where}.block_id", block_id, MAX_ID)
            if block_id in block_ids:
                raise ValueError(f"{where}.block_id: {block_id!r} is used twice in one message")
            block_ids.add(block_id)
        kind = block.get("type")
        if kind == "section":
            _check_section(where, block)
        elif kind == "header":
            _check_text_object(f"{where}.text", block.get("text"), MAX_HEADER_TEXT)
        elif kind == "context":
            _check_context(where, block)
        elif kind == "actions":
            _check_actions(where, block)


def _at_most(where: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise ValueError(f"{where}: {len(text):,} characters, Slack allows at most {limit:,}")


def _check_text_object(where: str, obj: Any, limit: int) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"]:
        raise ValueError(f"{where}: a text object with non-empty text is required")
    _at_most(f"{where}.text", obj["text"], limit)


def _check_section(where: str, block: Block) -> None:
    if "text" not in block and "fields" not in block:
        raise ValueError(f"{where}: a section needs text or fields")
    if "text" in block:
        _check_text_object(f"{where}.text", block["text"], MAX_TEXT_OBJECT)
    fields = block.get("fields", [])
    if len(fields) > MAX_SECTION_FIELDS:
        raise ValueError(
            f"{where}.fields: {len(fields)} fields, Slack allows at most {MAX_SECTION_FIELDS}"
        )
    for i, field in enumerate(fields):
        _check_text_object(f"{where}.fields[{i}]", field, MAX_FIELD_TEXT)
    if "accessory" in block:
        _check_element(f"{where}.accessory", block["accessory"])


def _check_context(where: str, block: Block) -> None:
    elements = block.get("elements", [])
    if not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
        raise ValueError(
            f"{where}.elements: {len(elements)} elements, Slack allows 1 to {MAX_CONTEXT_ELEMENTS}"
        )
    for i, element in enumerate(elements):
        if element.get("type") in ("mrkdwn", "plain_text"):
            _check_text_object(f"{where}.elements[{i}]", element, MAX_TEXT_OBJECT)


def _check_actions(where: str, block: Block) -> None:
    elements = block.get("elements", [])
    if not 1 <= len(elements) <= MAX_ACTIONS_ELEMENTS:
        raise ValueError(
            f"{where}.elements: {len(elements)} elements, Slack allows 1 to {MAX_ACTIONS_ELEMENTS}"
        )
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        _check_element(f"{where}.elements[{i}]", element)
        action_id = element.get("action_id")
        if action_id is not None:
            if action_id in action_ids:
                raise ValueError(
                    f"{where}.elements[{i}].action_id: {action_id!r} is used twice in one block"
                )
            action_ids.add(action_id)


def _check_element(where: str, element: Block) -> None:
    action_id = element.get("action_id")
    if action_id is not None:
        _at_most(f"{where}.action_id", action_id, MAX_ID)
    if element.get("type") != "button":
        return
    _check_text_object(f"{where}.text", element.get("text"), MAX_BUTTON_TEXT)
    if "value" in element:
        _at_most(f"{where}.value", element["value"], MAX_BUTTON_VALUE)
    if "url" in element:
        _at_most(f"{where}.url", element["url"], MAX_URL)
