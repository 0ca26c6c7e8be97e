"""No identity code in any log line: every logger, every part of a record, DEBUG included.

The records go through the run's real logging set-up (``configure_logging`` at DEBUG, see
conftest.py) into the run's app log file, which these tests read back.
"""

from __future__ import annotations

import logging

import pytest

from tests.conftest import app_log
from tests.privacy import assert_no_identity_code, disguises

HETU = "131052-308T"
MASKED = "131052-****"
LIBRARY_LOGGERS = [
    "slack_sdk",
    "slack_sdk.web.async_base_client",
    "slack_bolt",
    "slack_bolt.AsyncApp",
    "httpx",
    "httpcore.http11",
    "uvicorn.error",
    "asyncio",
    "bot.lookup",
    "some.library.nobody.configured",
]


def written_since(start: int) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    with app_log().open(encoding="utf-8") as log:
        log.seek(start)
        return log.read()


@pytest.mark.parametrize("name", LIBRARY_LOGGERS)
def test_a_hetu_is_masked_in_message_args_exception_and_stack_at_debug(name: str) -> None:
    logger = logging.getLogger(name)
    assert logger.isEnabledFor(logging.DEBUG)  # the run logs at DEBUG, like LOG_LEVEL=DEBUG
    start = app_log().stat().st_size

    message = f"message {HETU}"  # already formatted, as careless code does
    logger.debug(message)
    logger.debug("args %s %r", HETU, {"ssn": HETU.lower()})
    try:
        raise ValueError(f"bad customer {HETU}")
    except ValueError:
        logger.exception("exception for %s", "someone")
    logger.debug("stack of %s", HETU, stack_info=True)
    logger.warning("percent-style %(ssn)s", {"ssn": HETU})
    logger.debug("broken format %s %s", HETU)  # a bad call must not leak either
    for disguised in disguises(HETU):  # as typed, pasted, URL-encoded, JSON-escaped, ...
        logger.debug("body %s", disguised)

    text = written_since(start)
    assert text.count(f"message {MASKED}") == 1
    assert f"args {MASKED} {{'ssn': '131052-****'}}" in text
    assert f"ValueError: bad customer {MASKED}" in text  # the traceback, masked
    assert f"stack of {MASKED}\nStack (most recent call last):" in text
    assert f"percent-style {MASKED}" in text
    assert "broken format" in text
    assert text.count("body ") == len(disguises(HETU))
    assert_no_identity_code(text, [HETU], where=f"the app log via {name}")


def test_a_hetu_in_a_child_loggers_record_is_masked_even_with_its_own_level() -> None:
    logger = logging.getLogger("slack_bolt.App.some.listener")
    logger.setLevel(logging.DEBUG)
    try:
        start = app_log().stat().st_size
        logger.debug("payload: {'text': '%s'}", HETU)
        text = written_since(start)
    finally:
        logger.setLevel(logging.NOTSET)
    assert f"payload: {{'text': '{MASKED}'}}" in text
    assert_no_identity_code(text, [HETU])
