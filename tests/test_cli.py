"""The CLI end to end: exit codes, output formats, and the commands of the config layer."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from engine import cli, console
from engine.cli import main
from engine.synth import Stage
from tests.support import ROOT, example

EXAMPLES = [ROOT / "supabase.yaml", *sorted((ROOT / "environments").glob("*.yaml"))]


def test_validate_examples_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == 4 and "acme-prod, production, eu-west-1" in out


def test_validate_json_mixes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: [1\n")
    assert main(["validate", "--format", "json", str(EXAMPLES[0]), str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in report["results"]] == [True, False]
    problem = report["results"][1]["problems"][0]
    assert problem["line"] == 2 and problem["file"].endswith("bad.yaml")


def test_validate_reports_a_base_file_problem_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    base = tmp_path / "supabase.yaml"
    base.write_text(re.sub(r"(?m)^  region: .*$", "  region: mars-1", base.read_text()))
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "supabase.yaml"), str(tmp_path / "environments")]) == 1
    err = capsys.readouterr().err
    assert err.count("'mars-1' is not an AWS region") == 1
    assert "4 of 4 config(s) invalid" in err


def test_show_origin_names_the_overlay(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["show", "--origin", "environments/prod.yaml"]) == 0
    out = capsys.readouterr().out
    assert "  tier: production  # environments/prod.yaml:7" in out
    assert "  environment: prod  # named after environments/prod.yaml" in out
    assert "  region: eu-west-1  # supabase.yaml:10" in out
    assert "  kms_rotation_days: 365  # supabase.yaml" in out
    assert "  zone_names: null  # default" in out


def test_show_prints_loadable_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(example("dev"))]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["network"]["nat"] == "single" and shown["project"]["environment"] == "dev"


def test_schema_write_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schemas"
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: supabase\nversion: 0.1.0\n")
    where = ["--out", str(target), "--chart", str(chart)]
    assert main(["schema", "--check", *where]) == 1
    assert main(["schema", *where]) == 0
    assert (chart / "values.schema.json").is_file()
    assert main(["schema", "--check", *where]) == 0
    for stale in (target / "supabase.schema.json", chart / "values.schema.json"):
        good = stale.read_text()
        stale.write_text("{}")
        assert main(["schema", "--check", *where]) == 1
        assert "stale schema" in capsys.readouterr().err
        stale.write_text(good)
    assert main(["schema", "--out", str(target), "--chart", str(tmp_path / "no-chart")]) == 0
    assert not (tmp_path / "no-chart").exists()


def test_init_scaffolds_a_valid_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "platform"
    assert main(["init", str(target)]) == 0
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [".gitignore", "environments/dev.yaml", "environments/prod.yaml", "environments/staging.yaml",
                     "schemas/environment.schema.json", "schemas/supabase.schema.json", "supabase.yaml"]
    assert main(["validate", *(str(target / f) for f in files if f.endswith(".yaml"))]) == 0
    capsys.readouterr()
    ignore = (target / ".gitignore").read_text()
    assert main(["init", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["init", "--force", str(target)]) == 0
    assert (target / ".gitignore").read_text() == ignore  # lines are added once, never twice


def test_init_gitignore_keeps_lock_files_and_ignores_plans_state_and_terraform_dirs(tmp_path: Path) -> None:
    target = tmp_path / "platform"
    target.mkdir()
    (target / ".gitignore").write_text("node_modules/")  # the user's lines stay, first
    assert main(["init", str(target)]) == 0
    assert (target / ".gitignore").read_text().startswith("node_modules/\n\n# supa-engine")
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    stack = "out/prod/terraform/stacks/data"
    paths = [f"{stack}/.terraform.lock.hcl", f"{stack}/cdk.tf.json", f"{stack}/.terraform/providers/x",
             f"{stack}/data.tfplan", f"{stack}/terraform.tfstate", "out/.prod.new-1a2b/x", "node_modules/x"]
    checked = subprocess.run(["git", "-C", str(target), "check-ignore", "--no-index", *paths],
                             check=True, capture_output=True, text=True)
    assert checked.stdout.split() == paths[2:]


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    assert "Missing argument" in capsys.readouterr().err
    assert main(["synth", "--nope", str(EXAMPLES[0])]) == 2
    assert "No such option" in capsys.readouterr().err
    assert main(["validate", "--format", "yaml", str(EXAMPLES[0])]) == 2


def test_internal_error_exits_3_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("engine.config.load_config", broken)
    assert main(["validate", str(EXAMPLES[0])]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err
    assert main(["--debug", "validate", str(EXAMPLES[0])]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("engine.config.load_config", interrupted)
    assert main(["validate", str(EXAMPLES[0])]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_console_script_runs_as_a_process() -> None:
    result = subprocess.run([sys.executable, "-m", "engine", "validate", str(ROOT / "environments" / "nope.yaml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_validate_imports_no_heavy_dependency() -> None:
    code = ("import sys; from engine.cli import main; main(['validate', %r]); "
            "heavy = [m for m in ('cdktn', 'boto3', 'jsii', 'checkov') if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code % str(EXAMPLES[-1])], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().endswith("[]")
    assert cli.EXIT_USER == 1


@pytest.mark.parametrize(("fmt", "marker"), [("table", "CLIENT"), ("mermaid", "flowchart LR"), ("dot", "digraph")])
def test_graph_formats(fmt: str, marker: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--format", fmt, str(example("prod"))]) == 0
    out = capsys.readouterr().out
    assert marker in out and "kong" in out and "8000" in out


# --- errors and exit codes -------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is when a person runs the command."""

    def isatty(self) -> bool:
        return True


def test_an_unwritable_output_directory_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert main(["synth", "--out", str(a_file / "out"), str(example("dev"))]) == 1
    err = capsys.readouterr().err
    assert "cannot write the output to" in err and "Not a directory" in err
    assert "Hint: choose a writable directory with --out" in err and "internal error" not in err


def test_schema_key_is_accepted_and_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "supabase.yaml"
    base.write_text("$schema: ./schemas/supabase.schema.json\n" + (ROOT / "supabase.yaml").read_text())
    overlay = tmp_path / "dev.yaml"
    overlay.write_text("$schema: ./schemas/environment.schema.json\nextends: supabase.yaml\n")
    assert main(["validate", str(base), str(overlay)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.count("ok  ") == 2
    assert main(["show", "--format", "json", str(overlay)]) == 0
    assert "$schema" not in json.loads(capsys.readouterr().out)["config"]


def test_init_without_a_directory_scaffolds_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "supabase.yaml").is_file() and (tmp_path / "environments" / "dev.yaml").is_file()
    assert "next: edit supabase.yaml" in capsys.readouterr().out


def test_confirm_is_offered_where_a_name_may_be_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """destroy always may; apply for a PostgreSQL major upgrade or a replacing restore; plan never."""
    for action, offered in (("plan", False), ("apply", True), ("destroy", True)):
        assert main([action, "--help"]) == 0
        assert ("--confirm" in capsys.readouterr().out) is offered, action
    assert main(["plan", "--confirm", "prod", str(EXAMPLES[0])]) == 2


def test_readme_documents_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Exit codes"):]
    for code in (cli.EXIT_OK, cli.EXIT_USER, cli.EXIT_USAGE, cli.EXIT_BUG, cli.EXIT_INTERRUPT):
        assert f"\n| {code} |" in table


# --- --format json, results and errors -----------------------------------------------------------


def test_errors_are_json_on_stdout_under_format_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: [1\n")
    assert main(["show", "--format", "json", str(bad)]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["exit_code"] == 1 and error["problems"][0]["line"] == 2 and captured.err == ""
    assert main(["synth", "--format", "json", "--out", str(bad / "x"), str(bad)]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "user"
    assert main(["graph", "--format", "json"]) == 2
    usage = json.loads(capsys.readouterr().out)["error"]
    assert usage["exit_code"] == 2 and usage["kind"] == "usage" and "Missing argument" in usage["message"]


def test_internal_error_is_json_under_format_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("engine.config.load_config", broken)
    assert main(["show", "--format", "json", str(EXAMPLES[0])]) == 3
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "internal"


def test_show_json_with_origins(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["show", "--format", "json", "--origin", "environments/prod.yaml"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["project"]["tier"] == "production"
    assert shown["origins"]["project.tier"] == "environments/prod.yaml:7"


def test_graph_json_lists_the_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--format", "json", str(ROOT / "environments" / "prod.yaml")]) == 0
    flows = json.loads(capsys.readouterr().out)["flows"]
    assert {"client": "load-balancer", "server": "kong", "port": 8000} in [
        {k: f[k] for k in ("client", "server", "port")} for f in flows]


# --- progress and colour ---------------------------------------------------------------------------


def test_stages_show_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with click.Context(cli.cli, obj=console.Output()):
        console.progress(Stage("compiling"))
        console.progress("network: 1 to add, 0 to change, 0 to destroy")
        assert capsys.readouterr().err == "network: 1 to add, 0 to change, 0 to destroy\n"  # reports only
        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        console.progress(Stage("compiling"))
    assert re.fullmatch(r"\[ +\d+\.\ds\] compiling\n", click.unstyle(terminal.getvalue()))


def test_synth_shows_its_stages_with_elapsed_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["synth", "--out", str(tmp_path), str(example("dev"))]) == 0
    stages = [re.sub(r"^\[ *\d+\.\ds\] ", "", click.unstyle(line)) for line in terminal.getvalue().splitlines()]
    assert [s.split()[0] for s in stages] == ["compiling", "rendering", "checking", "wrote"], stages


def test_colour_on_a_terminal_and_never_under_no_color(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.delenv("NO_COLOR", raising=False)
    for no_color, coloured in ((None, True), ("1", False)):
        if no_color:
            monkeypatch.setenv("NO_COLOR", no_color)
        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main(["synth", "--out", str(a_file / "out"), str(example("dev"))]) == 1
        assert ("\x1b[" in terminal.getvalue()) is coloured, terminal.getvalue()


def test_plan_summaries_colour_destroys_and_replacements() -> None:
    destroy = "    - aws_db_instance.main"
    assert console.colour_change(destroy) == click.style(destroy, fg="red", bold=True)
    assert "\x1b[33m" in console.colour_change("  -/+ aws_eks_node_group.main")
    assert console.colour_change("network: 1 to add, 0 to change, 1 to destroy") == (
        "network: 1 to add, 0 to change, 1 to destroy")


def test_shell_completion_works_as_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    assert 'eval "$(_SUPA_ENGINE_COMPLETE=bash_source supa-engine)"' in readme
    env = {**os.environ, "_SUPA_ENGINE_COMPLETE": "bash_complete", "COMP_WORDS": "supa-engine va", "COMP_CWORD": "1"}
    code = "import sys; sys.argv[0] = 'supa-engine'; from engine.cli import entry_point; entry_point()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert "plain,validate" in result.stdout.splitlines(), result


def test_the_example_says_who_sets_the_smtp_password() -> None:
    """`apply` generates every secret except the external ones, which stop it until the user sets them."""
    from engine.catalog import SECRETS

    smtp = next(s for s in SECRETS if s.name == "smtp-password")
    assert smtp.kind == "external"
    example = (ROOT / "supabase.yaml").read_text()
    smtp_section = example[example.index("    smtp:"):example.index("autoscaling:")]
    assert "generated" not in smtp_section and "yours to set" in smtp_section


def test_plan_detailed_exitcode_keeps_2_for_changes_so_a_usage_error_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--no-such-option", "environments/dev.yaml"]) == 2
    assert main(["plan", "--detailed-exitcode", "--no-such-option", "environments/dev.yaml"]) == 1
    assert "No such option '--no-such-option'" in capsys.readouterr().err
    assert main(["apply", "--detailed-exitcode", "environments/dev.yaml"]) == 1  # plan only; usage error
