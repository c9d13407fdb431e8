"""Reading Terraform JSON values as cdktn writes them.

Single blocks come out as objects and repeatable ones as lists, booleans and numbers sometimes
as strings; references live inside `${...}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

Json = Mapping[str, Any]


def as_list(value: Any) -> list[Any]:
    """A Terraform list-or-scalar as a list (None becomes [])."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def blocks(body: Json, key: str) -> list[Json]:
    """A nested block that cdktn emits as an object (single) or a list (repeatable), as a list."""
    return [item for item in as_list(body.get(key)) if isinstance(item, Mapping)]


def block(body: Json, key: str) -> Json:
    """The first nested block under `key`, or {} when absent."""
    found = blocks(body, key)
    return found[0] if found else {}


def is_true(value: Any) -> bool:
    return value is True or value == "true"


def is_false(value: Any) -> bool:
    return value is False or value == "false"


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def interpolations(text: str) -> Iterator[str]:
    """The bodies of the `${...}` expressions in a string (nested braces balanced)."""
    start = text.find("${")
    while start != -1:
        depth, index = 0, start + 1
        while index < len(text):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        yield text[start + 2:index]
        start = text.find("${", index)


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
