"""The App Home tab: goldens for an agent who may look up and one who may not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot import ids
from bot.blocks import STATUS_LEGEND, render_home
from bot.blocks.common import SOURCE_LABELS
from bot.settings import RopoEnvironment
from tests.blocks.limits import check_limits
from tests.privacy import assert_no_identity_code

CASES: dict[str, dict[str, Any]] = {
    "home_allowed": render_home(RopoEnvironment.PRODUCTION),
    "home_allowed_sandbox": render_home(RopoEnvironment.SANDBOX),
    "home_not_allowed": render_home(RopoEnvironment.PRODUCTION, allowed=False),
    "home_not_allowed_policy_message": render_home(
        RopoEnvironment.TEST,
        allowed=False,
        access_message="Only members of <!subteam^S0BILLING> may look up invoices. Ask "
        "#it-help to add you.",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_home_matches_golden(name: str, assert_golden: Callable[..., None]) -> None:
    assert_golden(name, CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_home_is_valid_block_kit(name: str) -> None:
    view = CASES[name]
    assert View(**view).to_dict() == view
    check_limits(view, max_blocks=100, require_text=False)
    assert_no_identity_code(json.dumps(view))


@pytest.mark.parametrize("environment", list(RopoEnvironment))
def test_home_says_which_ropo_environment_it_is_connected_to(
    environment: RopoEnvironment,
) -> None:
    assert SOURCE_LABELS[environment] in json.dumps(render_home(environment), ensure_ascii=False)


def test_home_has_the_whole_status_legend_and_the_lookup_button() -> None:
    text = json.dumps(render_home(RopoEnvironment.SANDBOX), ensure_ascii=False)
    for info in STATUS_LEGEND.values():
        assert info.emoji in text
        assert f"*{info.label}*" in text
    assert ids.ACTION_OPEN_LOOKUP_FORM in text
    assert "/invoices DDMMYY-NNNX" in text
    assert "/invoices C-1001" in text


def test_an_agent_without_access_is_told_how_to_get_it_and_gets_no_lookup_button() -> None:
    text = json.dumps(render_home(RopoEnvironment.SANDBOX, allowed=False), ensure_ascii=False)
    assert "don't have access" in text
    assert "ask a Slack admin" in text
    assert ids.ACTION_OPEN_LOOKUP_FORM not in text
    assert "/invoices" not in text


def test_the_access_policy_explains_itself_in_place_of_the_generic_advice() -> None:
    message = "Ask <@U0BOSS> to add you to <!subteam^S0BILLING>."
    view = render_home(RopoEnvironment.SANDBOX, allowed=False, access_message=message)
    text = json.dumps(view, ensure_ascii=False)
    assert message in text
    assert "ask a Slack admin" not in text
    assert ids.ACTION_OPEN_LOOKUP_FORM not in text
