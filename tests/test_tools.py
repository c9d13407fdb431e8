"""Without PostgreSQL the database tests skip with what to install; under CI's flag they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ONE_DATABASE_TEST = "tests/deploy/test_database.py::test_first_run_applies_everything_second_run_changes_nothing"


def _pytest_without_postgres(tmp_path: Path, *, required: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPA_ENGINE_PG_BIN": str(tmp_path / "no-postgres-here")}
    env.pop("SUPA_ENGINE_REQUIRE_TOOLS", None)
    if required:
        env["SUPA_ENGINE_REQUIRE_TOOLS"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsE", "-q", ONE_DATABASE_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("required", [False, True], ids=["laptop", "ci"])
def test_database_tests_without_postgres(tmp_path: Path, required: bool) -> None:
    result = _pytest_without_postgres(tmp_path, required=required)
    assert "apt-get install postgresql-15" in result.stdout, result.stdout
    if required:
        assert result.returncode != 0 and "1 error" in result.stdout, result.stdout
    else:
        assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout
