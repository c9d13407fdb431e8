"""The synth pipeline for one or more configs: load -> resolve -> compile -> check -> write.

Several configs share one process, so the cost of importing CDK Terrain is paid once. Each
environment's output directory is replaced only when its synthesis and every check succeed.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from engine.checks.terraform import check_terraform
from engine.config import load_config
from engine.errors import EngineError
from engine.manifest import ordered, read_manifest
from engine.resolve import Resolved, resolve
from engine.targets.terraform.app import synthesize
from engine.write import replace_directory

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackSummary:
    name: str
    resources: int
    data_sources: int
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class SynthReport:
    """What one environment's synthesis produced (no values, only shapes and places)."""

    config: str
    environment: str
    directory: Path
    stacks: tuple[StackSummary, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "environment": self.environment,
            "directory": str(self.directory),
            "stacks": [
                {"name": s.name, "resources": s.resources, "data_sources": s.data_sources,
                 "depends_on": list(s.depends_on)}
                for s in self.stacks
            ],
        }


class ChecksFailed(EngineError):
    """The compiled output breaks an invariant; nothing was written."""


def synth(configs: Sequence[Path], out: Path, progress: Progress = lambda _: None) -> list[SynthReport]:
    """Synthesize each config into `out/<environment>/`; stops at the first failure."""
    return [synth_one(path, out, progress)[1] for path in configs]


def synth_one(path: Path, out: Path, progress: Progress = lambda _: None) -> tuple[Resolved, SynthReport]:
    """Synthesize one config; also returns its resolved facts for the deploy that follows."""
    resolved = resolve(load_config(path).config)
    environment = resolved.config.project.environment
    target = out / environment
    progress(f"{path}: synthesizing {environment}")
    stacks = replace_directory(target, partial(_build, resolved, progress=progress))
    progress(f"{path}: wrote {target}")
    return resolved, SynthReport(config=str(path), environment=environment, directory=target, stacks=stacks)


def check(config: Path, progress: Progress = lambda _: None) -> tuple[StackSummary, ...]:
    """Synthesize into a scratch directory and run every invariant; writes nothing."""
    resolved = resolve(load_config(config).config)
    with tempfile.TemporaryDirectory(prefix="supa-engine-check-") as scratch:
        return _build(resolved, Path(scratch), progress=progress)


def _build(resolved: Resolved, staging: Path, *, progress: Progress) -> tuple[StackSummary, ...]:
    terraform = staging / "terraform"
    synthesize(resolved, terraform)
    entries = ordered(read_manifest(terraform / "manifest.json"))
    stacks = read_stacks(terraform)
    progress(f"  checking {len(stacks)} stacks")
    findings = check_terraform(stacks)
    if findings:
        lines = "\n".join(f"  {f.rule}: {f.stack}/{f.address}: {f.message}" for f in findings)
        raise ChecksFailed(
            f"{len(findings)} invariant violation(s) in the synthesized Terraform; nothing was written:\n{lines}",
            "this is a gap between the config rules and the stacks; please report it",
        )
    return tuple(
        StackSummary(
            name=entry.name,
            resources=sum(len(v) for v in stacks[entry.name].get("resource", {}).values()),
            data_sources=sum(len(v) for v in stacks[entry.name].get("data", {}).values()),
            depends_on=tuple(sorted(entry.dependencies)),
        )
        for entry in entries
    )


def read_stacks(terraform: Path) -> dict[str, dict[str, Any]]:
    """Each stack's parsed cdk.tf.json, in dependency order."""
    return {entry.name: json.loads((terraform / entry.synthesized_path).read_text())
            for entry in ordered(read_manifest(terraform / "manifest.json"))}
