"""Write an environment's output directory atomically.

Everything is built in a hidden sibling directory; only when the build (synthesis and every
check) succeeds does it replace the previous output. A failure, a check that refuses the
output or Ctrl-C leaves the previous output exactly as it was and no partial files behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def replace_directory(target: Path, build: Callable[[Path], T]) -> T:
    """Run `build(staging)` and move `staging` to `target`, replacing it; nothing changes on error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        result = build(staging)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _swap(staging: Path, target: Path) -> None:
    """Two renames on one file system: the old output is set aside, then the new one takes its place."""
    if not target.exists():
        os.rename(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, retired / "previous")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired / "previous", target)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)
