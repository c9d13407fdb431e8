"""The Terraform (or OpenTofu) binary: finding it, checking its version, running it.

A child runs in its own process group, so Ctrl-C reaches only the engine, which then stops
Terraform gracefully (it must release its state lock) instead of killing it mid-write. Several
stacks run at once from worker threads; Ctrl-C reaches the main thread only, which stops them
all through :func:`interrupt_running`.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.errors import EngineError

MIN_VERSION = (1, 10, 0)  # S3 native state locking (use_lockfile)
INSTALL_HINT = (
    "Install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) or OpenTofu >= 1.10 "
    "(https://opentofu.org/docs/intro/install/), or pass --terraform-bin PATH."
)
# Terraform's switches for non-interactive use: no prompts, no "run terraform apply next" advice.
AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    """Runs one command in ``cwd`` to completion; must not raise on a non-zero exit.

    ``quiet`` commands (``version -json``, ``show -json``) produce data for the engine, not
    output for the user.
    """

    def __call__(self, argv: Sequence[str], cwd: Path, *, quiet: bool = False) -> Result: ...


# --- the binary ----------------------------------------------------------------------------------


def find_terraform(explicit: str | None = None, *, path: str | None = None) -> str:
    """The binary to run: ``explicit`` (``--terraform-bin``), else ``terraform``, else ``tofu`` on PATH.

    ``path`` replaces ``$PATH`` for the search (tests).
    """
    if explicit:
        found = shutil.which(explicit, path=path) if os.sep not in explicit else explicit
        if found is None or not os.access(found, os.X_OK) or not Path(found).is_file():
            raise EngineError(f"--terraform-bin {explicit} is not an executable file", hint=INSTALL_HINT)
        return found
    for name in ("terraform", "tofu"):
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    raise EngineError("neither terraform nor tofu was found on PATH", hint=INSTALL_HINT)


def check_version(terraform_bin: str, runner: Runner, cwd: Path) -> str:
    """The binary's version from ``version -json``; an EngineError if it is older than 1.10."""
    result = runner([terraform_bin, "version", "-json"], cwd, quiet=True)
    try:
        version = str(json.loads(result.stdout)["terraform_version"])  # OpenTofu uses the same key
    except (ValueError, KeyError, TypeError):
        raise EngineError(
            f"cannot read the version of {terraform_bin} (`version -json` exited {result.returncode}): "
            f"{tail_lines(result.stderr or result.stdout, 3)}",
            hint=INSTALL_HINT,
        ) from None
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None or tuple(int(part) for part in match.groups()) < MIN_VERSION:
        raise EngineError(
            f"{terraform_bin} is version {version}; the engine needs 1.10 or newer (S3 state locking "
            "with use_lockfile)",
            hint=INSTALL_HINT,
        )
    return version


def with_plugin_cache(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with a provider plugin cache, unless the user chose one (``TF_PLUGIN_CACHE_DIR``).

    Synthesis replaces each stack's ``.terraform/``; with the cache ``init`` links the providers
    from there instead of downloading them again (the kept lock file pins their checksums).
    """
    if environ.get("TF_PLUGIN_CACHE_DIR"):
        return dict(environ)
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = base / "supa-engine" / "terraform-plugins"
    cache.mkdir(parents=True, exist_ok=True)  # Terraform ignores a cache directory that does not exist
    return {**environ, "TF_PLUGIN_CACHE_DIR": str(cache)}


# --- running a command -----------------------------------------------------------------------------


@dataclass
class SubprocessRunner:
    """Run a command as a child in its own process group; capture stdout and stderr.

    Safe to call from several threads at once: each call keeps its own state, and ``output``
    gets whole lines only (it must be thread-safe itself). ``output`` receives stdout line by
    line as it arrives (the CLI echoes it, so a 15 minute
    EKS apply is not silent); with ``prefix`` each line starts with ``[stack]``, the name of the
    working directory. ``grace_seconds`` is how long an interrupted Terraform gets to
    stop cleanly (it releases the state lock) before it is killed.
    """

    output: Callable[[str], None] | None = None
    prefix: bool = False
    env: Mapping[str, str] | None = None
    grace_seconds: float = 30.0

    def __call__(self, argv: Sequence[str], cwd: Path, *, quiet: bool = False) -> Result:
        env = {**(os.environ if self.env is None else self.env), **AUTOMATION_ENV}
        try:
            child = subprocess.Popen(
                list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
            )
        except OSError as exc:
            raise EngineError(f"cannot run {argv[0]} in {cwd}: {exc}", hint=INSTALL_HINT) from None
        stderr: list[str] = []
        assert child.stdout is not None and child.stderr is not None  # both are pipes
        drain = threading.Thread(target=lambda: stderr.extend(child.stderr or ()), daemon=True)
        drain.start()
        stdout: list[str] = []
        label = f"[{cwd.name}] " if self.prefix else ""
        with _RUNNING_LOCK:
            _RUNNING[child] = self.grace_seconds
        try:
            for line in child.stdout:
                stdout.append(line)
                if self.output is not None and not quiet:
                    self.output(label + line.rstrip("\n"))
            child.wait()
        except BaseException:  # KeyboardInterrupt above all: never leave Terraform running
            self._stop(child)
            drain.join(timeout=1)
            _close(child)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(child, None)
        drain.join()
        _close(child)
        return Result(child.returncode, "".join(stdout), "".join(stderr))

    def _stop(self, child: subprocess.Popen[str]) -> None:
        """SIGINT to the child's group (Terraform's graceful stop), then SIGKILL after the grace.

        stdout keeps being drained meanwhile, so Terraform's shutdown messages cannot block on a
        full pipe.
        """
        drain = threading.Thread(target=lambda: collections.deque(child.stdout or (), maxlen=0), daemon=True)
        drain.start()
        try:
            os.killpg(child.pid, signal.SIGINT)
            child.wait(timeout=self.grace_seconds)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # a second Ctrl-C means now
            _kill_group(child)
        except ProcessLookupError:
            pass
        _kill_group(child)  # leftovers of the group (provider plugins) after Terraform exited
        child.wait()
        drain.join(timeout=1)


# Children started by any SubprocessRunner and still running, with their grace seconds.
_RUNNING: dict[subprocess.Popen[str], float] = {}
_RUNNING_LOCK = threading.Lock()


def interrupt_running() -> int:
    """Stop every running child as Ctrl-C stops one: SIGINT to its group, SIGKILL after its grace.

    For the main thread after Ctrl-C while worker threads run Terraform: their read loops end
    when the children exit. A second Ctrl-C kills what is left at once. Returns how many there were.
    """
    with _RUNNING_LOCK:
        children = dict(_RUNNING)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGINT)
    started = time.monotonic()
    try:
        for child, grace in children.items():
            try:
                child.wait(timeout=max(0.0, started + grace - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(child)
    finally:  # the grace is over, or a second Ctrl-C came: leftovers (provider plugins) go now
        for child in children:
            _kill_group(child)
    return len(children)


def _close(child: subprocess.Popen[str]) -> None:
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


def _kill_group(child: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


def tail_lines(text: str, lines: int) -> str:
    """The last ``lines`` non-blank lines of ``text``, indented, to quote in an error."""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"  {line}" for line in kept) or "  (no output)"
