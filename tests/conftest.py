"""Shared test set-up: hypothesis profiles, the Node.js that CDK Terrain runs on, and `slow` marks.

`dev` (the default) keeps the suite fast while editing; CI selects the thorough `ci` profile
with HYPOTHESIS_PROFILE=ci. `pytest -m "not slow"` is the quick loop (README, Development).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from engine.node import ensure_node

# A test that uses one of these fixtures, directly or through another fixture, is marked `slow`:
# each synthesizes with CDK Terrain, starts PostgreSQL or starts moto's server. Tests that do
# expensive work without a fixture (checkov, the connectivity analyser, synthesis through the
# CLI) carry an explicit `@pytest.mark.slow`.
SLOW_FIXTURES = ("synthesized", "postgres_server", "moto_endpoint")

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    # What the CLI does before synthesis; tests that call the compilers directly need it too.
    ensure_node()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in SLOW_FIXTURES for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
