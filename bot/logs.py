"""Logging set-up: one handler on the root logger, behind a filter that masks identity codes."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from bot.redact import RedactingFilter
from bot.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Send every logger's records (Bolt's, httpx's, ours) through one redacting handler.

    Records are redacted twice over: when they are created (so a library's own handler, or a
    logger that does not propagate, gets masked text too) and again on the root handler (a
    logger's filters would not see records propagated from its children).
    """
    secrets = tuple(
        value.get_secret_value()
        for value in (
            settings.ropo_apicode,
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.audit_key,
        )
        if value is not None
    )
    redacting = RedactingFilter(secrets)
    _redact_at_creation(redacting)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(redacting)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # httpx logs every request at INFO; one line per Ropo call is noise at INFO, useful at DEBUG.
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)


_base_factory = logging.getLogRecordFactory()


def _redact_at_creation(redacting: RedactingFilter) -> None:
    """Make every new log record pass through ``redacting`` before anyone sees it."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _base_factory(*args, **kwargs)
        redacting.filter(record)
        return record

    logging.setLogRecordFactory(factory)
