"""The privacy oracle: the literal identity codes the tests use, in every disguise.

A privacy test must not search for ``bot.redact.HETU_SHAPE``, the pattern the redactor masks
with: a shape the redactor misses, the check would miss too. These helpers know nothing of
the redactor. :func:`disguises` writes a code every way the parser (``bot/query.py``) still
reads it, and every way a log line or payload may carry that (URL-encoded, JSON-escaped,
both); :func:`assert_no_identity_code` undoes all of that to the text it is given and looks
for the code's own characters.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

# What the parser accepts as a century sign "-" besides "-" itself, and what it drops as
# invisible: written out here, not imported, so that the oracle does not move with the code.
# tests/test_redact.py checks that the parser reads every plain disguise as the code itself.
LOOKALIKE_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
INVISIBLES = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

_REPO = Path(__file__).resolve().parent.parent
_CODE_IN_SOURCE = re.compile(r"(?<![0-9A-Za-z])[0-9]{6}[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-Za-z]")
_ESCAPE = re.compile(r"\\+u([0-9A-Fa-f]{4})|\\+x([0-9A-Fa-f]{2})")


@cache
def codes_the_tests_use() -> tuple[str, ...]:
    """Every identity code written literally in the tests, the sandbox's data and the demo.

    Read from the source files, so a code a new test types is guarded without a list to keep.
    """
    sources = [
        *(_REPO / "tests").rglob("*.py"),
        _REPO / "bot" / "ropo" / "sandbox_data.py",
        *(_REPO / "bot" / "dev").rglob("*.py"),
    ]
    found = {
        code.upper()
        for path in sources
        for code in _CODE_IN_SOURCE.findall(path.read_text(encoding="utf-8"))
    }
    return tuple(sorted(found))


def plain_disguises(code: str) -> list[str]:
    """``code`` as an agent may type or paste it: sign look-alikes, case, invisible characters.

    Each of these the parser reads as ``code`` itself.
    """
    sign = code[6]
    signs = [sign, *LOOKALIKE_DASHES] if sign == "-" else [sign]
    written = []
    for variant in (code.upper(), code.lower()):
        for look_alike in signs:
            written.append(f"{variant[:6]}{look_alike}{variant[7:]}")
    invisible = [
        # One invisible character at a different place each time, and one everywhere.
        f"{code[:position]}{char}{code[position:]}"
        for position, char in zip(range(1, 11), INVISIBLES * 2, strict=False)
    ]
    invisible.append(INVISIBLES[1].join(code))
    combined = [
        f"{written_code[:3]}{INVISIBLES[index % len(INVISIBLES)]}{written_code[3:]}"
        for index, written_code in enumerate(written)
    ]
    return list(dict.fromkeys([*written, *invisible, *combined]))


def disguises(code: str) -> list[str]:
    """Every plain disguise of ``code``, and each as a log line or payload may carry it.

    URL-encoded (the sign forced too: ``%2D``, ``%2d``; twice over), JSON-escaped
    (``\\u2013``, ``\\u002d``; JSON in JSON; JSON in a form body) and Python's repr.
    """
    sign = code[6]
    found: list[str] = []
    for plain in plain_disguises(code):
        found += [
            plain,
            quote(plain, safe=""),
            quote_plus(plain),
            quote(quote(plain, safe=""), safe=""),
            json.dumps(plain)[1:-1],
            json.dumps(json.dumps(plain))[1:-1],
            quote_plus(json.dumps(plain)),
            repr(plain)[1:-1],
        ]
    if sign in "-+":
        escaped_sign = f"{ord(sign):02X}"
        rest = code[7:]
        found += [
            f"{code[:6]}%{escaped_sign}{rest}",
            f"{code[:6]}%{escaped_sign.lower()}{rest}",
            f"{code[:6]}%25{escaped_sign}{rest}",
            f"{code[:6]}\\u00{escaped_sign}{rest}",
            f"{code[:6]}\\u00{escaped_sign.lower()}{rest}".lower(),
            f"{code[:6]}\\\\u00{escaped_sign}{rest}",
            f"{code[:6]}%5Cu00{escaped_sign}{rest}",
            f"{code[:3]}%E2%80%8B{code[3:6]}%{escaped_sign}{rest}",
            f"{code[:3]}\\u200b{code[3:6]}\\u00{escaped_sign}{rest}",
        ]
    return list(dict.fromkeys(found))


def normalise(text: str) -> str:
    """``text`` with URL encoding and JSON/repr escapes undone, invisibles dropped, casefolded.

    Decoding repeats until nothing changes, so a code escaped twice over is found too.
    """
    for _ in range(5):
        before = text
        text = unquote(text, errors="replace")
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
        if text == before:
            break
    text = unicodedata.normalize("NFKC", text)
    return text.translate(dict.fromkeys(map(ord, INVISIBLES))).casefold()


def identity_codes_in(text: str, codes: Iterable[str]) -> list[str]:
    """Which of ``codes`` can be read in ``text`` in any disguise.

    A code counts as readable when its birth date and its last four characters stand together
    with at most one character between them: any century letter, or anything that is not a
    letter or digit (a dash, a space, a symbol). A century sign rewritten as another is still
    the person's code; a letter of another script in between makes no code.
    """
    readable = normalise(text)
    found = []
    for code in codes:
        folded = code.casefold()
        between = "(?:[^\\w]|[a-fu-y])?"
        if re.search(f"{re.escape(folded[:6])}{between}{re.escape(folded[7:])}", readable):
            found.append(code)
    return found


def national_codes_the_tests_use() -> tuple[str, ...]:
    """The sandbox's Swedish and Norwegian customers' codes, digits only, as Ropo is sent them."""
    from bot.ropo import sandbox_data as sandbox

    return (
        sandbox.PERSONNUMMER_THREE_INVOICES,
        sandbox.SAMORDNINGSNUMMER_DUE,
        sandbox.FODSELSNUMMER_THREE_INVOICES,
        sandbox.D_NUMBER_REMINDER,
    )


def national_codes_in(text: str, codes: Iterable[str]) -> list[str]:
    """Which Swedish (12 digits) or Norwegian (11 digits) ``codes`` can be read in ``text``.

    Readable: the birth date (``YYMMDD`` of a personnummer, ``DDMMYY`` of a fødselsnummer)
    and the digits after it together, with at most one separator between them, in any of the
    disguises :func:`normalise` undoes.
    """
    readable = normalise(text)
    found = []
    for code in codes:
        born, rest = (code[2:8], code[8:]) if len(code) == 12 else (code[:6], code[6:])
        if re.search(f"{born}[^\\w]?{rest}", readable):
            found.append(code)
    return found


def assert_no_identity_code(text: str, codes: Iterable[str] | None = None, where: str = "") -> None:
    """Fail if ``text`` holds any of ``codes`` (default: every code the tests use), readable."""
    leaked = identity_codes_in(text, codes_the_tests_use() if codes is None else codes)
    if leaked:
        context = f" in {where}" if where else ""
        raise AssertionError(f"identity code(s) {leaked} readable{context}")
