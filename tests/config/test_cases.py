"""Bad inputs as data: each file under cases/bad/ names the error it must produce.

The first `# expect: <file>:<line>:<col>: <dotted.path>: <message part>` line of a case is the
contract (the path may be empty for errors about the whole file); an optional
`# expect-hint:` line must appear in the hint. Every case must exit 1 through the CLI, print the
location and message, and never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import main

CASES = Path(__file__).parent / "cases" / "bad"
EXPECT = re.compile(rb"^# expect: (?P<location>[^:]+:\d+:\d+): (?P<rest>.+)$", re.MULTILINE)
EXPECT_HINT = re.compile(rb"^# expect-hint: (?P<hint>.+)$", re.MULTILINE)


def _cases() -> list[Path]:
    return sorted(p for p in CASES.glob("*.yaml") if EXPECT.search(p.read_bytes()))


def test_there_are_many_bad_cases() -> None:
    assert len(_cases()) >= 25


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.stem)
def test_bad_case(case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES)
    raw = case.read_bytes()
    expect = EXPECT.search(raw)
    assert expect is not None
    code = main(["validate", case.name])
    captured = capsys.readouterr()
    assert code == 1, captured
    assert "Traceback" not in captured.err
    location = expect["location"].decode()
    path, _, message = expect["rest"].decode().rpartition(": ")
    lines = [line for line in captured.err.splitlines() if line.startswith(f"{location}: {path}")]
    assert lines, f"no error at {location}: {path} in:\n{captured.err}"
    assert any(message in line for line in lines), f"expected {message!r} at {location} in:\n{captured.err}"
    hint = EXPECT_HINT.search(raw)
    if hint:
        assert f"Hint: {hint['hint'].decode()}" in captured.err


def test_oversized_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("project:\n" + "  # padding\n" * 120_000)
    assert main(["validate", str(big)]) == 1
    err = capsys.readouterr().err
    assert "over the 1048576 byte limit" in err
    assert f"{big}:1:1" in err or "big.yaml:1:1" in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "absent.yaml")]) == 1
    assert "no such file" in capsys.readouterr().err
