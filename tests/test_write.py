from __future__ import annotations

from pathlib import Path

import pytest

from engine.write import replace_directory


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
