"""Turn a merged tree into a `Config`, or into errors that name file, line, key and fix."""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from engine.config.load import Path_, dotted
from engine.config.model import Config
from engine.config.model.base import split_pattern_error
from engine.config.overlay import Merged
from engine.config.rules import Violation, check_rules
from engine.errors import ConfigError, Location, Problem


def validate(merged: Merged) -> Config:
    """Validate the merged tree: shapes and field rules first, then rules across fields."""
    try:
        # JSON mode lets strict validation take YAML sequences as tuples.
        config = Config.model_validate_json(json.dumps(merged.tree))
    except ValidationError as exc:
        raise ConfigError(_problem(merged, error) for error in exc.errors()) from None
    violations = list(check_rules(config))
    if violations:
        raise ConfigError(_violation(merged, v) for v in violations)
    return config


def locate(merged: Merged, path: Path_) -> Location:
    """Where to point for `path`: the value itself if a file set it, else where to add it.

    A value that no file sets comes from a default; the fix then belongs in the entry file,
    so point at the deepest enclosing key the entry file has.
    """
    if path in merged.origins:
        return merged.origins[path]
    for depth in range(len(path) - 1, 0, -1):
        found = merged.origins.get(path[:depth])
        if found is not None and found.file == merged.entry:
            return found
    return Location(merged.entry, 1, 1)


def _violation(merged: Merged, violation: Violation) -> Problem:
    return Problem(locate(merged, violation.path), dotted(violation.path), violation.message, violation.hint)


def _problem(merged: Merged, error: ErrorDetails) -> Problem:
    path: Path_ = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    hint: str | None = None
    if kind == "invalid":
        message, hint = str(ctx["message"]), ctx.get("hint")
    elif kind == "extra_forbidden":
        message, hint = "unknown key", _suggest(str(path[-1]), _allowed_keys(path[:-1]))
    elif kind == "missing":
        message = "required key is missing"
        hint = f"add `{path[-1]}` here" + _example(path)
    elif kind == "string_pattern_mismatch" and _pattern_error_at(path):
        what, hint = split_pattern_error(_pattern_error_at(path))
        message = f"{value!r} is not {what}"
    elif kind == "literal_error":
        expected = _type_at(path)
        if error["loc"][-1] == "[key]":  # a mapping key outside its Literal (say, an unknown provider)
            mapping = _type_at(path[:-1])
            expected = _unwrap(get_args(mapping)[0]) if get_origin(mapping) is dict else None
        choices = [str(choice) for choice in get_args(expected)]
        message = f"{value!r} is not one of: {', '.join(choices)}"
        hint = _suggest(str(value), choices)
    else:
        message = error["msg"][0].lower() + error["msg"][1:]
        if not isinstance(value, dict | list):
            message += f" (got {value!r})"
        if kind == "string_type" and isinstance(value, int | float | bool):
            hint = "quote the value so that YAML reads it as text"
    if path in merged.derived:
        hint = f"the environment is named after the file {merged.entry}; rename the file or set project.environment"
    return Problem(locate(merged, path), dotted(path), message, hint)


def _pattern_error_at(path: Path_) -> str:
    """The `patternErrorMessage` the model publishes for the field at `path` ("" when none)."""
    field = _field_at(path)
    extra = getattr(field, "json_schema_extra", None)
    return str(extra.get("patternErrorMessage", "")) if isinstance(extra, dict) else ""


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of: {', '.join(choices)}" if choices else None


def _example(path: Path_) -> str:
    field = _field_at(path)
    examples = getattr(field, "examples", None) if field is not None else None
    return f", for example: {examples[0]!r}" if examples else ""


def _allowed_keys(path: Path_) -> list[str]:
    model = _type_at(path)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _field_at(path: Path_) -> Any:
    parent = _type_at(path[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return parent.model_fields.get(str(path[-1]))
    return None


def _type_at(path: Path_) -> Any:
    """The (unwrapped) type the model expects at `path`, following fields, dict values and items."""
    current: Any = Config
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
        elif get_origin(current) is dict:
            current = _unwrap(get_args(current)[1])
        elif get_origin(current) is tuple:
            current = _unwrap(get_args(current)[0])
        else:
            return None
    return current


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            annotation = options[0]
        else:
            return annotation
