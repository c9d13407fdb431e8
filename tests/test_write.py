from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.write import dump_yaml, replace_directory, write_text


def _write_tree(root: Path, text: str) -> None:
    (root / "terraform").mkdir(parents=True)
    (root / "terraform" / "main.json").write_text(text)


def test_success_replaces_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "out" / "prod"
    replace_directory(target, lambda d: _write_tree(d, "one"))
    (target / "stale.txt").write_text("from an older synth")
    replace_directory(target, lambda d: _write_tree(d, "two"))
    assert (target / "terraform" / "main.json").read_text() == "two"
    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["prod"]


def test_kept_files_survive_when_their_directory_is_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "out" / "prod"
    replace_directory(target, lambda d: _write_tree(d, "one"))
    (target / "terraform" / "lock.hcl").write_text("pinned")
    (target / "terraform" / "scratch").write_text("not kept")
    replace_directory(target, lambda d: _write_tree(d, "two"), keep=("terraform/*.hcl", "gone/*.hcl"))
    assert (target / "terraform" / "lock.hcl").read_text() == "pinned"
    assert not (target / "terraform" / "scratch").exists()
    (target / "terraform" / "lock.hcl").write_text("old")

    def with_lock(staging: Path) -> None:
        _write_tree(staging, "three")
        (staging / "terraform" / "lock.hcl").write_text("new")

    replace_directory(target, with_lock, keep=("terraform/*.hcl",))
    assert (target / "terraform" / "lock.hcl").read_text() == "new"  # what the build writes wins
    replace_directory(target, lambda d: (d / "other").mkdir(), keep=("terraform/*.hcl",))
    assert not (target / "terraform").exists()  # a stack that is gone takes its lock file along


@pytest.mark.parametrize("failure", [RuntimeError("synthesis failed"), KeyboardInterrupt()])
def test_failure_leaves_previous_output_and_no_debris(tmp_path: Path, failure: BaseException) -> None:
    target = tmp_path / "prod"
    replace_directory(target, lambda d: _write_tree(d, "good"))

    def half_written(staging: Path) -> None:
        _write_tree(staging, "partial")
        raise failure

    with pytest.raises(type(failure)):
        replace_directory(target, half_written)
    assert (target / "terraform" / "main.json").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prod"]


def test_failure_on_first_synth_creates_nothing(tmp_path: Path) -> None:
    def fails(_: Path) -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        replace_directory(tmp_path / "dev", fails)
    assert list(tmp_path.iterdir()) == []


def test_yaml_has_sorted_keys_block_style_and_loads_back() -> None:
    documents = [{"b": [1, {"y": 2, "x": 1}], "a": "text"}, {"kind": "Second"}]
    text = dump_yaml(documents)
    assert text == "a: text\nb:\n- 1\n- x: 1\n  y: 2\n---\nkind: Second\n"
    assert list(yaml.safe_load_all(text)) == documents
    assert dump_yaml([documents[0]]) == yaml.safe_dump(documents[0], sort_keys=True)  # one document, no marker


def test_yaml_width_and_explicit_start_are_the_manifest_convention() -> None:
    long = {"annotation": " ".join(["word"] * 25)}  # 136 characters: folded at either width
    narrow = dump_yaml([long])
    wide = dump_yaml([long, long], width=120, explicit_start=True)
    assert len(narrow.splitlines()[0]) < 90 < len(wide.splitlines()[1]) < 130
    assert wide.startswith("---\n") and wide.count("---\n") == 2
    assert [yaml.safe_load(narrow)] == list(yaml.safe_load_all(wide))[:1]


def test_write_text_creates_the_directory(tmp_path: Path) -> None:
    write_text(tmp_path / "helm" / "values.yaml", "a: 1\n")
    assert (tmp_path / "helm" / "values.yaml").read_bytes() == b"a: 1\n"
