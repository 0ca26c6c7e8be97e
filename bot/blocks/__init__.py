"""Pure Block Kit builders: typed results in, Slack message and view payloads out."""

from bot.blocks.access import render_access_refused, render_refusal_view, render_slow_down
from bot.blocks.common import STATUS_LEGEND, StatusInfo, escape_mrkdwn
from bot.blocks.details import render_details_loading, render_details_view
from bot.blocks.home import render_home
from bot.blocks.modal import (
    NOTHING_FOUND_NOTICE,
    read_lookup_form,
    render_choose_identifier,
    render_expired_view,
    render_loading_view,
    render_lookup_form,
    render_result_view,
    render_window_not_opened,
    with_lookup_another,
)
from bot.blocks.reply import (
    render_expired_context,
    render_failure,
    render_help,
    render_invoice_list,
    render_refusal,
    render_unexpected_error,
)

__all__ = [
    "NOTHING_FOUND_NOTICE",
    "STATUS_LEGEND",
    "StatusInfo",
    "escape_mrkdwn",
    "read_lookup_form",
    "render_access_refused",
    "render_choose_identifier",
    "render_details_loading",
    "render_details_view",
    "render_expired_context",
    "render_expired_view",
    "render_failure",
    "render_help",
    "render_home",
    "render_invoice_list",
    "render_loading_view",
    "render_lookup_form",
    "render_refusal",
    "render_refusal_view",
    "render_result_view",
    "render_slow_down",
    "render_unexpected_error",
    "render_window_not_opened",
    "with_lookup_another",
]
