"""Run checkov (a real, offline scanner) over synthesized stacks and summarise the result.

checkov 3.3's `terraform_json` parser rejects scalars directly under the top-level `terraform`
block (our `required_version`) and then silently reports the file as a parsing error with
nothing checked. So each `cdk.tf.json` is copied to a temporary directory with those scalar
keys removed, and the copies are scanned.

Skips live in one file, `checkov_skips.yaml` (check id -> reason, optionally limited to
resources). checkov's own `--skip-check` cannot be limited to a resource in `terraform_json`
and does not count what it skipped, so every check runs and skips are applied to the failures
afterwards: a skipped finding is counted in `skipped`, never silently dropped.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import EngineError

SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")
STACK_FILE = "cdk.tf.json"
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Skip:
    """A check accepted as not applicable; `resources` (checkov names, globs) limit it, empty = everywhere."""

    check_id: str
    reason: str
    resources: tuple[str, ...] = ()

    def covers(self, finding: Finding) -> bool:
        if finding.check_id != self.check_id:
            return False
        return not self.resources or any(fnmatch.fnmatchcase(finding.resource, r) for r in self.resources)


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    file: str

    def render(self) -> str:
        return f"{self.check_id} {self.resource} ({self.file}): {self.check_name}"


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: list[Finding]
    skipped: list[Finding]
    parsing_errors: list[str]


def load_skips(path: Path = SKIPS_FILE) -> dict[str, Skip]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    skips = {}
    for check_id, entry in raw.items():
        if isinstance(entry, str):
            skips[check_id] = Skip(check_id, entry)
        else:
            skips[check_id] = Skip(check_id, entry["reason"], tuple(entry.get("resources", ())))
    return skips


def checkov_executable() -> Path:
    beside = Path(sys.executable).parent / "checkov"
    if beside.is_file():
        return beside
    found = shutil.which("checkov")
    if found is None:
        raise EngineError("checkov is not installed", hint="install the test extras: pip install 'checkov>=3.3,<4'")
    return Path(found)


def run_checkov(target: Path, skips: Mapping[str, Skip]) -> CheckovReport:
    """Scan every `cdk.tf.json` under `target` (an output directory or one stack directory)."""
    stacks = sorted(target.rglob(STACK_FILE))
    if not stacks:
        raise EngineError(f"no {STACK_FILE} under {target}")
    with tempfile.TemporaryDirectory(prefix="supa-checkov-") as scratch:
        root = Path(scratch)
        for stack in stacks:
            copy = root / stack.parent.relative_to(target) / STACK_FILE
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(json.dumps(_sanitized(json.loads(stack.read_text(encoding="utf-8")))), encoding="utf-8")
        result = subprocess.run(
            [str(checkov_executable()), "-d", str(root), "--framework", "terraform_json", "-o", "json", "--compact"],
            capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        )
    return _report(result.stdout, result.stderr, skips)


def _sanitized(stack: dict[str, Any]) -> dict[str, Any]:
    terraform = {k: v for k, v in stack.get("terraform", {}).items() if isinstance(v, dict)}
    return {**stack, "terraform": terraform}


def _report(stdout: str, stderr: str, skips: Mapping[str, Skip]) -> CheckovReport:
    try:
        parsed = json.loads(stdout)
    except json.JSONDecodeError:
        raise EngineError(f"checkov did not produce a JSON report: {stderr.strip()[-2000:]}") from None
    reports = parsed if isinstance(parsed, list) else [parsed]
    report = next((r for r in reports if r.get("check_type") == "terraform_json"), None)
    if report is None:
        raise EngineError("checkov reported no terraform_json results")
    results = report.get("results", {})
    findings = sorted((_finding(check) for check in results.get("failed_checks", [])),
                      key=lambda f: (f.file, f.check_id, f.resource))
    skipped = [f for f in findings if any(s.covers(f) for s in skips.values())]
    return CheckovReport(
        passed=len(results.get("passed_checks", [])),
        failed=[f for f in findings if f not in skipped],
        skipped=skipped,
        parsing_errors=sorted(str(p) for p in results.get("parsing_errors", [])),
    )


def _finding(check: Mapping[str, Any]) -> Finding:
    return Finding(check_id=str(check["check_id"]), check_name=str(check.get("check_name", "")),
                   resource=str(check.get("resource", "")), file=str(check.get("file_path", "")))
