"""Read the manifest.json that CDK Terrain writes next to the stacks, and order the stacks.

Synth reads it to summarize what it wrote; deploy reads it to know where each stack lives, in
which order to run them and which of them may run at the same time (levels). All take it from here.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from engine.errors import EngineError

_HINT = "Synthesize the environment again; it writes out/<env>/terraform/manifest.json."


@dataclass(frozen=True)
class StackEntry:
    name: str
    working_directory: str  # relative to the manifest's directory
    synthesized_path: str  # the stack's cdk.tf.json, relative to the manifest's directory
    dependencies: tuple[str, ...]


def read_manifest(path: Path) -> dict[str, StackEntry]:
    """The stacks of a CDK Terrain manifest.json, validated enough to run Terraform in them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EngineError(f"no Terraform manifest at {path}", _HINT) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EngineError(f"cannot read the Terraform manifest {path}: {exc}", _HINT) from None
    stacks = data.get("stacks") if isinstance(data, dict) else None
    if not isinstance(stacks, dict) or not stacks:
        raise EngineError(f"the Terraform manifest {path} lists no stacks", _HINT)
    # Dependencies are construct paths; stacks sit directly under the app, but map them anyway.
    by_path = {str(s.get("constructPath", name)): name for name, s in stacks.items() if isinstance(s, dict)}
    entries = {}
    for name, raw in stacks.items():
        stack = raw if isinstance(raw, dict) else {}
        working = stack.get("workingDirectory")
        synthesized = stack.get("synthesizedStackPath")
        deps = stack.get("dependencies", [])
        if not isinstance(working, str) or not isinstance(synthesized, str) or not isinstance(deps, list):
            raise EngineError(f"stack {name} in {path} lacks workingDirectory, synthesizedStackPath or "
                              "dependencies", _HINT)
        for relative in (working, synthesized):
            if Path(relative).is_absolute() or ".." in Path(relative).parts:
                raise EngineError(f"stack {name} in {path} points outside the output: {relative}", _HINT)
        entries[name] = StackEntry(name, working, synthesized, tuple(by_path.get(str(d), str(d)) for d in deps))
    return entries


def stack_order(dependencies: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Topological order (dependencies first), ties broken by name.

    Kahn's algorithm with a heap, so the order depends only on the graph, never on the order
    of keys in the file.
    """
    _known(dependencies)
    waiting = {name: set(deps) - {name} for name, deps in dependencies.items()}
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for other, blockers in waiting.items():
            if name in blockers:
                blockers.discard(name)
                if not blockers:
                    heapq.heappush(ready, other)
    if len(order) != len(dependencies):
        _cycle(set(dependencies) - set(order))
    return tuple(order)


def stack_levels(dependencies: Mapping[str, tuple[str, ...]], *, reverse: bool = False) -> tuple[tuple[str, ...], ...]:
    """The stacks grouped into levels that may run at the same time, each level sorted by name.

    A stack's level is 1 + the highest level of its dependencies (1 without any), the lowest
    level that still comes after all of them, so every level is as early as it can be. With
    ``reverse`` (destroy) the roles swap: a stack comes only after every stack depending on it.
    """
    _known(dependencies)
    graph = {name: set(deps) - {name} for name, deps in dependencies.items()}
    if reverse:
        graph = {name: {other for other, deps in graph.items() if name in deps} for name in graph}
    level: dict[str, int] = {}
    remaining = dict(graph)
    while remaining:  # each round settles every stack whose dependencies all have a level
        settled = {name: 1 + max((level[d] for d in deps), default=0)
                   for name, deps in remaining.items() if deps <= level.keys()}
        if not settled:
            _cycle(set(remaining))
        level.update(settled)
        for name in settled:
            del remaining[name]
    grouped: dict[int, list[str]] = {}
    for name, number in level.items():
        grouped.setdefault(number, []).append(name)
    return tuple(tuple(sorted(grouped[number])) for number in sorted(grouped))


def _known(dependencies: Mapping[str, tuple[str, ...]]) -> None:
    for name, deps in dependencies.items():
        unknown = sorted(set(deps) - set(dependencies))
        if unknown:
            raise EngineError(f"stack {name} depends on unknown stack(s) {', '.join(unknown)} in the manifest",
                              _HINT)


def _cycle(stacks: set[str]) -> NoReturn:
    raise EngineError(f"the stacks {', '.join(sorted(stacks))} depend on each other in a cycle",
                      "this is a bug in the synthesized stacks; please report it")


def ordered(entries: Mapping[str, StackEntry]) -> list[StackEntry]:
    return [entries[name] for name in stack_order({n: e.dependencies for n, e in entries.items()})]
