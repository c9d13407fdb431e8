"""The `supa-engine` command line. Each command parses arguments, calls one library function
and formats its result; `main` is the one place that turns errors into exit codes."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine import __version__
from engine.errors import ConfigError, EngineError

if TYPE_CHECKING:
    from engine.deploy.plan import Action

EXIT_OK, EXIT_USER, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPT = 0, 1, 2, 3, 130

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
              show_default=True, help="Directory to write the config schemas to.")
@click.option("--chart", type=click.Path(path_type=Path, file_okay=False), default=Path("charts/supabase"),
              show_default=True, help="Chart whose values.schema.json to write too (skipped when absent).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files there are stale.")
def schema(out: Path, chart: Path, check: bool) -> None:
    """Write the generated JSON Schemas: complete config, environment overlay, chart values."""
    from engine.scaffold import stale_schemas, write_schemas

    chart_dir = chart if (chart / "Chart.yaml").is_file() else None
    if check:
        stale = stale_schemas(out, chart_dir)
        if stale:
            raise EngineError(f"stale schema: {', '.join(map(str, stale))}", "run `supa-engine schema`")
        click.echo(f"schemas in {out}{f' and {chart_dir}' if chart_dir else ''} are up to date")
        return
    for path in write_schemas(out, chart_dir).files:
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

    _choose_node()
    reports = run(files, out, progress=_progress)
    if fmt == "json":
        click.echo(json.dumps({"environments": [r.as_dict() for r in reports]}, indent=2))
        return
    for report in reports:
        click.echo(f"{report.environment}: {report.directory}")
        for stack in report.stacks:
            after = f" (after {', '.join(stack.depends_on)})" if stack.depends_on else ""
            click.echo(f"  terraform/{stack.name:<10} {stack.resources:>4} resources {stack.data_sources:>3} data "
                       f"sources{after}")
        click.echo(f"  kubernetes/manifests.yaml {report.kubernetes_objects:>4} objects (values in helm/values.yaml)")


@cli.command()
@click.argument("file", type=FileArg)
def check(file: Path) -> None:
    """Synthesize in a scratch directory and run every invariant; writes nothing."""
    from engine.synth import check as run

    _choose_node()
    built = run(file, progress=_progress)
    click.echo(f"{file}: {len(built.stacks)} stacks and {built.kubernetes_objects} Kubernetes objects pass every "
               "invariant")


@cli.command()
@click.argument("file", type=FileArg)
@click.option("--format", "fmt", type=click.Choice(["table", "mermaid", "dot"]), default="table", show_default=True,
              help="A table for review, Mermaid for Markdown, or Graphviz DOT.")
def graph(file: Path, fmt: str) -> None:
    """Print who may talk to whom, on which port: exactly what the NetworkPolicies allow."""
    from engine.config import load_config
    from engine.graph import as_dot, as_mermaid, as_table, intended_flows
    from engine.resolve import resolve

    flows = intended_flows(resolve(load_config(file).config))
    click.echo({"table": as_table, "mermaid": as_mermaid, "dot": as_dot}[fmt](flows), nl=False)


@cli.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@FORMAT
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when A and B differ, 0 when they do not (like `git diff --exit-code`).")
def diff(a: str, b: str, fmt: str, exit_code: bool) -> None:
    """Show what differs between two configs: merged config, AWS resources, Kubernetes objects.

    A and B are config files, or REV:PATH for a file at a git revision (for example
    main:environments/prod.yaml). With --exit-code, exit status 1 means "they differ", which is not
    an error: nothing is printed to stderr (errors print `error:` there and also exit 1).
    """
    from engine.diff import diff as run
    from engine.diff import render_text

    _choose_node()
    difference = run(a, b, progress=_progress)
    click.echo(json.dumps(difference.as_dict(), indent=2) if fmt == "json" else render_text(difference),
               nl=fmt == "json")
    if exit_code and difference.differ:
        raise _Quiet(None)


@cli.command()
@click.argument("file", type=FileArg)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default="mermaid",
              show_default=True, help="Mermaid for Markdown, Graphviz DOT, or SVG drawn by Graphviz's dot.")
def diagram(file: Path, fmt: str) -> None:
    """Draw the platform: network, load balancer, cluster, database, storage, keys and traffic flows."""
    from engine.config import load_config
    from engine.diagram import as_dot, as_mermaid, as_svg, platform
    from engine.resolve import resolve

    drawing = platform(resolve(load_config(file).config))
    text = as_mermaid(drawing) if fmt == "mermaid" else as_dot(drawing)
    click.echo(as_svg(text) if fmt == "svg" else text, nl=False)


@cli.group()
def upgrade() -> None:
    """Move an environment to the engine's tested bundle of versions."""


@upgrade.command("plan")
@click.argument("file", type=FileArg)
@click.option("--from", "previous", type=FileArg,
              help="Bundle file the environment runs now (default: OUT/<environment>/bundle.json of the last synth).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True,
              help="Output root of the last synth.")
@FORMAT
def upgrade_plan(file: Path, previous: Path | None, out: Path, fmt: str) -> None:
    """Say what an upgrade changes (PostgreSQL, controllers, chart, images), in order, with the risks."""
    from engine.config import load_config
    from engine.resolve import resolve
    from engine.upgrade import plan_upgrade, read_bundle, render_text

    resolved = resolve(load_config(file).config)
    environment = resolved.config.project.environment
    plan = plan_upgrade(read_bundle(previous or out / environment / "bundle.json"), resolved)
    click.echo(json.dumps(plan.as_dict(), indent=2) if fmt == "json" else render_text(plan, environment), nl=False)


def _deploy_command(action: Action, summary: str) -> None:
    @click.argument("file", type=FileArg)
    @click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True,
                  help="Output root the config is synthesized into first.")
    @click.option("--terraform-bin", help="Terraform or OpenTofu binary (default: terraform, then tofu, on PATH).")
    @click.option("--yes", is_flag=True, help="Answer yes to every confirmation (for CI).")
    @click.option("--dry-run", is_flag=True, help="Print the stacks and commands; touch nothing in AWS.")
    @click.option("--confirm", "confirm_name", metavar="ENVIRONMENT",
                  help="Required in production to destroy it, upgrade its PostgreSQL major version or "
                  "replace its database with a restore: the environment's name.")
    @FORMAT
    def command(*, file: Path, out: Path, terraform_bin: str | None, yes: bool, dry_run: bool,
                confirm_name: str | None, fmt: str, detailed_exitcode: bool = False) -> None:
        from engine.deploy.plan import render_text
        from engine.deploy.run import DeployOptions, deploy

        options = DeployOptions(action, out, terraform_bin, yes, dry_run, confirm_name)
        _choose_node()
        report = deploy(file, options, ask=_ask, progress=_progress)
        if fmt == "json":
            click.echo(json.dumps(report.as_dict(), indent=2))
        elif report.run is None:
            click.echo(render_text(report.plan), nl=False)
        else:
            for outcome in report.run.stacks:
                click.echo(outcome.render())
        if report.run is not None and report.run.declined:
            raise EngineError(f"{action} stopped: a confirmation was declined", "nothing after that stack ran")
        if detailed_exitcode and report.run is not None and report.run.has_changes:
            raise _Changes()

    if action == "plan":  # Terraform's convention, for drift checks in CI
        command = click.option("--detailed-exitcode", is_flag=True,
                               help="Exit 2 when any stack has changes (or waits to be planned), 0 when none, "
                               "1 on error.")(command)
    cli.command(name=action, help=summary)(command)


_deploy_command("plan", "Synthesize, then show what Terraform would change in each stack.")
_deploy_command("apply", "Synthesize, bootstrap state and secrets, and apply every stack in order.")
_deploy_command("destroy", "Synthesize, then destroy every stack in reverse order (production needs --confirm).")


@cli.group()
def secrets() -> None:
    """Secrets Manager values of an environment (names and states only, never values)."""


@secrets.command("status")
@click.argument("file", type=FileArg)
def secrets_status(file: Path) -> None:
    """List the environment's secrets and whether each has a value."""
    from engine.deploy.run import status_of_config

    for status in status_of_config(file):
        click.echo(status.render())


def _choose_node() -> None:
    """Point jsii at a supported Node.js before anything imports CDK Terrain."""
    from engine.node import ensure_node

    ensure_node()


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        raise EngineError(f"confirmation needed ({question}) but there is no terminal to ask",
                          "pass --yes to run unattended")
    return click.confirm(question, default=False)


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
    click.echo(f"service_role passes row level security by: {report.service_role_rls}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


class _Changes(Exception):
    """`plan --detailed-exitcode` found changes: exit 2, which is not an error."""


class _Quiet(EngineError):
    """A user error whose details were already printed."""

    def __init__(self, summary: str | None) -> None:
        super().__init__(summary or "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and map the outcome to an exit code: 1 user error, 2 changes (`plan
    --detailed-exitcode`), 3 bug, 130 interrupt."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="supa-engine", standalone_mode=False)
    except _Changes:
        return EXIT_CHANGES
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
