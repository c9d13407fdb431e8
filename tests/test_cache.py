"""The synthesis cache: every input byte is in the key, a touched output is rebuilt, --no-cache forces."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import cache, synth
from engine.cli import main
from engine.config import load_config
from engine.resources import data_path
from tests.support import ROOT, example

DEV = example("dev")


def _flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def _copy_configs(scratch: Path) -> list[Path]:
    shutil.copy(ROOT / "supabase.yaml", scratch / "supabase.yaml")
    shutil.copytree(ROOT / "environments", scratch / "environments")
    return list(load_config(scratch / "environments" / "dev.yaml").merged.paths)


def test_the_key_covers_the_whole_overlay_chain(tmp_path: Path) -> None:
    paths = _copy_configs(tmp_path)
    assert [p.name for p in paths] == ["supabase.yaml", "dev.yaml"]
    assert cache.synth_key(paths) == cache.synth_key(paths)  # stable for the same bytes


@given(which=st.integers(min_value=0, max_value=1), position=st.integers(min_value=0))
def test_any_changed_config_byte_changes_the_key(which: int, position: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        paths = _copy_configs(Path(scratch))
        before = cache.synth_key(paths)
        _flip(paths[which], position)
        assert cache.synth_key(paths) != before


@given(index=st.integers(min_value=0), position=st.integers(min_value=0))
def test_any_changed_chart_byte_changes_the_key(index: int, position: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        chart = Path(scratch) / "chart"
        shutil.copytree(data_path("charts/supabase"), chart, ignore=shutil.ignore_patterns("__pycache__"))
        paths = _copy_configs(Path(scratch))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cache, "data_path", lambda _name: chart)
            before = cache.synth_key(paths)
            files = sorted(p for p in chart.rglob("*") if p.is_file() and p.stat().st_size)
            _flip(files[index % len(files)], position)
            assert cache.synth_key(paths) != before


@given(distribution=st.sampled_from(cache.PINNED), version=st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True))
def test_a_changed_dependency_version_changes_the_key(distribution: str, version: str) -> None:
    paths = list(load_config(DEV).merged.paths)
    before = cache.synth_key(paths)
    real = cache._version
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "_version", lambda name: f"{real(name)}+{version}" if name == distribution else real(name))
        assert cache.synth_key(paths) != before


def test_the_engine_version_and_source_are_in_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = list(load_config(DEV).merged.paths)
    before = cache.synth_key(paths)
    monkeypatch.setattr(cache, "__version__", "999.0.0")
    assert cache.synth_key(paths) != before
    with tempfile.TemporaryDirectory() as scratch:
        engine = Path(scratch) / "engine"
        shutil.copytree(cache._ENGINE, engine, ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setattr(cache, "_ENGINE", engine)
        copied = cache.synth_key(paths)
        _flip(engine / "resolve.py", 100)
        assert cache.synth_key(paths) != copied


def _stamped(directory: Path) -> dict[str, object]:
    (directory / "terraform" / "stacks" / "network").mkdir(parents=True)
    (directory / "terraform" / "stacks" / "network" / "cdk.tf.json").write_text('{"resource": {}}\n')
    (directory / "helm").mkdir()
    (directory / "helm" / "values.yaml").write_text("a: 1\n")
    summary: dict[str, object] = {"stacks": [], "kubernetes_objects": 0}
    cache.write_stamp(directory, "k1", summary)
    return summary


def test_an_intact_output_is_reusable_only_under_its_own_key(tmp_path: Path) -> None:
    summary = _stamped(tmp_path)
    assert cache.reusable(tmp_path, "k1") == summary
    assert cache.reusable(tmp_path, "k2") is None
    assert cache.reusable(tmp_path / "missing", "k1") is None


@pytest.mark.parametrize("touch", ["edit", "append", "delete", "add", "corrupt stamp"])
def test_a_touched_output_is_not_reusable(tmp_path: Path, touch: str) -> None:
    _stamped(tmp_path)
    stack = tmp_path / "terraform" / "stacks" / "network" / "cdk.tf.json"
    if touch == "edit":
        _flip(stack, 3)
    elif touch == "append":
        stack.write_text(stack.read_text() + " ")
    elif touch == "delete":
        (tmp_path / "helm" / "values.yaml").unlink()
    elif touch == "add":
        (stack.parent / "extra.tf.json").write_text("{}")
    else:
        (tmp_path / cache.STAMP).write_text("{not json")
    assert cache.reusable(tmp_path, "k1") is None


def test_terraform_working_files_leave_the_output_reusable(tmp_path: Path) -> None:
    _stamped(tmp_path)
    stack = tmp_path / "terraform" / "stacks" / "network"
    (stack / ".terraform" / "providers").mkdir(parents=True)
    (stack / ".terraform" / "providers" / "binary").write_bytes(b"\0" * 64)
    (stack / ".terraform.lock.hcl").write_text("# lock\n")
    (stack / "network.tfplan").write_bytes(b"plan")
    assert cache.reusable(tmp_path, "k1") is not None



@pytest.mark.slow
def test_no_change_reuses_and_hand_edits_or_no_cache_rebuild(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    def run(*extra: str) -> bool:
        assert main(["synth", "--format", "json", "--out", str(tmp_path), *extra, str(DEV)]) == 0
        (report,) = json.loads(capsys.readouterr().out)["environments"]
        return bool(report["cached"])

    assert not run()
    values = tmp_path / "dev" / "helm" / "values.yaml"
    original = values.read_bytes()
    assert run()
    assert main(["check", "--out", str(tmp_path), str(DEV)]) == 0
    assert "unchanged since the last synth" in capsys.readouterr().err
    values.write_bytes(original.replace(b"supabase", b"supabasf", 1))
    assert not run()  # the hand edit is synthesized away
    assert values.read_bytes() == original
    assert run()
    assert not run("--no-cache")
    assert main(["check", "--no-cache", "--out", str(tmp_path), str(DEV)]) == 0
    assert "unchanged since the last synth" not in capsys.readouterr().err
    overlay = tmp_path / "dev-copy.yaml"
    overlay.write_text(f"extends: {DEV}\nproject:\n  environment: dev\n")
    assert main(["synth", "--out", str(tmp_path), str(overlay)]) == 0
    assert "reusing" not in capsys.readouterr().err  # another chain, another key


@pytest.mark.slow
def test_a_cached_deploy_dry_run_reuses_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synth.synth([DEV], tmp_path)
    assert main(["plan", "--dry-run", "--out", str(tmp_path), str(DEV)]) == 0
    assert "reusing" in capsys.readouterr().err
    assert main(["plan", "--dry-run", "--no-cache", "--out", str(tmp_path), str(DEV)]) == 0
    assert "reusing" not in capsys.readouterr().err
