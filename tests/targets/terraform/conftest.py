"""Synthesize the example environments once per session and share the parsed output.

Importing CDK Terrain costs seconds and most of a gigabyte, so every test in this package reads
the same synthesized JSON instead of synthesizing again.
"""

from __future__ import annotations

import pytest

from engine.targets.terraform.app import synthesize
from tests.support import ENVIRONMENTS, Synthesized, load_output, resolved_env


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    root = tmp_path_factory.mktemp("terraform")
    output = {}
    for env in ENVIRONMENTS:
        resolved = resolved_env(env)
        synthesize(resolved, root / env)
        output[env] = load_output(resolved, root / env)
    return output
