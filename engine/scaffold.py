"""`supa-engine init` and `supa-engine schema`: a starting point in a new directory, and the
generated JSON Schemas (the config's two and the chart's values schema), all rendered alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import FULL_NAME, OVERLAY_NAME, full_schema, overlay_schema, render
from engine.errors import EngineError
from engine.resources import data_path
from engine.targets.values import values_schema

VALUES_SCHEMA = "values.schema.json"
# What must never be committed: saved plans and local state hold values in clear text, and
# `.terraform/` is per machine. Each stack's `.terraform.lock.hcl` is committed (not listed).
GITIGNORE_HEADER = "# supa-engine: never commit these (the stacks' .terraform.lock.hcl files are committed)"
GITIGNORE = (
    "out/**/.terraform/",
    "*.tfplan",
    "*.tfstate",
    "*.tfstate.backup",
    "crash.log",
    "out/.*.new-*/",
    "out/.*.old-*/",
)


@dataclass(frozen=True)
class Written:
    files: tuple[Path, ...]


def schema_files(directory: Path, chart_dir: Path | None = None) -> dict[Path, str]:
    """The config's two schemas under `directory` and, given a chart, its values schema, rendered."""
    files = {
        directory / FULL_NAME: render(full_schema()),
        directory / OVERLAY_NAME: render(overlay_schema()),
    }
    if chart_dir is not None:
        files[chart_dir / VALUES_SCHEMA] = render(values_schema())
    return files


def write_schemas(directory: Path, chart_dir: Path | None = None) -> Written:
    files = schema_files(directory, chart_dir)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Written(tuple(files))


def gitignore(existing: str) -> str:
    """``existing`` (a .gitignore's text, or "") with every line of GITIGNORE it lacks appended."""
    present = {line.strip() for line in existing.splitlines()}
    missing = [line for line in GITIGNORE if line not in present]
    if not missing:
        return existing
    lead = existing if not existing or existing.endswith("\n") else existing + "\n"
    return lead + ("\n" if lead else "") + "\n".join([GITIGNORE_HEADER, *missing]) + "\n"


def stale_schemas(directory: Path, chart_dir: Path | None = None) -> list[Path]:
    """Generated schema files that differ from what the models generate (or are missing)."""
    return [p for p, text in schema_files(directory, chart_dir).items()
            if not p.exists() or p.read_text(encoding="utf-8") != text]


def scaffold(directory: Path, *, force: bool = False) -> Written:
    """Write supabase.yaml, environments/{dev,staging,prod}.yaml, schemas/ and a .gitignore into `directory`."""
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
    # A .gitignore is the user's: lines are only ever added to it, so init works in an existing repo.
    ignore = directory / ".gitignore"
    before = ignore.read_text("utf-8") if ignore.exists() else ""
    after = gitignore(before)
    if after != before:
        ignore.write_text(after, encoding="utf-8")
        return Written((*files, ignore))
    return Written(tuple(files))
