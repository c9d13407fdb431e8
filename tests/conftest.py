"""Shared test set-up: hypothesis profiles, and the Node.js that CDK Terrain runs on.

`dev` (the default) keeps the suite fast while editing; CI selects the thorough `ci` profile
with HYPOTHESIS_PROFILE=ci.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from engine.node import ensure_node

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    # What the CLI does before synthesis; tests that call the compilers directly need it too.
    ensure_node()
