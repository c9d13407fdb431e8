"""checkov (offline) finds nothing in the example environments beyond the documented skips."""

from __future__ import annotations

import pytest

from engine.checks.checkov import load_skips, scan_stacks
from tests.support import ENVIRONMENTS, Synthesized


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_failed_checks(synthesized: dict[str, Synthesized], env: str) -> None:
    report = scan_stacks(synthesized[env].outdir, load_skips())
    print(f"{env}: passed={report.passed} failed={len(report.failed)} skipped={len(report.skipped)}")
    assert report.parsing_errors == []
    assert report.passed > 300  # a run that parsed nothing would pass vacuously
    assert [f.render() for f in report.failed] == []
