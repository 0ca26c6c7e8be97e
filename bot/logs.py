"""Logging set-up: one handler on the root logger, behind a filter that masks identity codes.

Lines are text by default; ``LOG_FORMAT=json`` writes one JSON object per line (with
python-json-logger) for a log platform to index: time, level, logger, message, and the
fields a call site passes in ``extra`` (reference id, team, user and channel ids, surface,
outcome, Ropo latency). Every value of that object is redacted as the text is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from bot.redact import RedactingFilter, redact
from bot.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
JSON_NAMES = {"levelname": "level", "name": "logger"}
# Not fields: uvicorn's copy of its message with terminal colours in it.
JSON_LEFT_OUT = (*RESERVED_ATTRS, "color_message")


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Send every logger's records (Bolt's, httpx's, ours) through one redacting handler.

    Records are redacted twice over: when they are created (so a library's own handler, or a
    logger that does not propagate, gets masked text too) and again on the root handler (a
    logger's filters would not see records propagated from its children).
    """
    secrets = secret_values(settings)
    redacting = RedactingFilter(secrets)
    _redact_at_creation(redacting)
    handler = logging.StreamHandler(stream or sys.stderr)
    as_json = settings.log_format == "json"
    handler.setFormatter(RedactingJsonFormatter(secrets) if as_json else logging.Formatter(FORMAT))
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


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, masking identity codes and secrets in every value.

    The redacting filter has already cleaned the message and the traceback; what it cannot
    see are the ``extra`` fields, set on the record after it was created, and the traceback
    this formatter renders itself from ``exc_info``. So every value is cleaned here, last.
    """

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(
            JSON_FIELDS, rename_fields=JSON_NAMES, reserved_attrs=JSON_LEFT_OUT, timestamp="time"
        )
        self._clean = cleaner(secrets)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Redact every value of the object about to be written; the time goes first."""
        ordered = {"time": log_data.pop("time", None), **log_data}
        return {key: self._scrub(value) for key, value in ordered.items()}

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, datetime):  # the record's time, in UTC
            return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._clean(value)
        if isinstance(value, dict):
            return {str(key): self._scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrub(item) for item in value]
        return self._clean(str(value))  # datetimes, exceptions, anything else: as text


def secret_values(settings: Settings) -> tuple[str, ...]:
    """The configured secrets, which no log line (and no ``doctor`` line) may show."""
    values = (
        settings.ropo_apicode,
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.audit_key,
        settings.metrics_token,
        settings.database_url,
    )
    secrets = [value.get_secret_value() for value in values if value is not None]
    if settings.database_url is not None:
        # A driver's message may quote the password alone, without the rest of the URL.
        password = urlsplit(settings.database_url.get_secret_value()).password
        if password:
            secrets.append(password)
    return tuple(secrets)


def cleaner(secrets: tuple[str, ...]) -> Callable[[str], str]:
    """Mask the literal ``secrets``, then everything HETU- or token-shaped (as the filter does)."""
    literal = tuple(secret for secret in secrets if len(secret) >= 4)

    def clean(text: str) -> str:
        for secret in literal:
            text = text.replace(secret, "[redacted]")
        return redact(text)

    return clean
