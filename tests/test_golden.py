"""The golden-file helper: a difference fails with its diff; regenerating shows the diff and
is refused under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import GoldenFileRewritten, assert_golden, dump

OLD = {"blocks": [{"type": "section", "text": "old words"}]}
NEW = {"blocks": [{"type": "section", "text": "new words"}]}


@pytest.fixture
def golden_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("UPDATE_GOLDEN", raising=False)
    monkeypatch.delenv("CI", raising=False)
    (tmp_path / "reply.json").write_text(dump(OLD), encoding="utf-8")
    return tmp_path


def test_an_equal_payload_passes(golden_dir: Path) -> None:
    assert_golden("reply", OLD, golden_dir)


def test_a_different_payload_fails_with_the_diff(golden_dir: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_golden("reply", NEW, golden_dir)

    message = str(failed.value)
    assert "payload differs from reply.json" in message
    assert '-      "text": "old words"' in message
    assert '+      "text": "new words"' in message


def test_a_missing_file_fails_and_says_how_to_make_it(golden_dir: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"golden file other\.json is missing"):
        assert_golden("other", NEW, golden_dir)
    assert not (golden_dir / "other.json").exists()


def test_regenerating_rewrites_the_file_and_shows_the_diff(
    golden_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPDATE_GOLDEN", "1")

    with pytest.warns(GoldenFileRewritten) as shown:
        assert_golden("reply", NEW, golden_dir)

    assert (golden_dir / "reply.json").read_text(encoding="utf-8") == dump(NEW)
    [warning] = shown
    assert '-      "text": "old words"' in str(warning.message)
    assert '+      "text": "new words"' in str(warning.message)


def test_regenerating_an_unchanged_file_leaves_it_and_says_nothing(
    golden_dir: Path, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    before = (golden_dir / "reply.json").stat().st_mtime_ns

    assert_golden("reply", OLD, golden_dir)

    assert (golden_dir / "reply.json").stat().st_mtime_ns == before
    assert [w for w in recwarn if w.category is GoldenFileRewritten] == []


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_regenerating_is_refused_under_ci(
    golden_dir: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    monkeypatch.setenv("CI", ci)

    with pytest.raises(pytest.fail.Exception, match="refused under CI=true") as failed:
        assert_golden("reply", NEW, golden_dir)

    assert '+      "text": "new words"' in str(failed.value)
    assert (golden_dir / "reply.json").read_text(encoding="utf-8") == dump(OLD)
