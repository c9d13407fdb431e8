"""The stand-in terraform (`stand_in/terraform`, NOT Terraform) and a fixture that records its calls."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

STAND_IN = Path(__file__).resolve().parent / "stand_in" / "terraform"

__all__ = ["STAND_IN", "StandIn", "ctrl_c_when", "stand_in"]


@dataclass
class StandIn:
    """The stand-in terraform and what it recorded."""

    binary: str
    log: Path
    monkeypatch: pytest.MonkeyPatch
    progress: list[str] = field(default_factory=list)

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[tuple[str, str]]:
        """(stack, subcommand) of every invocation that is not an event line."""
        return [(c["stack"], c["argv"][0]) for c in self.calls() if "event" not in c and c["argv"][0] != "version"]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [c for c in self.calls() if c.get("event") == event]

    def set(self, **variables: str) -> None:
        for key, value in variables.items():
            self.monkeypatch.setenv(f"STAND_IN_TF_{key.upper()}", value)


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    log = tmp_path / "stand-in-calls.jsonl"
    monkeypatch.setenv("STAND_IN_TF_LOG", str(log))
    for name in ("VERSION", "CHANGES", "FAIL", "LOCKED", "HANG", "NO_STATE", "TOGETHER", "TOGETHER_SECONDS", "SLOW",
                 "LINES"):
        monkeypatch.delenv(f"STAND_IN_TF_{name}", raising=False)
    # `#!/usr/bin/env python3` finds this interpreter first: no shim start-up cost per call.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return StandIn(str(STAND_IN), log, monkeypatch)




@contextmanager
def ctrl_c_when(ready: Callable[[], bool]) -> Iterator[None]:
    """Deliver SIGINT to the main thread, as Ctrl-C does, once `ready()` holds (giving up after 20 s)."""
    done = threading.Event()
    main = threading.main_thread().ident
    assert main is not None

    def watch() -> None:
        deadline = time.monotonic() + 20
        while not done.is_set() and time.monotonic() < deadline:
            if ready():
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
