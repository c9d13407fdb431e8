"""`supa-engine init`: a working starting point in a new directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import FULL_NAME, OVERLAY_NAME, full_schema, overlay_schema, render
from engine.errors import EngineError
from engine.resources import data_path


@dataclass(frozen=True)
class Written:
    files: tuple[Path, ...]


def schema_files(directory: Path) -> dict[Path, str]:
    """The two schemas, rendered, keyed by where they belong under `directory`."""
    return {
        directory / FULL_NAME: render(full_schema()),
        directory / OVERLAY_NAME: render(overlay_schema()),
    }


def write_schemas(directory: Path) -> Written:
    files = schema_files(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return Written(tuple(files))


def stale_schemas(directory: Path) -> list[Path]:
    """Schema files under `directory` that differ from what the model generates."""
    return [p for p, text in schema_files(directory).items()
            if not p.exists() or p.read_text(encoding="utf-8") != text]


def scaffold(directory: Path, *, force: bool = False) -> Written:
    """Write supabase.yaml, environments/{dev,staging,prod}.yaml and schemas/ into `directory`."""
    files: dict[Path, str] = {directory / "supabase.yaml": data_path("examples/supabase.yaml").read_text("utf-8")}
    for example in sorted(data_path("examples/environments").glob("*.yaml")):
        files[directory / "environments" / example.name] = example.read_text("utf-8")
    files.update(schema_files(directory / "schemas"))
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise EngineError(f"{existing[0]} already exists; init never overwrites files",
                          "choose an empty directory, or pass --force to replace the scaffold files")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Written(tuple(files))
