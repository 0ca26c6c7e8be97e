"""``LOG_FORMAT=json``: one JSON object per line, with the lookup's fields, and nothing toxic.

The oracle is the literal identity code and secrets the tests log, not the redactor's regex.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logs import configure_logging
from bot.lookup import InvoiceLookup, Requester, Surface
from bot.query import Query, parse_command
from bot.ropo.errors import RopoUnavailable
from bot.ropo.models import Invoice
from bot.settings import RopoEnvironment, Settings

HETU = "131052-308T"
APICODE = "apicode-that-must-not-leak-42"
BOT_TOKEN = "xoxb-1234-5678-abcdefghijkl"
METRICS_TOKEN = "metrics-token-that-must-not-leak"
DB_PASSWORD = "db-password-that-must-not-leak"
DATABASE_URL = f"postgresql://bot:{DB_PASSWORD}@db.example:5432/invoices"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The app's logging set up for JSON into a buffer; the run's own set-up restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    factory = logging.getLogRecordFactory()
    httpx_level = logging.getLogger("httpx").level
    stream = io.StringIO()
    settings = Settings(
        _env_file=None,
        log_format="json",
        log_level="DEBUG",
        ropo_cid="cid",
        ropo_apicode=APICODE,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="signing-secret-0123",
        metrics_token=METRICS_TOKEN,
        database_url=DATABASE_URL,
    )
    configure_logging(settings, stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
        logging.getLogger("httpx").setLevel(httpx_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_nothing_toxic(stream: io.StringIO) -> None:
    text = stream.getvalue()
    for toxic in (HETU, "308T", APICODE, BOT_TOKEN, METRICS_TOKEN, DB_PASSWORD):
        assert toxic not in text


def test_a_record_is_one_json_object_with_time_level_logger_and_message(json_log):
    logging.getLogger("bot.example").warning("Ropo One answered %d", 503)
    (line,) = lines(json_log)
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["level"] == "WARNING"
    assert line["logger"] == "bot.example"
    assert line["message"] == "Ropo One answered 503"
    assert line["time"].endswith("Z")


def test_identity_codes_and_secrets_are_masked_everywhere_in_the_object(json_log):
    logger = logging.getLogger("bot.example")
    logger.info("in the message 131052-308T xoxb-1234-5678-abcdefghijkl")
    logger.info("in the args %s %s", HETU, APICODE)
    logger.info(
        "in extra fields",
        extra={"note": f"for {HETU}", "nested": {"code": HETU, "list": [HETU, METRICS_TOKEN]}},
    )
    try:
        raise ValueError(f"an exception about {HETU} with {APICODE}")
    except ValueError:
        logger.exception("in a traceback")
    logger.info("an object in extra", extra={"error": ValueError(HETU)})
    logger.warning("pool: %s; auth failed for %s", DATABASE_URL, DB_PASSWORD)

    assert_nothing_toxic(json_log)
    message, args, extra, traceback, obj, database = lines(json_log)
    assert message["message"] == "in the message 131052-**** [redacted]"
    assert args["message"] == "in the args 131052-**** [redacted]"
    assert extra["note"] == "for 131052-****"
    assert extra["nested"] == {"code": "131052-****", "list": ["131052-****", "[redacted]"]}
    assert "ValueError: an exception about 131052-**** with [redacted]" in traceback["exc_info"]
    assert obj["error"] == "131052-****"
    assert database["message"] == "pool: [redacted]; auth failed for [redacted]"


def test_a_lookup_logs_its_reference_ids_surface_outcome_and_latency(json_log):
    class Ropo:
        async def find_invoices(self, query: Query) -> tuple[Invoice, ...]:
            raise RopoUnavailable(f"Ropo One answered 503 for {HETU}", status=503)

    lookup = InvoiceLookup(Ropo(), currency="EUR", environment=RopoEnvironment.TEST, audit=None)
    query = parse_command(HETU)
    assert isinstance(query, Query)
    who = Requester("T0TEAM", "U0AGENT", "C0CHANNEL", Surface.COMMAND)

    outcome = asyncio.run(lookup.run(query, who))

    assert_nothing_toxic(json_log)
    (line,) = [entry for entry in lines(json_log) if entry["logger"] == "bot.lookup"]
    assert line["reference"] == outcome.reference
    assert (line["team_id"], line["user_id"], line["channel_id"]) == (
        "T0TEAM",
        "U0AGENT",
        "C0CHANNEL",
    )
    assert line["surface"] == "command"
    assert line["outcome"] == "unavailable"
    assert isinstance(line["ropo_latency_ms"], int)


def test_text_stays_the_default():
    assert Settings(_env_file=None).log_format == "text"
    assert Settings(_env_file=None, log_format="JSON").log_format == "json"
