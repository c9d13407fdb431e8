"""The synth pipeline: load -> resolve -> (cache) -> compile -> check -> write, for one config or several.

Several configs share one process, so CDK Terrain's import is paid once; an environment's
output is replaced only when every check passes. An unchanged environment (see engine.cache)
keeps its output and never imports CDK Terrain at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.cache import reusable, synth_key, write_stamp
from engine.config import load_config
from engine.resolve import Resolved, resolve
from engine.write import replace_directory

Progress = Callable[[str], None]


class Stage(str):
    """A progress note about a step of synthesis (compile, render, check, write): worth seeing
    while waiting at a terminal, noise in a log, unlike the deploy's reports."""

    __slots__ = ()


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    resources: int
    data_sources: int
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class Built:
    """What one build compiled and checked: the stacks in order and the Kubernetes objects."""

    stacks: tuple[SynthesizedStack, ...]
    kubernetes_objects: int


@dataclass(frozen=True)
class SynthReport:
    """What one environment's synthesis produced (no values, only shapes and places)."""

    config: str
    environment: str
    directory: Path
    stacks: tuple[SynthesizedStack, ...]
    kubernetes_objects: int
    cached: bool = False  # the output on disk was intact and up to date, so it was reused

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "environment": self.environment,
            "directory": str(self.directory),
            "cached": self.cached,
            "kubernetes_objects": self.kubernetes_objects,
            "stacks": [
                {"name": s.name, "resources": s.resources, "data_sources": s.data_sources,
                 "depends_on": list(s.depends_on)}
                for s in self.stacks
            ],
        }


def synth(configs: Sequence[Path], out: Path, progress: Progress = lambda _: None, *,
          cache: bool = True) -> list[SynthReport]:
    """Synthesize each config into `out/<environment>/`; stops at the first failure."""
    return [synth_one(path, out, progress, cache=cache)[1] for path in configs]


# Terraform's provider lock files survive re-synthesis: users commit them, and `init` then installs
# exactly the providers (and checksums) that were reviewed. `.terraform/` does not: its backend
# settings must follow the synthesized ones (providers come from the plugin cache instead).
KEPT = ("terraform/stacks/*/.terraform.lock.hcl",)


def synth_one(path: Path, out: Path, progress: Progress = lambda _: None, *,
              cache: bool = True) -> tuple[Resolved, SynthReport]:
    """Synthesize one config; also returns its resolved facts for the deploy that follows.

    With `cache`, an intact output of the same inputs is reused; without, it is rebuilt. Either
    way the written output is stamped, so the next run can reuse it.
    """
    loaded = load_config(path)
    resolved = resolve(loaded.config)
    environment = resolved.config.project.environment
    target = out / environment
    key = synth_key(loaded.merged.paths)
    built = _cached(target, key) if cache else None
    if built is not None:
        progress(f"{path}: {environment} unchanged since the last synth; reusing {target} (--no-cache rebuilds)")
        return resolved, SynthReport(str(path), environment, target, built.stacks, built.kubernetes_objects, True)
    # Imported here, not at the top: CDK Terrain and the Helm engine cost seconds, and a cache
    # hit, `validate` and the light install (no deploy extra) must not pay for them.
    from engine.build import build  # noqa: PLC0415

    def build_and_stamp(staging: Path) -> Built:
        built = build(resolved, staging, progress=progress)
        write_stamp(staging, key, asdict(built))
        return built

    built = replace_directory(target, build_and_stamp, keep=KEPT)
    progress(Stage(f"wrote {target}"))
    return resolved, SynthReport(str(path), environment, target, built.stacks, built.kubernetes_objects)


def check(config: Path, progress: Progress = lambda _: None, *, out: Path | None = None,
          cache: bool = True) -> Built:
    """Run every invariant over the config's output; writes nothing.

    Synth writes only output that passed every check, so an intact, up-to-date `out/<env>/`
    (see engine.cache) has passed them; otherwise the config is built in a scratch directory.
    """
    loaded = load_config(config)
    resolved = resolve(loaded.config)
    if cache and out is not None:
        built = _cached(out / resolved.config.project.environment, synth_key(loaded.merged.paths))
        if built is not None:
            progress(f"{config}: unchanged since the last synth into {out}; its checks passed then")
            return built
    from engine.build import build  # noqa: PLC0415  (heavy; see synth_one)

    with tempfile.TemporaryDirectory(prefix="supa-engine-check-") as scratch:
        return build(resolved, Path(scratch), progress=progress)


def _cached(target: Path, key: str) -> Built | None:
    summary = reusable(target, key)
    return None if summary is None else _built_from(summary)


def _built_from(summary: Mapping[str, Any]) -> Built | None:
    """The stamped summary back as a Built; None (so a rebuild) if the stamp is not of this shape."""
    try:
        stacks = tuple(
            SynthesizedStack(str(s["name"]), int(s["resources"]), int(s["data_sources"]),
                             tuple(str(d) for d in s["depends_on"]))
            for s in summary["stacks"]
        )
        return Built(stacks, int(summary["kubernetes_objects"]))
    except (KeyError, TypeError, ValueError):
        return None
