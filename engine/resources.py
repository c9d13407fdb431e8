"""Files the engine ships: the example configs, the published schemas (and later the chart).

In a source checkout they live at the top of the repository; an installed wheel carries
copies under `engine/_data/` (see pyproject.toml), so the engine works from any directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Path of a shipped file or directory such as `schemas` or `examples/supabase.yaml`."""
    installed = _PACKAGE / "_data" / name
    if installed.exists():
        return installed
    source = _PACKAGE.parent / _SOURCE_NAMES.get(name, name)
    if source.exists():
        return source
    raise FileNotFoundError(f"the engine's data file {name!r} is missing; reinstall supa-engine")


# Where the examples sit in a checkout (the wheel gathers them under examples/).
_SOURCE_NAMES = {
    "examples/supabase.yaml": "supabase.yaml",
    "examples/environments": "environments",
}
