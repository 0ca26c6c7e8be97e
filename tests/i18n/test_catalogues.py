"""The message catalogues: complete, not fuzzy, up to date with the code, compiled.

A fresh clone runs on the committed ``.mo`` files (no build step), so these tests are what
keeps them honest: every ``msgid`` the code marks is in every catalogue, translated, and the
compiled file says what the ``.po`` says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.blocks.details import TITLE_DETAILS
from bot.blocks.modal import TITLE_CHOOSE, TITLE_LOOKUP, TITLE_RESULT
from bot.blocks.reply import ALL_WORD, HELP_WORD
from bot.i18n import LANGUAGES, LOCALE_DIR, _, use_language
from bot.query import HELP_WORDS, INCLUDE_PAID_FLAGS, Query, parse_command

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in LANGUAGES if language != "en"]
# The one extraction command; README "Languages" gives the same.
EXTRACT = ["pybabel", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "plural:2,3", "--no-location"]
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def _read_po(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def _key(value: object) -> object:
    """A message's id or string, hashable: plural forms as a tuple (a ``.mo`` gives a list)."""
    return value if isinstance(value, str) else tuple(value)  # type: ignore[call-overload]


def _ids(catalog: Catalog) -> set[object]:
    return {_key(message.id) for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What ``pybabel extract`` finds in the code now."""
    output = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run([*EXTRACT, "-o", str(output), str(ROOT / "bot")])
    with output.open("rb") as f:
        return read_po(f)


def test_extraction_finds_the_marked_texts(extracted: Catalog) -> None:
    ids = _ids(extracted)
    assert "Previous" in ids  # N_()
    assert ("{count} invoice", "{count} invoices") in ids  # plural(count, singular, plural)
    assert "Something went wrong in the app" in ids


def test_the_template_is_up_to_date_with_the_code(extracted: Catalog) -> None:
    with (LOCALE_DIR.parent / "messages.pot").open("rb") as f:
        committed = read_po(f)
    assert _ids(committed) == _ids(extracted), "re-run pybabel extract (README, Languages)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(extracted: Catalog, language: str) -> None:
    catalog = _read_po(language)
    missing = _ids(extracted) - _ids(catalog)
    assert not missing, f"{language}: not in the catalogue (pybabel update): {missing}"
    stale = _ids(catalog) - _ids(extracted)
    assert not stale, f"{language}: no longer in the code (pybabel update): {stale}"
    assert not catalog.obsolete, f"{language}: obsolete entries: {list(catalog.obsolete)}"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy: {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated: {message.id!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_every_placeholder(language: str) -> None:
    for message in _read_po(language):
        if not message.id:
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert set(_PLACEHOLDER.findall(string)) == set(_PLACEHOLDER.findall(source)), (
                f"{language}: {message.id!r} -> {string!r}"
            )


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_matches_the_po_file(language: str) -> None:
    po = _read_po(language)
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        mo = read_mo(f)
    compiled = {_key(m.id): _key(m.string) for m in mo if m.id}
    written = {_key(m.id): _key(m.string) for m in po if m.id}
    assert compiled == written, f"{language}: run pybabel compile -d bot/i18n/locale"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_words_help_shows_are_words_the_command_takes(language: str) -> None:
    with use_language(language):
        all_word, help_word = _(ALL_WORD), _(HELP_WORD)
    assert all_word in INCLUDE_PAID_FLAGS
    assert help_word in HELP_WORDS
    parsed = parse_command(f"C-1001 {all_word}")
    assert isinstance(parsed, Query)
    assert parsed.include_paid


@pytest.mark.parametrize("language", LANGUAGES)
def test_modal_titles_fit_slacks_24_characters(language: str) -> None:
    with use_language(language):
        titles = [_(title) for title in (TITLE_LOOKUP, TITLE_RESULT, TITLE_CHOOSE, TITLE_DETAILS)]
    assert all(0 < len(title) <= 24 for title in titles), titles
