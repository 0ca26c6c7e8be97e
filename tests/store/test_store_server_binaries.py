"""Without PostgreSQL's server binaries the store tests skip, except under CI, where they fail."""

from __future__ import annotations

import pytest

from tests import postgres


def test_missing_binaries_skip_with_one_line_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "BINARIES_GLOB", "/nonexistent/postgresql/*/bin")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql-15"):
        postgres.require_binaries()


def test_missing_binaries_fail_the_run_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "BINARIES_GLOB", "/nonexistent/postgresql/*/bin")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL server binaries not found"):
        postgres.require_binaries()
