"""The agent's language: gettext catalogues (Babel) and the language of the current request.

English is the source language: the texts in the code are the ``msgid``s, and
``locale/{fi,sv,nb}/LC_MESSAGES/messages.po`` translate them (``README.md``, *Languages*).
The language is held in a context variable, set once per Slack request before any listener
runs (:mod:`bot.slack.language`); tasks started after that copy it, so work done after the
acknowledgement answers in the same language. Builders therefore keep their signatures:
``_()`` looks the language up itself.

A text defined at import time (a button label, a status name) is marked with :func:`N_`, which
only tells ``pybabel extract`` about it, and translated where it is used, with :func:`_`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path

from babel import Locale, localedata
from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fi", "sv", "nb")
"""The languages an agent can choose, English (the source) first."""

SOURCE_LANGUAGE = "en"
"""The language of the texts in the code; also the language of a context no request set."""
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"

LANGUAGE_NAMES = {"en": "English", "fi": "Suomi", "sv": "Svenska", "nb": "Norsk (bokmål)"}
"""Each language in its own words: how the App Home select offers it."""

# Where a language has no CLDR data for the app's country (Norwegian in Finland), its own.
_HOME_TERRITORY = {"en": "FI", "fi": "FI", "sv": "SE", "nb": "NO"}

_language: ContextVar[str] = ContextVar("language", default=SOURCE_LANGUAGE)
_territory: ContextVar[str] = ContextVar("territory", default="FI")


def language_of(tag: str | None) -> str | None:
    """One of :data:`LANGUAGES` for a language tag (``fi``, ``sv-SE``, ``nb_NO``, ``no``)."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].casefold()
    if primary in ("no", "nn"):  # Slack's Norwegian, and nynorsk readers read bokmål best
        primary = "nb"
    return primary if primary in LANGUAGES else None


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language``; English (the source) translates to itself."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


def current_language() -> str:
    """The language of the request being answered."""
    return _language.get()


def set_language(language: str, territory: str | None = None) -> None:
    """Answer in ``language`` from now on in this context (a request's task and its children).

    ``territory`` is the country whose conventions amounts follow (``FI``): DISPLAY_LOCALE's.
    """
    _language.set(language if language in LANGUAGES else SOURCE_LANGUAGE)
    if territory:
        _territory.set(territory)


@contextmanager
def use_language(language: str, territory: str | None = None) -> Iterator[None]:
    """Answer in ``language`` inside the ``with`` block, then as before."""
    language_token = _language.set(language if language in LANGUAGES else SOURCE_LANGUAGE)
    territory_token = _territory.set(territory) if territory else None
    try:
        yield
    finally:
        _language.reset(language_token)
        if territory_token is not None:
            _territory.reset(territory_token)


def current_locale() -> str:
    """The Babel locale amounts, dates and counts are written in: ``fi_FI``, ``en_FI``, ..."""
    return _locale(_language.get(), _territory.get())


@functools.cache
def _locale(language: str, territory: str) -> str:
    wanted = f"{language}_{territory}"
    return wanted if localedata.exists(wanted) else f"{language}_{_HOME_TERRITORY[language]}"


def territory_of(locale: str) -> str | None:
    """The country part of a locale name (``en_FI`` -> ``FI``), if it has one."""
    parts = locale.replace("-", "_").split("_")
    return parts[-1].upper() if len(parts) > 1 and len(parts[-1]) == 2 else None


def _(message: str) -> str:
    """``message`` in the current language."""
    language = _language.get()
    if language == SOURCE_LANGUAGE:  # the source language: most requests, nothing to look up
        return message
    return translations(language).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural of a message for ``count``, as the current language counts."""
    return translations(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; :func:`_` translates it where it is shown."""
    return message


def number(value: int) -> str:
    """A count as the current language writes it: ``1,234`` or ``1 234``."""
    return _number(value, current_locale())


def long_date(day: date) -> str:
    """A date as the current language writes it in a sentence: ``5 Mar 2026``, ``5.3.2026``."""
    return _long_date(day, current_locale())


# Babel parses the locale and the pattern on every call; a reply repeats the same few
# counts and dates, so each is formatted once.
@functools.lru_cache(maxsize=4096)
def _number(value: int, locale: str) -> str:
    return format_decimal(value, locale=_babel_locale(locale))


@functools.lru_cache(maxsize=4096)
def _long_date(day: date, locale: str) -> str:
    return format_date(day, "medium", locale=_babel_locale(locale))


@functools.cache
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)
