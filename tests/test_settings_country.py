"""ROPO_COUNTRY and ROPO_SSN_FORMAT: which identity code the app accepts, and how it is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.national_ids import Country
from bot.settings import SettingsError, load_settings
from tests.test_settings import VARIABLES


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _with_ropo(monkeypatch: pytest.MonkeyPatch, base_url: str, **variables: str):
    monkeypatch.setenv("ROPO_BASE_URL", base_url)
    monkeypatch.setenv("ROPO_CID", "cid-1")
    monkeypatch.setenv("ROPO_APICODE", "apicode-for-country-tests")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize(
    ("base_url", "country", "ssn_format"),
    [
        ("https://rc.ropo24.fi/rest", Country.FI, "as-typed"),
        ("https://ropo24.se/rest", Country.SE, "YYYYMMDDNNNN"),
        ("https://rc.ropo24.no/rest", Country.NO, "DDMMYYNNNNN"),
        ("http://127.0.0.1:8081/rest", Country.FI, "as-typed"),  # any other host
    ],
)
def test_the_country_follows_the_base_urls_domain(
    monkeypatch: pytest.MonkeyPatch, base_url: str, country: Country, ssn_format: str
) -> None:
    settings = _with_ropo(monkeypatch, base_url)
    assert settings.country is country
    assert settings.ssn_format == ssn_format


def test_the_sandbox_is_finnish_unless_ropo_country_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROPO_BASE_URL", "https://ropo24.se/rest")  # ignored by the sandbox
    assert load_settings().country is Country.FI
    monkeypatch.setenv("ROPO_COUNTRY", "NO")
    settings = load_settings()
    assert settings.country is Country.NO
    assert settings.currency == "NOK"


def test_ropo_country_overrides_the_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _with_ropo(monkeypatch, "https://proxy.example.com/rest", ROPO_COUNTRY="se")
    assert settings.country is Country.SE
    assert settings.currency == "SEK"


def test_ropo_ssn_format_picks_another_swedish_form(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _with_ropo(monkeypatch, "https://ropo24.se/rest", ROPO_SSN_FORMAT="YYMMDD-NNNN")
    assert settings.ssn_format == "YYMMDD-NNNN"


def test_a_form_of_another_country_stops_start_up_with_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROPO_COUNTRY", "se")
    monkeypatch.setenv("ROPO_SSN_FORMAT", "DDMMYYNNNNN")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "ROPO_SSN_FORMAT" in str(caught.value)
    assert "'YYYYMMDDNNNN'" in str(caught.value)


def test_an_unknown_country_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROPO_COUNTRY", "dk")
    with pytest.raises(SettingsError, match="ROPO_COUNTRY"):
        load_settings()
