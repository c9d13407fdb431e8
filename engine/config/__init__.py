"""The config layer: load YAML with positions, apply overlays, validate into a frozen model.

Import cost matters here: `validate` runs on every editor save, so this package imports only
pydantic and PyYAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.model import Config
from engine.config.overlay import Merged, load_merged
from engine.config.validate import validate


@dataclass(frozen=True)
class Loaded:
    """A validated config and the merged tree it came from (for origins and display)."""

    config: Config
    merged: Merged


def load_config(path: Path) -> Loaded:
    """Load `path`, follow its `extends` chain, merge and validate. Raises ConfigError."""
    merged = load_merged(path)
    return Loaded(config=validate(merged), merged=merged)


__all__ = ["Config", "Loaded", "Merged", "load_config"]
