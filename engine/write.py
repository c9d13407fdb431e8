"""Write the synthesized output: text and YAML in one convention, the directory atomically.

A failed build, a refused check or Ctrl-C must leave the previous output exactly as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from engine.errors import EngineError

T = TypeVar("T")


def dump_yaml(documents: Iterable[Any], *, width: int = 80, explicit_start: bool = False) -> str:
    """The documents as YAML: block style and sorted keys, so the same data gives the same bytes.

    `width` and `explicit_start` are there for the rendered manifests, published at width 120
    with a `---` before every document; one convention for all would change published output.
    """
    return yaml.safe_dump_all(list(documents), sort_keys=True, default_flow_style=False, width=width,
                              explicit_start=explicit_start)


# libyaml's loader parses the rendered manifests ten times faster than the pure-Python one, to
# the same objects. Only for reading: libyaml's emitter lays out some documents differently, so
# dump_yaml keeps the pure-Python dumper and the published bytes.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_all(text: str) -> list[Any]:
    """Every document of a YAML stream, parsed safely."""
    return list(yaml.load_all(text, Loader=_LOADER))


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text at `path`, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def replace_directory(target: Path, build: Callable[[Path], T], keep: Sequence[str] = ()) -> T:
    """Run `build(staging)` and move `staging` to `target`, replacing it; nothing changes on error.

    `staging` is a hidden sibling of `target`, on the same file system, so the swap is two renames.
    Files of the old `target` matching a `keep` glob (relative to it) are copied over first if the
    build did not write them and their directory still exists: what the build does not own survives.
    """
    with _writable(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        with _writable(target):
            result = build(staging)
            _carry_over(target, staging, keep)
            _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _carry_over(target: Path, staging: Path, keep: Sequence[str]) -> None:
    for pattern in keep:
        for old in sorted(target.glob(pattern)):
            new = staging / old.relative_to(target)
            if old.is_file() and new.parent.is_dir() and not new.exists():
                shutil.copy2(old, new)


# What the place the user chose can cause: no permission, a read-only or full file system, a
# file where a directory must be. Anything else stays an internal error.
_USER_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR,
                          errno.EEXIST, errno.ENAMETOOLONG})


@contextmanager
def _writable(target: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno not in _USER_ERRNOS:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        raise EngineError(f"cannot write the output to {target}: {exc.strerror}{where}",
                          "choose a writable directory with --out") from None


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
