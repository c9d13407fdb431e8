"""Print the merged, defaulted config as YAML, optionally with where each value came from."""

from __future__ import annotations

import json
import re
from typing import Any

from engine.config import Loaded
from engine.config.load import Path_, dotted, reads_back_as_string
from engine.config.model.auth import callback_url

_PLAIN = re.compile(r"[A-Za-z0-9_./@+$][A-Za-z0-9_./:@+$=-]*")


def render_config(loaded: Loaded, *, origin: bool = False) -> str:
    """The config as YAML in model order; with `origin`, each value says which file:line set it.

    Loading the output again yields the same config: it is written for the engine's own loader.
    """
    data = loaded.config.model_dump(mode="json")
    lines: list[str] = []
    _emit(data, (), 0, lines, _origins(loaded) if origin else None)
    supabase = loaded.config.supabase
    if supabase.auth.providers:
        # Derived, not configurable: a comment, so the output still loads back to the same config.
        lines.append(f"# sign-in callback URL (register it with each provider): {callback_url(supabase.domain)}")
    return "\n".join(lines) + "\n"


def origins_of(loaded: Loaded) -> dict[str, str]:
    """Where each value set by a file came from, by dotted key (`show --origin --format json`)."""
    return {dotted(path): where for path, where in sorted(_origins(loaded).items(), key=lambda item: dotted(item[0]))}


def _origins(loaded: Loaded) -> dict[Path_, str]:
    merged = loaded.merged
    origins = {path: f"{loc.file}:{loc.line}" for path, loc in merged.origins.items()}
    origins.update(dict.fromkeys(merged.derived, f"named after {merged.entry}"))
    return origins


def _emit(value: Any, path: Path_, indent: int, lines: list[str], origins: dict[Path_, str] | None) -> None:
    pad = " " * indent
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        child = (*path, key)
        head = f"{pad}{_scalar(key)}:" if isinstance(value, dict) else f"{pad}-"
        if isinstance(item, dict | list) and item:
            lines.append(head + _origin(origins, child))
            if isinstance(value, list) and isinstance(item, dict):
                # a mapping inside a list starts on the dash line, YAML's usual layout
                nested: list[str] = []
                _emit(item, child, indent + 2, nested, origins)
                lines[-1] = f"{pad}- {nested[0].lstrip()}"
                lines.extend(nested[1:])
            else:
                _emit(item, child, indent + 2, lines, origins)
        else:
            lines.append(f"{head} {_scalar(item)}{_origin(origins, child)}")


def _origin(origins: dict[Path_, str] | None, path: Path_) -> str:
    if origins is None:
        return ""
    return f"  # {origins.get(path, 'default')}"


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and reads_back_as_string(value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value)
