"""Pure Block Kit builders: typed results in, Slack message payloads out."""

from bot.blocks.common import STATUS_LEGEND, StatusInfo, check_limits, escape_mrkdwn
from bot.blocks.reply import (
    render_expired_context,
    render_failure,
    render_help,
    render_invoice_list,
    render_refusal,
    render_unexpected_error,
)

__all__ = [
    "STATUS_LEGEND",
    "StatusInfo",
    "check_limits",
    "escape_mrkdwn",
    "render_expired_context",
    "render_failure",
    "render_help",
    "render_invoice_list",
    "render_refusal",
    "render_unexpected_error",
]
