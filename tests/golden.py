"""Golden files: a whole payload compared with ``tests/golden/blocks/<name>.json``.

``UPDATE_GOLDEN=1`` rewrites the files that differ and shows each diff (as a warning, which
pytest prints in its summary whatever the capture mode), so that nobody accepts a change
without reading it. Under ``CI=true`` regenerating is refused: CI checks, it never accepts.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "blocks"


class GoldenFileRewritten(UserWarning):
    """A golden file was regenerated; the message holds its diff."""


def dump(payload: dict[str, Any]) -> str:
    """The payload as a golden file holds it: indented, non-ASCII kept readable."""
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def assert_golden(name: str, payload: dict[str, Any], directory: Path = GOLDEN_DIR) -> None:
    """Fail unless ``payload`` equals the golden file ``name``; show the diff when it doesn't."""
    path = directory / f"{name}.json"
    actual = dump(payload)
    expected = path.read_text(encoding="utf-8") if path.exists() else None
    if expected is not None and json.loads(expected) == payload:
        return
    diff = _diff(expected or "", actual, path.name)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(f"UPDATE_GOLDEN=1 is refused under CI=true: {path.name} differs:\n{diff}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        warnings.warn(
            f"golden file {path.name} rewritten; read this diff before committing it:\n{diff}",
            GoldenFileRewritten,
            stacklevel=2,
        )
        return
    if expected is None:
        pytest.fail(
            f"golden file {path.name} is missing: run with UPDATE_GOLDEN=1, then read the "
            f"file before committing it. It would be:\n{actual}"
        )
    pytest.fail(f"payload differs from {path.name} (UPDATE_GOLDEN=1 to accept):\n{diff}")


def _diff(expected: str, actual: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"golden/{name}",
            tofile="rendered",
        )
    )
