"""Render a Slack message payload or modal view as readable terminal text.

Used by ``python -m bot demo`` so the replies can be read without a Slack workspace. Pure:
a dict in, a string out; no Slack client, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Only the shortcodes the app's own replies use (plus a few common ones): anything else stays
# as ``:code:``, which is still readable and shows which emoji was meant.
EMOJI: Mapping[str, str] = {
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "large_green_circle": "🟢",
    "large_blue_circle": "🔵",
    "white_circle": "⚪",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "grey_question": "❔",
    "question": "❓",
    "warning": "⚠️",
    "mag": "🔍",
    "lock": "🔒",
    "information_source": "ℹ️",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "x": "❌",
    "no_entry": "🚫",
    "no_entry_sign": "🚫",
    "page_facing_up": "📄",
    "receipt": "🧾",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "calendar": "📆",
    "date": "📅",
    "moneybag": "💰",
    "link": "🔗",
    "wave": "👋",
    "bulb": "💡",
}

DIVIDER_CHAR = "─"
HEADER_RULE_CHAR = "═"
FIELD_GAP = "  "  # between the two columns of a section's fields
CONTEXT_INDENT = "  "

_ANSI_SGR = re.compile(r"\x1b\[[0-9;]*m")
_ANGLE_TOKEN = re.compile(r"<([^<>\n]+)>")
_CODE_BLOCK = re.compile(r"```(.+?)```", re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
# Slack only formats a marker pair that hugs its text and is not inside a word: this keeps
# ``5 * 3 * 2`` and ``snake_case_name`` literal, as Slack shows them.
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
# Private-use characters: they cannot occur in Slack text, so a stashed piece cannot clash.
_STASH_OPEN, _STASH_CLOSE = "\ue000", "\ue001"
_STASHED = re.compile(f"{_STASH_OPEN}(\\d+){_STASH_CLOSE}")
_DIM_ON, _BOLD_DIM_OFF = "\x1b[2m", "\x1b[22m"
_BULLET = re.compile(r"^(\s*)([•◦▪\-*]|\d+\.)\s")


@dataclass(frozen=True)
class _Style:
    """ANSI styling, or none at all, so every renderer can style without asking which."""

    color: bool

    def _sgr(self, text: str, on: str, off: str) -> str:
        # Each style ends with its own "off" code, not a full reset, so styles can nest.
        return f"\x1b[{on}m{text}\x1b[{off}m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._sgr(text, "1", "22")

    def italic(self, text: str) -> str:
        return self._sgr(text, "3", "23")

    def strike(self, text: str) -> str:
        # Without colour the tildes stay: a struck-out amount must not read as a live one.
        return self._sgr(text, "9", "29") if self.color else f"~{text}~"

    def code(self, text: str) -> str:
        return self._sgr(text, "36", "39")

    def link(self, text: str) -> str:
        return self._sgr(text, "4", "24")

    def dim(self, text: str) -> str:
        if not self.color:
            return text
        # Bold's "off" code also ends dim, so dim is switched back on after each one.
        return _DIM_ON + text.replace(_BOLD_DIM_OFF, _BOLD_DIM_OFF + _DIM_ON) + _BOLD_DIM_OFF

    def button(self, text: str, style: str | None) -> str:
        label = f"[ {text} ]"
        if style == "primary":
            return self._sgr(label, "32", "39")
        if style == "danger":
            return self._sgr(label, "31", "39")
        return label


def render_for_terminal(payload: dict[str, Any], *, color: bool = False, width: int = 100) -> str:
    """Render a message payload (``text`` + ``blocks``) or a modal view as terminal text."""
    style = _Style(color)
    width = max(width, 20)  # narrower than this, two field columns cannot hold a word each
    blocks: list[dict[str, Any]] = list(payload.get("blocks") or [])
    is_view = payload.get("type") in {"modal", "home"}

    if not blocks and not is_view:
        return "\n".join(_wrap(_mrkdwn(str(payload.get("text") or ""), style), width))

    pieces: list[tuple[str, list[str]]] = []
    if is_view and payload.get("title"):
        pieces.append(("header", _render_header({"text": payload["title"]}, style, width)))
    for block in blocks:
        kind = str(block.get("type", ""))
        renderer = _BLOCK_RENDERERS.get(kind, _render_unknown)
        pieces.append((kind, renderer(block, style, width)))
    if is_view:
        view_buttons = [
            style.button(_text(payload[key], style), "primary" if key == "submit" else None)
            for key in ("close", "submit")
            if payload.get(key)
        ]
        if view_buttons:
            pieces.append(("actions", _fill(view_buttons, width)))
    return _join_blocks(pieces)


def _join_blocks(pieces: list[tuple[str, list[str]]]) -> str:
    out: list[str] = []
    previous: str | None = None
    for kind, lines in pieces:
        # Slack pads blocks apart, but a context line belongs to the block above it and a
        # divider is itself the separation.
        if previous is not None and kind not in {"context", "divider"} and previous != "divider":
            out.append("")
        out.extend(lines)
        previous = kind
    return "\n".join(out)


# --- blocks -----------------------------------------------------------------------------


def _render_header(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    lines = _wrap(_text(block.get("text"), style), width)
    rule = HEADER_RULE_CHAR * min(width, max((_visible_width(line) for line in lines), default=0))
    return [style.bold(line) for line in lines] + [rule]


def _render_section(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    lines: list[str] = []
    if block.get("text"):
        lines.extend(_wrap(_text(block["text"], style), width))
    fields = [_text(field, style) for field in block.get("fields") or []]
    if fields:
        if lines:
            lines.append("")
        lines.extend(_two_columns(fields, width))
    accessory = block.get("accessory")
    if accessory:
        lines.extend(_fill([_element(accessory, style)], width))
    return lines


def _render_context(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    parts = [_element(element, style) for element in block.get("elements") or []]
    text = "  ".join(part for part in parts if part)
    wrapped = _wrap(text, width - len(CONTEXT_INDENT))
    return [CONTEXT_INDENT + style.dim(line) if line else "" for line in wrapped]


def _render_divider(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    return [DIVIDER_CHAR * width]


def _render_actions(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    return _fill([_element(element, style) for element in block.get("elements") or []], width)


def _render_input(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    label = _text(block.get("label"), style)
    if block.get("optional"):
        label += " (optional)"
    lines = [style.bold(line) for line in _wrap(label, width)]
    element = block.get("element") or {}
    if element.get("type") in {"checkboxes", "radio_buttons"}:
        lines.extend(f"  {line}" for line in _choices(element, style))
    else:
        lines.append(f"  {_element(element, style)}")
    if block.get("hint"):
        lines.extend(
            f"  {style.dim(line)}" for line in _wrap(_text(block["hint"], style), width - 2)
        )
    return lines


def _render_image(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    lines = _wrap(_text(block["title"], style), width) if block.get("title") else []
    return [*lines, *_wrap(_image(block), width)]


def _render_rich_text(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    # Only what the app sends: sections of (bold) text, and preformatted (copyable) text.
    lines: list[str] = []
    for part in block.get("elements") or []:
        texts = [str(e.get("text", "")) for e in part.get("elements") or [] if e.get("text")]
        if part.get("type") == "rich_text_preformatted":
            lines.extend(f"  {style.code(line)}" for line in "".join(texts).splitlines())
        else:
            lines.extend(_wrap("".join(texts), width))
    return lines


def _render_unknown(block: Mapping[str, Any], style: _Style, width: int) -> list[str]:
    # The demo must go on: say what was skipped rather than fail on a block type added later.
    return [style.dim(f"[{block.get('type') or 'untyped'} block not shown in the terminal]")]


_BlockRenderer = Callable[[Mapping[str, Any], _Style, int], list[str]]
_BLOCK_RENDERERS: dict[str, _BlockRenderer] = {
    "header": _render_header,
    "section": _render_section,
    "context": _render_context,
    "divider": _render_divider,
    "actions": _render_actions,
    "input": _render_input,
    "image": _render_image,
    "rich_text": _render_rich_text,
}


# --- elements ---------------------------------------------------------------------------


def _element(element: Mapping[str, Any], style: _Style) -> str:
    """One interactive or context element as a single unit of text."""
    kind = element.get("type")
    if kind in {"mrkdwn", "plain_text"}:
        return _text(element, style)
    if kind == "image":
        return _image(element)
    if kind == "button":
        button = style.button(_text(element.get("text"), style), element.get("style"))
        return f"{button} {element['url']}" if element.get("url") else button
    if kind == "overflow":
        return "[ ⋯ ]"
    if kind in {"checkboxes", "radio_buttons"}:
        return "  ".join(_choices(element, style))
    initial = _initial_value(element, style)
    if initial:
        return f"[ {initial} ]"
    placeholder = _text(element.get("placeholder"), style)
    marker = " ▾" if kind and ("select" in kind or kind.endswith("picker")) else ""
    if placeholder:
        return f"[ {style.dim(placeholder)}{marker} ]"
    return f"[ {kind or 'input'}{marker} ]"


def _initial_value(element: Mapping[str, Any], style: _Style) -> str:
    for key in ("initial_value", "initial_date", "initial_time", "initial_user"):
        if element.get(key):
            return str(element[key])
    option = element.get("initial_option")
    return _text(option.get("text"), style) if option else ""


def _choices(element: Mapping[str, Any], style: _Style) -> list[str]:
    radio = element.get("type") == "radio_buttons"
    chosen_options = element.get("initial_options") or (
        [element["initial_option"]] if element.get("initial_option") else []
    )
    chosen = {option.get("value") for option in chosen_options}
    marks = ("( )", "(•)") if radio else ("☐", "☑")
    return [
        f"{marks[option.get('value') in chosen]} {_text(option.get('text'), style)}"
        for option in element.get("options") or []
    ]


def _image(element: Mapping[str, Any]) -> str:
    return f"[image: {element.get('alt_text') or 'no description'}]"


def _text(obj: Any, style: _Style) -> str:
    """A Block Kit text object (or a bare string) as styled terminal text."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return _mrkdwn(obj, style)
    text = str(obj.get("text", ""))
    if obj.get("type") == "plain_text":
        # Plain text is shown literally by Slack: no formatting, no escaping, emoji only.
        return _emoji(text) if obj.get("emoji", True) else text
    return _mrkdwn(text, style)


# --- mrkdwn -----------------------------------------------------------------------------


def _mrkdwn(text: str, style: _Style) -> str:
    """Slack mrkdwn as terminal text: formatting, links, dates, mentions, emoji, entities."""
    stash: list[str] = []

    def keep(rendered: str) -> str:
        stash.append(rendered)
        return f"{_STASH_OPEN}{len(stash) - 1}{_STASH_CLOSE}"

    # Code first, so nothing inside it is formatted; then tokens, so URLs keep their _ and *.
    text = _CODE_BLOCK.sub(lambda m: keep(style.code(_unescape(m.group(1).strip("\n")))), text)
    text = _CODE_SPAN.sub(lambda m: keep(style.code(_unescape(m.group(1)))), text)
    text = _ANGLE_TOKEN.sub(lambda m: keep(_angle_token(m.group(1), style)), text)
    text = _EMOJI_CODE.sub(lambda m: keep(EMOJI.get(m.group(1), m.group(0))), text)
    text = _BOLD.sub(lambda m: style.bold(m.group(1)), text)
    text = _ITALIC.sub(lambda m: style.italic(m.group(1)), text)
    text = _STRIKE.sub(lambda m: style.strike(m.group(1)), text)
    text = _unescape(text)
    # Twice: a stashed link label may itself hold a stashed code span.
    for _ in range(2):
        text = _STASHED.sub(lambda m: stash[int(m.group(1))], text)
    return text


def _angle_token(body: str, style: _Style) -> str:
    """``<...>``: a date, a special mention, a user/channel mention or a link."""
    target, _, label = body.partition("|")
    if target.startswith("!date^"):
        return _unescape(label) if label else _date_without_fallback(target)
    if target.startswith("!subteam^"):
        return _unescape(label) if label else "@" + target.removeprefix("!subteam^")
    if target.startswith("!"):
        return "@" + target[1:]
    if target.startswith(("@", "#")):
        return target[0] + _unescape(label.lstrip("@#")) if label else target
    url = _unescape(target)
    label = _emoji(_unescape(label))
    if not label or label == url:
        return style.link(url)
    if label == url.removeprefix("mailto:"):
        return style.link(label)
    return f"{style.link(label)} ({url})"


def _date_without_fallback(target: str) -> str:
    # Slack requires a fallback, so this is only for hand-written payloads.
    try:
        timestamp = int(target.split("^")[1])
    except (IndexError, ValueError):
        return target
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _unescape(text: str) -> str:
    # Slack escapes only these three; &amp; last so "&amp;lt;" stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- layout -----------------------------------------------------------------------------


def _visible_width(text: str) -> int:
    """Terminal columns ``text`` takes: ANSI codes take none, wide emoji take two."""
    columns = 0
    for char in _ANSI_SGR.sub("", text):
        if unicodedata.combining(char) or char in "\ufe0f\u200d":
            continue
        columns += 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1
    return columns


def _wrap(text: str, width: int) -> list[str]:
    """Word-wrap styled text to ``width`` columns, keeping its line breaks and list indents."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        bullet = _BULLET.match(_ANSI_SGR.sub("", paragraph))
        indent = " " * len(bullet.group(0)) if bullet else ""
        lines.extend(_fill(paragraph.split(" "), width, separator=" ", indent=indent))
    return lines


def _fill(
    units: Iterable[str], width: int, *, separator: str = "  ", indent: str = ""
) -> list[str]:
    """Lay unbreakable units (words, buttons) on lines of at most ``width`` columns."""
    lines: list[str] = []
    line: str | None = None  # None: nothing placed yet, so leading spaces are kept
    wrapped = False
    for unit in units:
        if line is None:
            line = unit
        elif wrapped and line == indent:
            if unit:  # a run of spaces at a line break is swallowed by the break
                line += unit
        elif _visible_width(f"{line}{separator}{unit}") > width and line.strip():
            lines.append(line.rstrip())
            line, wrapped = indent + unit, True
        else:
            line = f"{line}{separator}{unit}"
    lines.append((line or "").rstrip())
    return lines


def _two_columns(cells: list[str], width: int) -> list[str]:
    """Section fields as Slack lays them out: two columns, left to right, top to bottom."""
    column = (width - len(FIELD_GAP)) // 2
    lines: list[str] = []
    for start in range(0, len(cells), 2):
        left = _wrap(cells[start], column)
        right = _wrap(cells[start + 1], column) if start + 1 < len(cells) else []
        for row in range(max(len(left), len(right))):
            left_text = left[row] if row < len(left) else ""
            right_text = right[row] if row < len(right) else ""
            padding = " " * (column - _visible_width(left_text))
            lines.append(f"{left_text}{padding}{FIELD_GAP}{right_text}".rstrip())
    return lines
