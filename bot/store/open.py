"""Which store this process uses, and migrating it: PostgreSQL with DATABASE_URL, else SQLite."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg

from bot.audit.store import create_schema
from bot.settings import Settings, SettingsError
from bot.store.base import Store
from bot.store.migrations import migrate_postgres
from bot.store.postgres import CONNECT_TIMEOUT_S, PostgresStore, describe_url
from bot.store.sqlite import SqliteStore


def migrate(settings: Settings) -> str:
    """Bring the configured database's schema up to date; return where it is.

    Safe to run from any number of instances at once (see :mod:`bot.store.migrations`).
    Raises :class:`SettingsError` naming the setting when the database cannot be reached.
    """
    if settings.database_url is None:
        try:
            create_schema(settings.audit_db)
        except sqlite3.Error as exc:
            raise SettingsError(f"AUDIT_DB: cannot open {settings.audit_db} ({exc})") from None
        return str(settings.audit_db)
    url = settings.database_url.get_secret_value()
    try:
        with closing(psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S))) as connection:
            migrate_postgres(connection)
    except psycopg.Error as exc:
        # The driver's message names host and port, never the password; the class says enough.
        raise SettingsError(
            f"DATABASE_URL: cannot migrate {describe_url(url)} ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'})"
        ) from None
    return describe_url(url)


def open_store(settings: Settings) -> Store:
    """The store for ``settings``, migrated; raises :class:`SettingsError` if it can't be."""
    migrate(settings)
    if settings.database_url is None:
        try:
            return SqliteStore(settings.audit_db)
        except sqlite3.Error as exc:
            raise SettingsError(f"AUDIT_DB: cannot open {settings.audit_db} ({exc})") from None
    return PostgresStore(settings.database_url.get_secret_value())
