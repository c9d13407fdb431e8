"""The CDK Terrain edge: build one App per environment and synthesize its stacks.

This is the only place that creates an `App`. CDK Terrain runs on a Node.js process behind
jsii, which the edge chooses first (`engine.node.ensure_node`); the stack modules (which import
`cdktn` at their top) are imported inside `synthesize` so that importing this module stays cheap.

Output layout (written by `app.synth()`): `<outdir>/manifest.json` and
`<outdir>/stacks/<stack>/cdk.tf.json`. Synthesis is deterministic: construct ids are fixed
strings derived from the config, so the same config gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import EngineError
from engine.resolve import Resolved

TARGET_VERSIONS = {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"}  # S3 native locking needs 1.10


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
    # Imported here: the first cdktn import starts the Node.js process (chosen by the edge).
    from cdktn import App  # noqa: PLC0415

    from engine.targets.terraform.stacks import add_stacks  # noqa: PLC0415

    app = App(outdir=str(outdir), context={"targetVersions": dict(TARGET_VERSIONS)})
    add_stacks(app, resolved)
    app.synth()
