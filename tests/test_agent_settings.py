"""The agents' own settings in the audit database: stored, read back, replaced."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bot.i18n import language_of
from bot.store.agent_settings import AgentSettings
from bot.store.sqlite import SqliteStore


async def test_a_setting_is_stored_and_read_back_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = SqliteStore(path)  # creates the schema, as the app does at start
    try:
        settings = AgentSettings(store)
        assert await settings.get("T1", "U1", "language") is None
        await settings.set("T1", "U1", "language", "fi")
        assert await settings.get("T1", "U1", "language") == "fi"

        restarted = AgentSettings(SqliteStore(path))  # another process: read from the file
        assert await restarted.get("T1", "U1", "language") == "fi"
        assert await restarted.get("T1", "U2", "language") is None
        assert await restarted.get("T2", "U1", "language") is None
    finally:
        await store.aclose()


async def test_a_new_choice_replaces_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = SqliteStore(path)
    settings = AgentSettings(store)
    await settings.set("T1", "U1", "language", "fi")
    await settings.set("T1", "U1", "language", "sv")
    assert await AgentSettings(store).get("T1", "U1", "language") == "sv"
    await store.aclose()
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT value, updated_at FROM agent_settings").fetchall()
    assert [value for value, _ in rows] == ["sv"]
    assert rows[0][1].endswith("+00:00")


def test_language_tags_map_to_the_apps_languages() -> None:
    assert language_of("fi-FI") == "fi"
    assert language_of("sv_SE") == "sv"
    assert language_of("nb-NO") == "nb"
    assert language_of("no") == "nb"
    assert language_of("nn-NO") == "nb"
    assert language_of("en-GB") == "en"
    assert language_of("de-DE") is None
    assert language_of("") is None
    assert language_of(None) is None
