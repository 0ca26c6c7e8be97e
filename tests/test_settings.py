"""Settings come from environment variables (or .env), and fail fast naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import (
    SANDBOX_BASE_URL,
    RopoEnvironment,
    Settings,
    SettingsError,
    load_settings,
)

VARIABLES = (
    "ROPO_BASE_URL",
    "ROPO_CID",
    "ROPO_APICODE",
    "ROPO_TIMEOUT_S",
    "ROPO_CURRENCY",
    "ROPO_COUNTRY",
    "ROPO_SSN_FORMAT",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "PORT",
    "LOG_LEVEL",
    "DISPLAY_LOCALE",
)
APICODE = "apicode-Qx7-very-secret"
BOT_TOKEN = "xoxb-1111-2222-settings-token"
SIGNING_SECRET = "signing-secret-settings-0123"
APP_TOKEN = "xapp-1-A111-222-settings"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable from the developer's shell and no .env from the working directory."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)


def _with_ropo(monkeypatch: pytest.MonkeyPatch, base_url: str) -> Settings:
    monkeypatch.setenv("ROPO_BASE_URL", base_url)
    monkeypatch.setenv("ROPO_CID", "cid-1")
    monkeypatch.setenv("ROPO_APICODE", APICODE)
    return load_settings()


def _problem(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_without_any_variable_the_sandbox_is_used_with_the_defaults() -> None:
    settings = load_settings()

    assert settings.uses_sandbox is True
    assert settings.ropo_environment is RopoEnvironment.SANDBOX
    assert settings.ropo_url == SANDBOX_BASE_URL
    assert settings.ropo_base_url == "https://rc.ropo24.fi/rest"
    assert settings.currency == "EUR"
    assert settings.locale == "en_FI"
    assert settings.ropo_timeout_s == 10.0
    assert settings.port == 3000
    assert settings.log_level == "INFO"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.slack_bot_token is None
    assert settings.slack_signing_secret is None
    assert settings.slack_app_token is None


def test_the_sandbox_ignores_the_base_urls_country(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROPO_BASE_URL", "https://ropo24.se/rest")

    settings = load_settings()

    assert settings.ropo_environment is RopoEnvironment.SANDBOX
    assert settings.ropo_url == SANDBOX_BASE_URL
    assert settings.currency == "EUR"


def test_every_variable_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "ROPO_BASE_URL": "https://ropo24.no/rest/",
        "ROPO_CID": "cid-1",
        "ROPO_APICODE": APICODE,
        "ROPO_TIMEOUT_S": "2.5",
        "ROPO_CURRENCY": "USD",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": "http://127.0.0.1:9999/api",
        "PORT": "8080",
        "LOG_LEVEL": "debug",
        "DISPLAY_LOCALE": "fi_FI",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.uses_sandbox is False
    assert settings.ropo_base_url == "https://ropo24.no/rest"  # trailing slash dropped
    assert settings.ropo_url == "https://ropo24.no/rest"
    assert settings.ropo_cid == "cid-1"
    assert settings.ropo_apicode is not None
    assert settings.ropo_apicode.get_secret_value() == APICODE
    assert settings.ropo_timeout_s == 2.5
    assert settings.currency == "USD"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == BOT_TOKEN
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == SIGNING_SECRET
    assert settings.slack_app_token is not None
    assert settings.slack_app_token.get_secret_value() == APP_TOKEN
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"  # trailing slash added
    assert settings.port == 8080
    assert settings.log_level == "DEBUG"
    assert settings.locale == "fi_FI"


def test_blank_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ROPO_CID", "ROPO_APICODE", "ROPO_CURRENCY", "SLACK_BOT_TOKEN", "DISPLAY_LOCALE"):
        monkeypatch.setenv(name, "  ")

    settings = load_settings()

    assert settings.uses_sandbox is True
    assert settings.ropo_apicode is None
    assert settings.slack_bot_token is None
    assert settings.currency == "EUR"


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"ROPO_BASE_URL=https://rc.ropo24.se/rest\nROPO_CID=cid-1\nROPO_APICODE={APICODE}\n",
        encoding="utf-8",
    )

    settings = load_settings()

    assert settings.ropo_cid == "cid-1"
    assert settings.ropo_environment is RopoEnvironment.TEST
    assert settings.currency == "SEK"


def test_the_environment_overrides_the_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("ROPO_TIMEOUT_S=3\nPORT=4000\n", encoding="utf-8")
    monkeypatch.setenv("ROPO_TIMEOUT_S", "7")

    settings = load_settings()

    assert settings.ropo_timeout_s == 7.0
    assert settings.port == 4000


def test_env_file_none_ignores_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ROPO_CID=cid-1\nROPO_APICODE=x-apicode\n", encoding="utf-8")

    assert Settings(_env_file=None).uses_sandbox is True  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("base_url", "currency", "locale"),
    [
        ("https://rc.ropo24.fi/rest", "EUR", "en_FI"),
        ("https://ropo24.fi/rest", "EUR", "en_FI"),
        ("https://rc.ropo24.se/rest", "SEK", "en_SE"),
        ("https://ropo24.se/rest", "SEK", "en_SE"),
        ("https://rc.ropo24.no/rest", "NOK", "en_NO"),
        ("https://ropo24.no/rest", "NOK", "en_NO"),
        ("http://127.0.0.1:8081/rest", "EUR", "en_FI"),
    ],
)
def test_currency_and_locale_follow_the_base_urls_country(
    monkeypatch: pytest.MonkeyPatch, base_url: str, currency: str, locale: str
) -> None:
    settings = _with_ropo(monkeypatch, base_url)

    assert settings.currency == currency
    assert settings.locale == locale


def test_ropo_currency_overrides_the_country(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROPO_CURRENCY", "EUR")

    assert _with_ropo(monkeypatch, "https://ropo24.se/rest").currency == "EUR"


@pytest.mark.parametrize(
    ("base_url", "environment"),
    [
        ("https://rc.ropo24.fi/rest", RopoEnvironment.TEST),
        ("https://rc.ropo24.se/rest", RopoEnvironment.TEST),
        ("https://rc.ropo24.no/rest", RopoEnvironment.TEST),
        ("https://ropo24.fi/rest", RopoEnvironment.PRODUCTION),
        ("https://ropo24.se/rest", RopoEnvironment.PRODUCTION),
        ("https://ropo24.no/rest", RopoEnvironment.PRODUCTION),
        ("https://www.ropo24.fi/rest", RopoEnvironment.PRODUCTION),
        ("http://127.0.0.1:8081/rest", RopoEnvironment.CUSTOM),
        ("https://ropo-proxy.example.com/rest", RopoEnvironment.CUSTOM),
    ],
)
def test_the_environment_is_named_from_the_base_url(
    monkeypatch: pytest.MonkeyPatch, base_url: str, environment: RopoEnvironment
) -> None:
    settings = _with_ropo(monkeypatch, base_url)

    assert settings.ropo_environment is environment
    assert settings.ropo_url == base_url


def test_a_cid_without_an_apicode_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _problem(monkeypatch, ROPO_CID="cid-1")

    assert message == (
        "Configuration problem: ROPO_APICODE is not set: set both ROPO_CID and ROPO_APICODE, "
        "or neither to use the built-in sandbox"
    )


def test_an_apicode_without_a_cid_names_the_cid_and_hides_the_apicode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _problem(monkeypatch, ROPO_APICODE=APICODE)

    assert message.startswith("Configuration problem: ROPO_CID is not set")
    assert APICODE not in message


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "ROPO_TIMEOUT_S",
            "abc",
            "ROPO_TIMEOUT_S: Input should be a valid number, unable to parse string as a number",
        ),
        ("ROPO_TIMEOUT_S", "0", "ROPO_TIMEOUT_S: Input should be greater than 0"),
        ("ROPO_BASE_URL", "not-a-url", "ROPO_BASE_URL: must be a full http(s) URL"),
        ("ROPO_BASE_URL", "ftp://ropo24.fi/rest", "ROPO_BASE_URL: must be a full http(s) URL"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL: must be a full http(s) URL"),
        ("ROPO_CURRENCY", "sek", "ROPO_CURRENCY: String should match pattern '^[A-Z]{3}$'"),
        ("PORT", "70000", "PORT: Input should be less than or equal to 65535"),
        (
            "LOG_LEVEL",
            "loud",
            "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
    ],
)
def test_a_malformed_value_names_its_variable_and_never_shows_the_apicode(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("ROPO_CID", "cid-1")
    monkeypatch.setenv("ROPO_APICODE", APICODE)

    problem = _problem(monkeypatch, **{name: value})

    assert problem == f"Configuration problem: {message}"
    assert APICODE not in problem


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _problem(monkeypatch, ROPO_TIMEOUT_S="abc", PORT="0")

    assert "ROPO_TIMEOUT_S: " in message
    assert "; PORT: " in message


def test_a_bot_token_needs_a_signing_secret_or_an_app_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _problem(
        monkeypatch, ROPO_CID="cid-1", ROPO_APICODE=APICODE, SLACK_BOT_TOKEN=BOT_TOKEN
    )

    assert message == (
        "Configuration problem: SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN is required"
    )
    assert BOT_TOKEN not in message


@pytest.mark.parametrize("second", ["SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"])
def test_a_bot_token_with_a_signing_secret_or_an_app_token_is_enough(
    monkeypatch: pytest.MonkeyPatch, second: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv(second, SIGNING_SECRET)

    assert _with_ropo(monkeypatch, "https://rc.ropo24.fi/rest").slack_bot_token is not None


def test_printing_the_settings_hides_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    settings = _with_ropo(monkeypatch, "https://rc.ropo24.fi/rest")

    for text in (repr(settings), str(settings), f"{settings}", str(settings.model_dump())):
        for secret in (APICODE, BOT_TOKEN, SIGNING_SECRET, APP_TOKEN):
            assert secret not in text
    assert "ropo_apicode=SecretStr('**********')" in repr(settings)


def test_default_language_is_english_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_LANGUAGE", "")
    assert Settings(_env_file=None).default_language == "en"
    monkeypatch.setenv("DEFAULT_LANGUAGE", " FI ")
    assert Settings(_env_file=None).default_language == "fi"
    monkeypatch.setenv("DEFAULT_LANGUAGE", "de")
    with pytest.raises(SettingsError, match="DEFAULT_LANGUAGE"):
        load_settings(_env_file=None)
