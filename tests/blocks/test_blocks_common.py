"""Shared Block Kit helpers: escaping, dates, amounts, the status table and Slack's limits."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot.blocks.common import (
    SOURCE_LABELS,
    STATUS_LEGEND,
    button,
    code,
    context,
    escape_mrkdwn,
    join_limited,
    section,
    slack_date,
    truncate,
)
from bot.blocks.money import format_amount
from bot.i18n import use_language
from bot.ropo.models import InvoiceStatus
from bot.settings import RopoEnvironment
from tests.blocks.limits import check_limits


def test_escape_mrkdwn_escapes_the_three_control_characters() -> None:
    assert escape_mrkdwn("<!here> & <@U1|bob>") == "&lt;!here&gt; &amp; &lt;@U1|bob&gt;"


def test_escape_mrkdwn_escapes_an_ampersand_once() -> None:
    assert escape_mrkdwn("&amp;") == "&amp;amp;"


def test_code_cannot_be_closed_early_and_is_truncated() -> None:
    assert code("a`b<") == "`a\u02cbb&lt;`"
    assert code("x" * 100) == "`" + "x" * 79 + "…`"


def test_truncate_keeps_short_text() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab…"


def test_join_limited_counts_what_does_not_fit() -> None:
    assert join_limited(["a", "b", "c"], budget=100, max_items=2) == "a, b, …and 1 more"
    assert join_limited(["a", "b"], budget=100, max_items=5) == "a, b"
    assert join_limited([], budget=100, max_items=5) == ""
    # The first item always shows, however long, so the line never says only "…and N more".
    assert join_limited(["x" * 90, "y"], budget=10, max_items=5) == "x" * 79 + "…, …and 1 more"


@pytest.mark.parametrize(
    ("day", "epoch", "fallback"),
    [
        (date(2024, 9, 16), 1_726_488_000, "16 Sept 2024"),
        (date(1970, 1, 1), 43_200, "1 Jan 1970"),
        (date(2024, 2, 29), 1_709_208_000, "29 Feb 2024"),
    ],
)
def test_slack_date_points_at_noon_utc(day: date, epoch: int, fallback: str) -> None:
    assert slack_date(day) == f"<!date^{epoch}^{{date_short}}|{fallback}>"


@pytest.mark.parametrize(
    ("language", "fallback"),
    [("en", "16 Sept 2024"), ("fi", "16.9.2024"), ("sv", "16 sep. 2024"), ("nb", "16. sep. 2024")],
)
def test_slack_date_falls_back_to_the_agents_language(language: str, fallback: str) -> None:
    with use_language(language):
        assert slack_date(date(2024, 9, 16)) == f"<!date^1726488000^{{date_short}}|{fallback}>"


def test_slack_date_of_nothing_is_unknown() -> None:
    assert slack_date(None) == "unknown"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (Decimal("1234.5"), "EUR", "en_FI", "1\u00a0234,50\u00a0€"),
        (Decimal("0"), "EUR", "en_FI", "0,00\u00a0€"),
        (Decimal("-12.345"), "EUR", "en_FI", "-12,34\u00a0€"),
        (Decimal("1234.5"), "SEK", "en_SE", "1\u00a0234,50\u00a0kr"),
        (Decimal("1234.5"), "EUR", "en_US", "€1,234.50"),
        (Decimal("NaN"), "EUR", "en_FI", "unknown"),
        (None, "EUR", "en_FI", "unknown"),
    ],
)
def test_format_amount(amount: Decimal | None, currency: str, locale: str, expected: str) -> None:
    assert format_amount(amount, currency, locale) == expected


def test_status_legend_covers_every_status_distinctly() -> None:
    assert set(STATUS_LEGEND) == set(InvoiceStatus)
    infos = list(STATUS_LEGEND.values())
    assert len({i.emoji for i in infos}) == len(infos)
    assert len({i.label for i in infos}) == len(infos)
    assert all(i.meaning for i in infos)


def test_status_legend_is_read_only() -> None:
    with pytest.raises(TypeError):
        STATUS_LEGEND[InvoiceStatus.PAID] = STATUS_LEGEND[InvoiceStatus.DUE]  # type: ignore[index]


def test_every_environment_has_a_source_label() -> None:
    assert set(SOURCE_LABELS) == set(RopoEnvironment)


# --- check_limits -------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return {
        "text": "fallback",
        "blocks": [
            section("hello", block_id="b1", accessory=button("Go", "a1", value="v")),
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}]},
            {"type": "header", "text": {"type": "plain_text", "text": "h"}},
            context("c"),
            {"type": "actions", "elements": [button("B", "a2", value="v")]},
            {"type": "divider"},
        ],
    }


def test_a_valid_payload_passes() -> None:
    check_limits(_valid())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = payload
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_set("text", ""), "text: a message needs a non-empty top-level text"),
        (_set("text", "x" * 40_001), "text: 40,001 characters, Slack allows at most 40,000"),
        (_set("blocks", [{"type": "divider"}] * 51), "blocks: 51 blocks, Slack allows at most 50"),
        (
            _set("blocks.0.text.text", "x" * 3001),
            "blocks[0].text.text: 3,001 characters, Slack allows at most 3,000",
        ),
        (_set("blocks.0.text.text", ""), "blocks[0].text: a text object with non-empty text"),
        (
            _set("blocks.0.block_id", "x" * 256),
            "blocks[0].block_id: 256 characters, Slack allows at most 255",
        ),
        (
            _set("blocks.1.fields", [{"type": "mrkdwn", "text": "f"}] * 11),
            "blocks[1].fields: 11 fields, Slack allows at most 10",
        ),
        (
            _set("blocks.1.fields.0.text", "x" * 2001),
            "blocks[1].fields[0].text: 2,001 characters, Slack allows at most 2,000",
        ),
        (
            _set("blocks.0.accessory.text.text", "x" * 76),
            "blocks[0].accessory.text.text: 76 characters, Slack allows at most 75",
        ),
        (
            _set("blocks.0.accessory.value", "x" * 2001),
            "blocks[0].accessory.value: 2,001 characters, Slack allows at most 2,000",
        ),
        (
            _set("blocks.0.accessory.url", "https://x/" + "x" * 2991),
            "blocks[0].accessory.url: 3,001 characters, Slack allows at most 3,000",
        ),
        (
            _set("blocks.0.accessory.action_id", "x" * 256),
            "blocks[0].accessory.action_id: 256 characters, Slack allows at most 255",
        ),
        (
            _set("blocks.2.text.text", "x" * 151),
            "blocks[2].text.text: 151 characters, Slack allows at most 150",
        ),
        (
            _set("blocks.3.elements", [{"type": "mrkdwn", "text": "c"}] * 11),
            "blocks[3].elements: 11 elements, Slack allows 1 to 10",
        ),
        (
            _set("blocks.4.elements", [button("B", f"a{i}") for i in range(26)]),
            "blocks[4].elements: 26 elements, Slack allows 1 to 25",
        ),
        (
            _set("blocks.4.elements", [button("B", "same"), button("C", "same")]),
            "blocks[4].elements[1].action_id: 'same' is used twice in one block",
        ),
        (
            _set("blocks.1.block_id", "b1"),
            "blocks[1].block_id: 'b1' is used twice in one message",
        ),
        (_set("blocks.1", {"type": "section"}), "blocks[1]: a section needs text or fields"),
    ],
)
def test_check_limits_names_the_first_broken_limit(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    payload = copy.deepcopy(_valid())
    mutate(payload)
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("(", r"\(")):
        check_limits(payload)


def test_a_modal_allows_100_blocks_and_no_text() -> None:
    view = {"blocks": [{"type": "divider"}] * 100}
    check_limits(view, max_blocks=100, require_text=False)
    with pytest.raises(ValueError, match="101 blocks"):
        check_limits({"blocks": [{"type": "divider"}] * 101}, max_blocks=100, require_text=False)
