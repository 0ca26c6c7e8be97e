"""The demo console shows Block Kit payloads as readable terminal text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot import ids
from bot.dev.console import render_for_terminal

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _text_only(text: str) -> dict[str, Any]:
    return {"text": text}


REPLY: dict[str, Any] = {
    "text": "2 open invoices",
    "blocks": [
        {"type": "header", "text": _plain(":page_facing_up: Invoices for 131052-****")},
        {
            "type": "section",
            "block_id": ids.BLOCK_SUMMARY,
            "text": _mrkdwn("*2 open invoices*, total *€ 240,00*"),
            "fields": [
                _mrkdwn("*Invoice*\nINV-1001"),
                _mrkdwn(":red_circle: *Overdue*\n€ 120,00"),
                _mrkdwn("*Invoice*\nINV-1002"),
            ],
            "accessory": {
                "type": "button",
                "action_id": ids.ACTION_OPEN_MYROPO,
                "text": _plain("Open in MyRopo"),
                "url": "https://www.myropo.fi/",
            },
        },
        {
            "type": "context",
            "block_id": ids.BLOCK_FOOTER,
            "elements": [
                _mrkdwn(
                    ":lock: Only you can see this · <!date^1700000000^{date_short}|14 Nov 2023>"
                )
            ],
        },
        {
            "type": "actions",
            "block_id": ids.BLOCK_NAVIGATION,
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.ACTION_PAGE_PREVIOUS,
                    "text": _plain("◂ Previous"),
                },
                {
                    "type": "button",
                    "action_id": ids.ACTION_PAGE_NEXT,
                    "text": _plain("Next ▸"),
                    "style": "primary",
                },
            ],
        },
        {"type": "divider"},
    ],
}

REPLY_AS_TEXT = """\
📄 Invoices for 131052-****
═══════════════════════════

2 open invoices, total € 240,00

Invoice                        🔴 Overdue
INV-1001                       € 120,00
Invoice
INV-1002
[ Open in MyRopo ] https://www.myropo.fi/
  🔒 Only you can see this · 14 Nov 2023

[ ◂ Previous ]  [ Next ▸ ]
────────────────────────────────────────────────────────────"""


def test_reply_renders_exactly() -> None:
    assert render_for_terminal(REPLY, width=60) == REPLY_AS_TEXT


def test_plain_rendering_has_no_ansi_codes() -> None:
    assert "\x1b[" not in render_for_terminal(REPLY)


def test_color_adds_ansi_codes_and_nothing_else() -> None:
    colored = render_for_terminal(REPLY, color=True, width=60)

    assert "\x1b[1m2 open invoices\x1b[22m" in colored
    assert "\x1b[2m🔒 Only you can see this · 14 Nov 2023\x1b[22m" in colored
    assert ANSI.sub("", colored) == REPLY_AS_TEXT


def test_without_blocks_the_text_is_shown() -> None:
    assert render_for_terminal({"text": "*No* invoices found", "blocks": []}) == "No invoices found"


def test_date_token_shows_its_fallback() -> None:
    payload = _text_only("Due <!date^1700000000^{date_short}^https://x.example|14 Nov 2023>")
    assert render_for_terminal(payload) == "Due 14 Nov 2023"


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("<https://www.myropo.fi/|MyRopo>", "MyRopo (https://www.myropo.fi/)"),
        ("<https://www.myropo.fi/>", "https://www.myropo.fi/"),
        ("<https://x.example/a_b_c?p=1&amp;q=2|docs>", "docs (https://x.example/a_b_c?p=1&q=2)"),
        ("<mailto:help@ropo.fi|help@ropo.fi>", "help@ropo.fi"),
        ("<!here> <!channel>", "@here @channel"),
        ("<@U123|alice> in <#C42|support>", "@alice in #support"),
    ],
)
def test_links_and_mentions(mrkdwn: str, expected: str) -> None:
    assert render_for_terminal(_text_only(mrkdwn)) == expected


def test_entities_are_unescaped_once() -> None:
    payload = _text_only("a &lt;b&gt; &amp; c &amp;lt;")
    assert render_for_terminal(payload) == "a <b> & c &lt;"


def test_formatting_marks_are_dropped_without_color_but_code_content_is_literal() -> None:
    payload = _text_only("*bold* _italic_ `*not_bold*` snake_case_name 5 * 3 * 2")
    assert render_for_terminal(payload) == "bold italic *not_bold* snake_case_name 5 * 3 * 2"


def test_known_emoji_become_unicode_and_unknown_stay_as_codes() -> None:
    payload = _text_only(":large_yellow_circle: :white_check_mark: :no_entry: :party_parrot:")
    assert render_for_terminal(payload) == "🟡 ✅ 🚫 :party_parrot:"


def test_long_text_wraps_to_width() -> None:
    lines = render_for_terminal(_text_only("word " * 40), width=30).splitlines()

    assert len(lines) > 1
    assert all(len(line) <= 30 for line in lines)


def test_url_buttons_in_actions_show_their_url() -> None:
    payload = {
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": _plain("Open in MyRopo"),
                        "url": "https://m.example",
                    },
                    {"type": "button", "text": _plain("Look up another")},
                ],
            }
        ]
    }
    assert (
        render_for_terminal(payload) == "[ Open in MyRopo ] https://m.example  [ Look up another ]"
    )


def test_modal_shows_title_inputs_and_buttons() -> None:
    view = {
        "type": "modal",
        "callback_id": ids.VIEW_LOOKUP,
        "title": _plain("Look up invoices"),
        "submit": _plain("Look up"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": ids.BLOCK_LOOKUP_IDENTIFIER,
                "label": _plain("HETU or customer number"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ACTION_LOOKUP_IDENTIFIER,
                    "placeholder": _plain("e.g. 131052-308T"),
                },
            },
            {
                "type": "input",
                "block_id": ids.BLOCK_LOOKUP_OPTIONS,
                "optional": True,
                "label": _plain("Options"),
                "element": {
                    "type": "checkboxes",
                    "action_id": ids.ACTION_LOOKUP_INCLUDE_PAID,
                    "options": [{"text": _plain("Include paid invoices"), "value": "paid"}],
                },
            },
            {"type": "image", "image_url": "https://x.example/a.png", "alt_text": "Ropo logo"},
        ],
    }
    assert render_for_terminal(view) == (
        "Look up invoices\n"
        "════════════════\n"
        "\n"
        "HETU or customer number\n"
        "  [ e.g. 131052-308T ]\n"
        "\n"
        "Options (optional)\n"
        "  ☐ Include paid invoices\n"
        "\n"
        "[image: Ropo logo]\n"
        "\n"
        "[ Cancel ]  [ Look up ]"
    )


def test_unknown_block_type_becomes_a_placeholder_line() -> None:
    payload = {
        "blocks": [
            {"type": "video", "title": {"type": "plain_text", "text": "a video"}},
            {"type": "section", "text": _mrkdwn("still shown")},
            {"no_type": True},
        ]
    }
    assert render_for_terminal(payload) == (
        "[video block not shown in the terminal]\n"
        "\n"
        "still shown\n"
        "\n"
        "[untyped block not shown in the terminal]"
    )


def test_rich_text_shows_its_text_and_preformatted_lines() -> None:
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Payment reference", "style": {"bold": True}}
                ],
            },
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "91000048"}]},
        ],
    }
    assert render_for_terminal({"text": "x", "blocks": [block]}) == "Payment reference\n  91000048"
