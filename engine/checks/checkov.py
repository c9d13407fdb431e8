"""Run checkov (a real, offline scanner) over synthesized stacks or rendered manifests.

One runner for both, used by the tests. Terraform stacks are scanned as sanitized copies and the
skips of `checkov_skips.yaml` are applied afterwards and counted (see `scan_stacks` for why).
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

from engine.checks.findings import Finding
from engine.errors import EngineError

SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")
STACK_FILE = "cdk.tf.json"
MANIFESTS_FILE = "manifests.yaml"
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Skip:
    """A check accepted as not applicable; `resources` (checkov names, globs) limit it, empty = everywhere."""

    check_id: str
    reason: str
    resources: tuple[str, ...] = ()

    def covers(self, finding: Finding) -> bool:
        if finding.rule != self.check_id:
            return False
        return not self.resources or any(fnmatch.fnmatchcase(finding.subject, r) for r in self.resources)


@dataclass(frozen=True)
class CheckovReport:
    """Findings are (check id, checkov resource name, check name and file); `skipped` holds both
    checkov's own skips (Kubernetes annotations) and failures covered by a `Skip`."""

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
        raise EngineError("checkov is not installed", hint=(
            "checkov pins its own boto3, so give it its own environment: python -m venv ~/.checkov && "
            "~/.checkov/bin/pip install 'checkov>=3.3,<4' && ln -s ~/.checkov/bin/checkov ~/.local/bin/"))
    return Path(found)


def scan_stacks(target: Path, skips: Mapping[str, Skip]) -> CheckovReport:
    """Scan every `cdk.tf.json` under `target` (an output directory or one stack directory).

    checkov 3.3's `terraform_json` parser rejects scalars directly under the top-level `terraform`
    block (our `required_version`) and then reports the file as a parsing error with nothing
    checked, so copies without those keys are scanned. Its `--skip-check` cannot be limited to a
    resource there and does not count what it skipped, so every check runs and `skips` are
    applied to the failures: a skipped finding is counted, never silently dropped.
    """
    stacks = sorted(target.rglob(STACK_FILE))
    if not stacks:
        raise EngineError(f"no {STACK_FILE} under {target}")
    with tempfile.TemporaryDirectory(prefix="supa-checkov-") as scratch:
        root = Path(scratch)
        for stack in stacks:
            copy = root / stack.parent.relative_to(target) / STACK_FILE
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(json.dumps(_sanitized(json.loads(stack.read_text(encoding="utf-8")))), encoding="utf-8")
        return _scan(root, "terraform_json", skips)


def scan_manifests(text: str) -> CheckovReport:
    """Scan rendered Kubernetes manifests (multi-document YAML); skips are their own
    `checkov.io/skip*` annotations, which checkov honours and counts itself."""
    with tempfile.TemporaryDirectory(prefix="supa-checkov-") as scratch:
        (Path(scratch) / MANIFESTS_FILE).write_text(text, encoding="utf-8")
        return _scan(Path(scratch), "kubernetes", {})


def _scan(directory: Path, framework: str, skips: Mapping[str, Skip]) -> CheckovReport:
    result = subprocess.run(
        [str(checkov_executable()), "-d", str(directory), "--framework", framework, "-o", "json", "--compact"],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    return _report(result.stdout, result.stderr, skips, framework)


def _sanitized(stack: dict[str, Any]) -> dict[str, Any]:
    terraform = {k: v for k, v in stack.get("terraform", {}).items() if isinstance(v, dict)}
    return {**stack, "terraform": terraform}


def _report(stdout: str, stderr: str, skips: Mapping[str, Skip], framework: str = "terraform_json") -> CheckovReport:
    try:
        parsed = json.loads(stdout)
    except json.JSONDecodeError:
        raise EngineError(f"checkov did not produce a JSON report: {stderr.strip()[-2000:]}") from None
    reports = parsed if isinstance(parsed, list) else [parsed]
    report = next((r for r in reports if r.get("check_type") == framework), None)
    if report is None:
        raise EngineError(f"checkov reported no {framework} results")
    results = report.get("results", {})
    findings = sorted(_finding(check) for check in results.get("failed_checks", []))
    covered = [f for f in findings if any(s.covers(f) for s in skips.values())]
    return CheckovReport(
        passed=len(results.get("passed_checks", [])),
        failed=[f for f in findings if f not in covered],
        skipped=sorted(_finding(check) for check in results.get("skipped_checks", [])) + covered,
        parsing_errors=sorted(str(p) for p in results.get("parsing_errors", [])),
    )


def _finding(check: Mapping[str, Any]) -> Finding:
    return Finding(str(check["check_id"]), str(check.get("resource", "")),
                   f"{check.get('check_name', '')} ({check.get('file_path', '')})")
