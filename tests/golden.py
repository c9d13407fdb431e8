"""Golden files: expected outputs kept as data under tests/golden/.

Set SUPA_ENGINE_UPDATE_GOLDEN=1 to rewrite them from the current output, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SUPA_ENGINE_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; run with SUPA_ENGINE_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path}; rerun with SUPA_ENGINE_UPDATE_GOLDEN=1 and review"
