"""All configuration, read once from the environment (and an optional ``.env``).

Secrets are :class:`~pydantic.SecretStr`, so printing the settings never shows them. A
missing or malformed value stops start-up with a message that names the variable.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.national_ids import SSN_FORMATS, Country, default_ssn_format

DEFAULT_ROPO_BASE_URL = "https://rc.ropo24.fi/rest"
SANDBOX_BASE_URL = "http://sandbox.invalid/rest"  # the embedded sandbox: served in-process
_CURRENCY_BY_COUNTRY = {"fi": "EUR", "se": "SEK", "no": "NOK"}
_LOCALE_BY_COUNTRY = {"fi": "en_FI", "se": "en_SE", "no": "en_NO"}

MIN_AUDIT_KEY_CHARS = 32
# Slack ids by kind: user groups (subteams) start with S, channels with C or G (private, or a
# DM group), users with U or W (Enterprise Grid).
_SLACK_ID_SHAPES = {
    "allowed_usergroup_ids": re.compile(r"S[A-Z0-9]{2,}"),
    "allowed_channel_ids": re.compile(r"[CGD][A-Z0-9]{2,}"),
    "allowed_user_ids": re.compile(r"[UW][A-Z0-9]{2,}"),
}
_SLACK_ID_EXAMPLES = {
    "allowed_usergroup_ids": "S0614TZR7",
    "allowed_channel_ids": "C0123ABCD",
    "allowed_user_ids": "U0123ABCD",
}

SlackIds = Annotated[frozenset[str], NoDecode]
"""A comma-separated list of Slack ids in the environment; a set here."""


class RopoEnvironment(StrEnum):
    """Where invoice data comes from; shown in every reply's footer."""

    SANDBOX = "sandbox"
    TEST = "test"
    PRODUCTION = "production"
    CUSTOM = "custom"  # any other URL, e.g. a standalone sandbox or a proxy


class SettingsError(Exception):
    """Configuration that cannot work, explained by variable name."""


class Settings(BaseSettings):
    """The app's settings. Environment variable names are the public interface."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    ropo_base_url: str = DEFAULT_ROPO_BASE_URL
    ropo_cid: str | None = None
    ropo_apicode: SecretStr | None = None
    ropo_timeout_s: float = Field(default=10.0, gt=0, le=120)
    ropo_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # Which national identity code is accepted; by default ROPO_BASE_URL's country (see
    # bot/national_ids.py). ROPO_SSN_FORMAT: how that code is written in Ropo's ``ssn`` field.
    ropo_country: Country | None = None
    ropo_ssn_format: str | None = None
    ropo_circuit_failures: int = Field(default=5, ge=1, le=1000)
    ropo_circuit_reset_s: float = Field(default=30.0, gt=0, le=3600)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    port: int = Field(default=3000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    display_locale: str | None = None
    log_format: Literal["text", "json"] = "text"
    metrics_token: SecretStr | None = None  # unset: GET /metrics is open (private network)
    web_concurrency: int = Field(default=1, ge=1, le=64)  # `serve`'s worker processes
    # The agents' language unless they chose one on App Home or Slack's is one of these.
    default_language: Literal["en", "fi", "sv", "nb"] = "en"

    # Who may look up (see bot/access/): empty lists allow every full member.
    allowed_usergroup_ids: SlackIds = frozenset()
    allowed_channel_ids: SlackIds = frozenset()
    allowed_user_ids: SlackIds = frozenset()
    access_contact: str | None = Field(default=None, max_length=200)
    access_cache_ttl_s: float = Field(default=300.0, ge=0, le=3600)
    rate_limit_per_minute: int = Field(default=30, ge=0)  # 0: no limit (load tests only)

    # The audit trail (see bot/audit/).
    audit_key: SecretStr | None = None
    audit_db: Path = Path("audit.db")
    audit_required: bool = True
    audit_retention_days: int = Field(default=365, ge=1)
    # postgresql://user:password@host:5432/db: the store every instance shares (bot/store/).
    database_url: SecretStr | None = None

    # The paging cache (see bot/result_cache.py): a TTL of 0 turns it off.
    result_cache_ttl_s: float = Field(default=300.0, ge=0, le=3600)
    result_cache_max_entries: int = Field(default=2000, ge=0)
    result_cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)

    @field_validator(
        "ropo_cid",
        "ropo_currency",
        "ropo_country",
        "ropo_ssn_format",
        "display_locale",
        "access_contact",
        "ropo_apicode",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "audit_key",
        "metrics_token",
        "database_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("audit_db", mode="before")
    @classmethod
    def _blank_is_default_db(cls, value: object) -> object:
        return "audit.db" if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "allowed_usergroup_ids", "allowed_channel_ids", "allowed_user_ids", mode="before"
    )
    @classmethod
    def _comma_separated_slack_ids(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple | set | frozenset):
            return value
        shape = _SLACK_ID_SHAPES[info.field_name or ""]
        for item in value:
            if not isinstance(item, str) or not shape.fullmatch(item):
                example = _SLACK_ID_EXAMPLES[info.field_name or ""]
                raise ValueError(
                    f"{str(item)[:40]!r} is not a Slack id of this kind: give ids such as "
                    f"{example}, separated by commas"
                )
        return frozenset(value)

    @field_validator("audit_key")
    @classmethod
    def _long_enough_key(cls, value: SecretStr | None) -> SecretStr | None:
        # With a guessable key anyone holding the table could hash every possible HETU.
        if value is not None and len(value.get_secret_value()) < MIN_AUDIT_KEY_CHARS:
            raise ValueError(
                f"must be at least {MIN_AUDIT_KEY_CHARS} characters of random text "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("display_locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            Locale.parse(value)
        except (ValueError, UnknownLocaleError):
            raise ValueError(f"unknown locale {value!r} (try en_FI, fi_FI, sv_SE, nb_NO)") from None
        return value

    @field_validator("ropo_country", mode="before")
    @classmethod
    def _lower_country(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("default_language", mode="before")
    @classmethod
    def _blank_is_english(cls, value: object) -> object:
        # .env.example leaves it blank: that means the default, not an unknown language.
        if isinstance(value, str):
            return value.strip().lower() or "en"
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("ropo_base_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be a full http(s) URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Never echo the value: it holds the database password.
        if value is not None and urlsplit(value.get_secret_value()).scheme not in (
            "postgresql",
            "postgres",
        ):
            raise ValueError("must be a postgresql://user:password@host:5432/database URL")
        return value

    @field_validator("ropo_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> Settings:
        if (self.ropo_cid is None) != (self.ropo_apicode is None):
            missing = "ROPO_APICODE" if self.ropo_apicode is None else "ROPO_CID"
            raise ValueError(
                f"{missing} is not set: set both ROPO_CID and ROPO_APICODE, "
                "or neither to use the built-in sandbox"
            )
        if (
            self.ropo_ssn_format is not None
            and self.ropo_ssn_format not in SSN_FORMATS[self.country]
        ):
            forms = ", ".join(repr(form) for form in SSN_FORMATS[self.country])
            raise ValueError(
                f"ROPO_SSN_FORMAT {self.ropo_ssn_format[:20]!r} is not a form of the "
                f"{self.country.code_name} (ROPO_COUNTRY {self.country.value}): use one of {forms}"
            )
        if (
            self.ropo_cid is not None
            and self.slack_bot_token is not None
            and not (self.slack_signing_secret or self.slack_app_token)
        ):
            raise ValueError("SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN is required")
        return self

    @property
    def uses_sandbox(self) -> bool:
        """True when no Ropo credentials are configured: the built-in sandbox answers."""
        return self.ropo_cid is None

    @property
    def ropo_url(self) -> str:
        """The base URL actually used (the embedded sandbox's when it is in use)."""
        return SANDBOX_BASE_URL if self.uses_sandbox else self.ropo_base_url

    @property
    def ropo_environment(self) -> RopoEnvironment:
        """Sandbox, Ropo's test environment (``rc.``), production, or a custom URL."""
        if self.uses_sandbox:
            return RopoEnvironment.SANDBOX
        host = urlsplit(self.ropo_base_url).hostname or ""
        if host.startswith("rc.ropo24."):
            return RopoEnvironment.TEST
        if host in {"ropo24.fi", "ropo24.se", "ropo24.no"} or host.startswith("www.ropo24."):
            return RopoEnvironment.PRODUCTION
        return RopoEnvironment.CUSTOM

    @property
    def _country(self) -> str | None:
        if self.ropo_country is not None:
            return self.ropo_country.value
        if self.uses_sandbox:
            return None
        host = urlsplit(self.ropo_base_url).hostname or ""
        return host.rsplit(".", 1)[-1] if host.rsplit(".", 1)[-1] in _CURRENCY_BY_COUNTRY else None

    @property
    def country(self) -> Country:
        """ROPO_COUNTRY, else ROPO_BASE_URL's (.fi, .se, .no); the sandbox and other hosts: fi."""
        return Country(self._country or Country.FI.value)

    @property
    def ssn_format(self) -> str:
        """How the country's identity code is written in Ropo's ``ssn``: ROPO_SSN_FORMAT."""
        return self.ropo_ssn_format or default_ssn_format(self.country)

    @property
    def currency(self) -> str:
        """ROPO_CURRENCY, else the base URL's country's currency, else EUR."""
        return self.ropo_currency or _CURRENCY_BY_COUNTRY.get(self._country or "", "EUR")

    @property
    def locale(self) -> str:
        """How amounts are formatted: DISPLAY_LOCALE, else English with the country's rules."""
        return self.display_locale or _LOCALE_BY_COUNTRY.get(self._country or "", "en_FI")


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one readable :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            name = "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise SettingsError("Configuration problem: " + "; ".join(problems)) from None
