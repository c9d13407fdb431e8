"""The `supa-engine` command line. Each command parses arguments, calls one library function
and formats its result; `main` is the one place that turns errors into exit codes."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from engine import __version__
from engine.errors import ConfigError, EngineError

EXIT_OK, EXIT_USER, EXIT_BUG, EXIT_INTERRUPT = 0, 1, 3, 130

FileArg = click.Path(path_type=Path, dir_okay=False)
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                      show_default=True, help="Output format; json is for CI.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="supa-engine")
@click.option("--debug", is_flag=True, help="Show the traceback of internal errors.")
def cli(debug: bool) -> None:
    """Compile supabase.yaml into a private, encrypted Supabase platform on AWS."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=FileArg)
@FORMAT
def validate(files: Sequence[Path], fmt: str) -> None:
    """Check configs: every problem with file, line, key and fix. Exit 1 if any is invalid."""
    from engine.config import load_config

    results: list[dict[str, Any]] = []
    for file in files:
        try:
            project = load_config(file).config.project
        except ConfigError as exc:
            results.append({"file": str(file), "valid": False, "problems": [p.as_dict() for p in exc.problems]})
            if fmt == "text":
                click.echo(exc.render(), err=True)
        else:
            summary = f"{project.name}-{project.environment}, {project.tier}, {project.region}"
            results.append({"file": str(file), "valid": True, "environment": project.environment, "problems": []})
            if fmt == "text":
                click.echo(f"ok  {file}  ({summary})")
    if fmt == "json":
        click.echo(json.dumps({"results": results}, indent=2))
    invalid = [r for r in results if not r["valid"]]
    if invalid:
        raise _Quiet(f"{len(invalid)} of {len(results)} config(s) invalid" if fmt == "text" else None)


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("schemas"),
              show_default=True, help="Directory to write the schemas to.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files there are stale.")
def schema(out: Path, check: bool) -> None:
    """Write the editor JSON Schemas (complete config and environment overlay)."""
    from engine.scaffold import stale_schemas, write_schemas

    if check:
        stale = stale_schemas(out)
        if stale:
            raise EngineError(f"stale schema: {', '.join(map(str, stale))}", "run `supa-engine schema`")
        click.echo(f"schemas in {out} are up to date")
        return
    for path in write_schemas(out).files:
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Replace scaffold files that already exist.")
def init(directory: Path, force: bool) -> None:
    """Scaffold supabase.yaml, environments/ and schemas/ in DIRECTORY."""
    from engine.scaffold import scaffold

    for path in scaffold(directory, force=force).files:
        click.echo(f"wrote {path}")
    click.echo(f"next: edit {directory / 'supabase.yaml'}, then "
               f"`supa-engine validate {directory / 'environments' / 'dev.yaml'}`")


@cli.command()
@click.argument("file", type=FileArg)
@click.option("--origin", is_flag=True, help="Annotate each value with the file:line that set it.")
def show(file: Path, origin: bool) -> None:
    """Print the merged config with every default filled in."""
    from engine.config import load_config
    from engine.config.show import render_config

    click.echo(render_config(load_config(file), origin=origin), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=FileArg)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True,
              help="Output root; each environment goes to OUT/<environment>/.")
@FORMAT
def synth(files: Sequence[Path], out: Path, fmt: str) -> None:
    """Compile configs into Terraform stacks, checked and written atomically."""
    from engine.synth import synth as run

    reports = run(files, out, progress=_progress)
    if fmt == "json":
        click.echo(json.dumps({"environments": [r.as_dict() for r in reports]}, indent=2))
        return
    for report in reports:
        click.echo(f"{report.environment}: {report.directory}/terraform")
        for stack in report.stacks:
            after = f" (after {', '.join(stack.depends_on)})" if stack.depends_on else ""
            click.echo(f"  {stack.name:<10} {stack.resources:>4} resources {stack.data_sources:>4} data sources{after}")


@cli.command()
@click.argument("file", type=FileArg)
def check(file: Path) -> None:
    """Synthesize in a scratch directory and run every invariant; writes nothing."""
    from engine.synth import check as run

    stacks = run(file, progress=_progress)
    click.echo(f"{file}: {len(stacks)} stacks pass every invariant")


def _progress(message: str) -> None:
    click.echo(message, err=True)


@cli.group()
def db() -> None:
    """Database tasks."""


@db.command("bootstrap")
@click.option("--dsn", required=True, help="libpq connection string of the database, without a password "
              "(the bootstrap user's password comes from PGPASSWORD). For RDS add sslmode=verify-full.")
@click.option("--connect-timeout", default=10, show_default=True, help="Seconds to wait for the server.")
def db_bootstrap(dsn: str, connect_timeout: int) -> None:
    """Create Supabase's roles, schemas and grants (idempotent; safe to rerun).

    Role passwords are read from SUPA_ENGINE_PASSWORD_<ROLE> variables, for example
    SUPA_ENGINE_PASSWORD_AUTHENTICATOR; a role that does not exist yet needs one.
    """
    from engine.deploy.database import bootstrap_from_environment

    report = bootstrap_from_environment(dsn, os.environ, connect_timeout=connect_timeout)
    for name in report.applied:
        click.echo(f"applied  {name}")
    click.echo(f"{len(report.applied)} migration(s) applied, {len(report.skipped)} already present; "
               f"passwords set for: {', '.join(report.passwords_set) or 'none'}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


class _Quiet(EngineError):
    """A user error whose details were already printed."""

    def __init__(self, summary: str | None) -> None:
        super().__init__(summary or "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and map the outcome to an exit code: 1 user error, 3 bug, 130 interrupt."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="supa-engine", standalone_mode=False)
    except EngineError as exc:
        if exc.message:
            click.echo(("error: " if not isinstance(exc, ConfigError) else "") + exc.render(), err=True)
        return EXIT_USER
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPT
    except click.ClickException as exc:
        exc.show()
        return EXIT_USER
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPT
    except Exception:  # the boundary: anything else is a bug in the engine
        if "--debug" in args:
            traceback.print_exc()
        else:
            click.echo("internal error: this is a bug in supa-engine; rerun with --debug for the traceback",
                       err=True)
        return EXIT_BUG
    return EXIT_OK


def entry_point() -> None:
    # The engine uses no pydantic plugins; looking for them scans the entry points of every
    # installed distribution, which is a third of `validate`'s start-up in a full environment.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    sys.exit(main())
