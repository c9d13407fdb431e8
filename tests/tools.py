"""What a test does when a tool it needs (PostgreSQL, terraform, npm) is not installed.

On a laptop it skips and says what to install; CI sets SUPA_ENGINE_REQUIRE_TOOLS=1 (`.ci/run`),
which turns the same situation into a failure, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_TOOLS = "SUPA_ENGINE_REQUIRE_TOOLS"


def tool_missing(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it when tools are required."""
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(f"{reason} ({REQUIRE_TOOLS}=1: tool-dependent tests are mandatory)", pytrace=False)
    pytest.skip(f"{reason} (set {REQUIRE_TOOLS}=1 to make this a failure, as CI does)")
