"""JSON Schemas for editors, generated from the model.

Two schemas: one for a complete config and one for an overlay (every key optional, `null`
allowed where the model has a default, plus `extends`). Both are draft-07, the newest draft
YAML language servers understand, so `$defs` become `definitions` and `$ref` never has
siblings (draft-07 ignores them; we wrap the reference in `allOf` instead).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from engine.config.model import Config

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
FULL_NAME = "supabase.schema.json"
OVERLAY_NAME = "environment.schema.json"


def full_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(ref_template="#/definitions/{model}")
    schema["definitions"] = schema.pop("$defs", {})
    _walk(schema)
    schema["properties"]["$schema"] = _MODELINE_KEY
    # The loader names the environment after the entry file, so files may leave it out.
    project = schema["definitions"]["Project"]
    project["required"] = [key for key in project["required"] if key != "environment"]
    return {
        "$schema": DRAFT_07,
        "$id": "https://supa-engine.dev/schemas/" + FULL_NAME,
        **{k: v for k, v in schema.items() if k != "$schema"},
    }


def overlay_schema() -> dict[str, Any]:
    schema = copy.deepcopy(full_schema())
    schema["$id"] = "https://supa-engine.dev/schemas/" + OVERLAY_NAME
    schema["title"] = "supa-engine environment overlay"
    schema["description"] = (
        "An overlay on a base config: maps merge key by key, lists replace, `null` removes a key "
        "so its default applies."
    )
    _make_optional(schema)
    for definition in schema["definitions"].values():
        _make_optional(definition)
    schema["properties"] = {
        "extends": {
            "type": "string",
            "description": "Path of the base config, relative to this file.",
            "examples": ["../supabase.yaml"],
        },
        **schema["properties"],
    }
    return schema


def render(schema: dict[str, Any]) -> str:
    """Stable text for every generated schema file (these two and the chart's values schema)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_MODELINE_KEY = {
    "type": "string",
    "description": "Editors may set this to the schema's location; the engine ignores it.",
}


def _walk(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node:
            for prop in node["properties"].values():
                _describe_property(prop)
        for branch in node.get("anyOf", ()):
            if branch == {"type": "null"}:
                branch["description"] = _NULL_BRANCH
        for value in node.values():
            _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)


def _describe_property(prop: dict[str, Any]) -> None:
    prop.pop("title", None)
    if "examples" not in prop and "default" in prop and prop["default"] is not None:
        prop["examples"] = [prop["default"]]
    if "$ref" in prop and len(prop) > 1:
        prop["allOf"] = [{"$ref": prop.pop("$ref")}]


def _make_optional(definition: dict[str, Any]) -> None:
    required = set(definition.pop("required", ()))
    for name, prop in definition.get("properties", {}).items():
        if name not in required and "default" in prop and not _takes_null(prop):
            # `null` in an overlay removes the key so the default applies again.
            outer = {k: prop[k] for k in _ANNOTATIONS if k in prop}
            inner = {k: v for k, v in prop.items() if k not in _ANNOTATIONS}
            definition["properties"][name] = {"anyOf": [inner, {"type": "null", "description": _NULL_BRANCH}],
                                              **outer}


def _takes_null(prop: dict[str, Any]) -> bool:
    return any(branch.get("type") == "null" for branch in prop.get("anyOf", ()))


# The YAML language server titles a hover over an `anyOf` by each branch's title, or else by the
# closest title once per branch, when it takes every branch as matched: two branches without title,
# description or properties (a value branch and a bare `null`) then show the section's title twice.
# A described `null` branch is told apart, and the hover shows the property's own text once.
_NULL_BRANCH = "`null`: the key is unset and its default applies."


_ANNOTATIONS = ("description", "default", "examples")
