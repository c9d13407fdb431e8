from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine.catalog import COMPONENT_NAMES
from engine.config.model.base import split_pattern_error
from engine.config.model.operations import Autoscaling
from engine.config.model.supabase import Components
from engine.config.overlay import Merged
from engine.config.schema import FULL_NAME, OVERLAY_NAME, full_schema, overlay_schema, render
from engine.config.validate import validate
from engine.errors import ConfigError
from engine.scaffold import stale_schemas
from engine.targets.values import values_schema
from tests.support import ROOT


def test_checked_in_schemas_are_current() -> None:
    chart = ROOT / "charts" / "supabase"
    assert stale_schemas(ROOT / "schemas", chart) == [], "run `supa-engine schema` and commit the result"


@pytest.mark.parametrize("schema", [full_schema(), overlay_schema()], ids=["full", "overlay"])
def test_schemas_are_draft_07(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    assert "$defs" not in render(schema)


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    found = [(f"root.{k}", v, k in schema.get("required", ())) for k, v in schema["properties"].items()]
    for name, definition in schema["definitions"].items():
        required = set(definition.get("required", ()))
        found += [(f"{name}.{k}", v, k in required) for k, v in definition.get("properties", {}).items()]
    return [entry for entry in found if not entry[0].endswith(".$schema")]


DERIVED_FROM_FILE_NAME = {"Project.environment"}


def test_every_field_is_described_with_examples_and_defaults() -> None:
    for name, prop, required in _properties(full_schema()):
        assert prop.get("description"), f"{name} has no description"
        assert prop.get("examples"), f"{name} has no examples"
        assert required or "default" in prop or name in DERIVED_FROM_FILE_NAME, f"{name} has no default"


def test_ref_never_has_siblings() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert "$ref" not in node or len(node) == 1, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(full_schema())
    walk(overlay_schema())


def test_overlay_schema_makes_everything_optional_and_allows_extends() -> None:
    validator = jsonschema.Draft7Validator(overlay_schema())
    assert not list(validator.iter_errors({"extends": "../supabase.yaml", "database": {"multi_az": True}}))
    assert not list(validator.iter_errors({"storage": {"bucket_name": None}}))  # null removes an optional key
    assert list(validator.iter_errors({"database": {"instance_clas": "db.t4g.small"}}))
    full = jsonschema.Draft7Validator(full_schema())
    assert list(full.iter_errors({"database": {"multi_az": True}}))  # project etc. are required


@pytest.mark.parametrize("path", [ROOT / "supabase.yaml", *sorted((ROOT / "environments").glob("*.yaml"))],
                         ids=lambda p: p.name)
def test_examples_carry_the_modeline_and_match_their_schema(path: Path) -> None:
    text = path.read_text()
    first = text.splitlines()[0]
    name = FULL_NAME if path.name == "supabase.yaml" else OVERLAY_NAME
    assert first.startswith("# yaml-language-server: $schema=") and first.endswith(name)
    target = (path.parent / first.split("=", 1)[1]).resolve()
    assert target == (ROOT / "schemas" / name).resolve()
    schema = full_schema() if name == FULL_NAME else overlay_schema()
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load(text))


def test_component_sections_list_exactly_the_catalog() -> None:
    """The config model spells the components out (typed access); they must be the catalog's, in order."""
    assert tuple(Components.model_fields) == COMPONENT_NAMES
    assert tuple(Autoscaling.model_fields) == ("default", *COMPONENT_NAMES)


def _nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for value in node.values() for n in _nodes(value))]
    if isinstance(node, list):
        return [n for value in node for n in _nodes(value)]
    return []


@pytest.mark.parametrize("schema", [full_schema(), overlay_schema(), values_schema()], ids=["full", "overlay", "chart"])
def test_every_pattern_has_a_readable_message(schema: dict[str, Any]) -> None:
    patterns = [n for n in _nodes(schema) if isinstance(n.get("pattern"), str)]
    assert patterns
    for node in patterns:
        message = node.get("patternErrorMessage", "")
        assert message.startswith("Not ") and ": " in message, node
        assert not any(mark in message for mark in ("[", "^", "$", "\\", "(?")), message


@pytest.mark.parametrize(("key", "value"), [
    (("project", "name"), "Acme"),
    (("state", "key_prefix"), "a//b"),
    (("database", "backup_window"), "3am"),
    (("network", "vpc_cidr"), "10.0.0"),
    (("storage", "bucket_name"), "Bad_Bucket"),
])
def test_validate_says_what_the_editor_says(key: tuple[str, str], value: str) -> None:
    section, name = key
    tree = yaml.safe_load((ROOT / "supabase.yaml").read_text())
    tree[section] = {**(tree.get(section) or {}), name: value}
    with pytest.raises(ConfigError) as raised:
        validate(Merged(entry="x.yaml", files=("x.yaml",), tree=tree, origins={}))
    problem = next(p for p in raised.value.problems if p.path == f"{section}.{name}")
    prop = full_schema()["definitions"][section.title().replace("_", "")]["properties"][name]
    shown = next(n["patternErrorMessage"] for n in _nodes(prop) if "patternErrorMessage" in n)
    what, hint = split_pattern_error(shown)
    assert problem.message == f"{value!r} is not {what}" and problem.hint == hint


@pytest.mark.parametrize("schema", [full_schema(), overlay_schema()], ids=["full", "overlay"])
def test_hovers_show_each_title_once(schema: dict[str, Any]) -> None:
    """The YAML language server treats an `anyOf` as all matched when its branches cannot be told
    apart by title, description and properties, and then titles the hover once per branch."""
    for node in _nodes(schema):
        branches = node.get("anyOf", [])
        keys = [(b.get("title"), b.get("description"), json.dumps(b.get("properties"))) for b in branches]
        assert len(set(keys)) == len(keys), node
