"""The audit trail and ``python -m bot audit --ssn`` with Swedish and Norwegian identity codes.

Codes are hashed in one canonical form, so an investigator finds a person's lookups however
the code was written; the oracle is the literal codes, which must appear nowhere.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.audit import AuditStore, AuditTrail
from bot.lookup import LookupResult, Requester, Surface
from bot.national_ids import Country
from bot.query import Identifier, Query, parse_identifier
from bot.settings import RopoEnvironment
from tests.conftest import AUDIT_KEY
from tests.test_audit import cli

KEY = AUDIT_KEY.encode()
AGENT = Requester("T0STANDIN", "U0AGENT01", "C0SUPPORT", Surface.COMMAND)
PNR_TYPED = "811228-9841"  # as the agent typed it
FNR = "15108695088"
LITERALS = ("811228-9841", "8112289841", "198112289841", "19811228-9841", FNR)


def _identifier(text: str, country: Country) -> Identifier:
    parsed = parse_identifier(text, country)
    assert isinstance(parsed, Identifier)
    return parsed


async def _seed(path: Path) -> None:
    trail = AuditTrail(AuditStore(path), KEY)
    for reference, text, country in (
        ("R-PNR001", PNR_TYPED, Country.SE),
        ("R-FNR001", FNR, Country.NO),
    ):
        query = Query(_identifier(text, country))
        result = LookupResult(query, (), "SEK", RopoEnvironment.TEST, reference)
        await trail.record_lookup(AGENT, result, ropo_latency_ms=30)
    await trail.aclose()


@pytest.fixture
def nordic_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "audit.db"
    asyncio.run(_seed(path))
    for name in ("ROPO_CID", "ROPO_APICODE", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDIT_DB", str(path))
    monkeypatch.setenv("AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("ROPO_COUNTRY", "se")
    monkeypatch.chdir(tmp_path)
    return path


def test_the_stored_rows_hold_no_swedish_or_norwegian_code(nordic_audit: Path) -> None:
    stored = nordic_audit.read_bytes()
    assert [code for code in LITERALS if code.encode() in stored] == []


@pytest.mark.parametrize("written", ["8112289841", "198112289841", "19811228-9841", PNR_TYPED])
def test_ssn_finds_a_personnummer_however_it_is_written(
    nordic_audit: Path, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    code, out, _ = cli(capsys, "--ssn", written)
    assert code == 0
    assert [line.split()[-1] for line in out.splitlines()[1:-1]] == ["R-PNR001"]
    assert out.splitlines()[-1] == f"1 lookup of personnummer 811228-**** in {nordic_audit}"
    assert [literal for literal in LITERALS if literal in out] == []


def test_ssn_finds_a_fodselsnummer_of_another_country_than_the_apps(
    nordic_audit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "--ssn", FNR)  # ROPO_COUNTRY is se here
    assert code == 0
    assert [line.split()[-1] for line in out.splitlines()[1:-1]] == ["R-FNR001"]
    assert FNR not in out


def test_an_invalid_ssn_is_refused_with_the_reason_and_not_repeated(
    nordic_audit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "--ssn", "811228-9842")
    assert code == 2
    assert "check digit" in err
    assert "811228-9842" not in out + err


def test_hetu_still_works_alongside_ssn(
    nordic_audit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "--hetu", "131052-308T")
    assert code == 0
    assert out.splitlines()[-1] == f"0 lookups of hetu 131052-**** in {nordic_audit}"
