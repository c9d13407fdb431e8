"""Invariants over every config the strategy can generate (the space of accepted configs)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import given

from engine.config import load_config
from engine.config.overlay import Merged, merge
from engine.config.schema import full_schema, overlay_schema
from engine.config.show import render_config
from engine.config.validate import validate
from tests.strategies import configs

FULL = jsonschema.Draft7Validator(full_schema())
OVERLAY = jsonschema.Draft7Validator(overlay_schema())


def _merged(tree: dict[str, Any]) -> Merged:
    return Merged(entry="generated.yaml", files=("generated.yaml",), tree=tree, origins={})


@given(configs())
def test_every_generated_config_validates(tree: dict[str, Any]) -> None:
    validate(_merged(tree))


@given(configs())
def test_every_generated_config_matches_both_published_schemas(tree: dict[str, Any]) -> None:
    FULL.validate(tree)
    OVERLAY.validate(tree)


@given(configs())
def test_show_output_loads_back_to_the_same_model(tree: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "source.yaml"
        source.write_text(yaml.safe_dump(tree, sort_keys=False))
        loaded = load_config(source)
        shown = Path(directory) / "shown.yaml"
        shown.write_text(render_config(loaded))
        assert load_config(shown).config == loaded.config
        annotated = Path(directory) / "annotated.yaml"
        annotated.write_text(render_config(loaded, origin=True))
        assert load_config(annotated).config == loaded.config


@given(configs())
def test_empty_overlay_changes_nothing(tree: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory) / "base.yaml"
        base.write_text(json.dumps(tree))  # JSON is YAML
        overlay = Path(directory) / "overlay.yaml"
        overlay.write_text("extends: base.yaml\n")
        assert load_config(overlay).config == load_config(base).config


@given(configs(), configs())
def test_merging_is_idempotent_on_configs(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    once = merge(base, {}, overlay, _all_origins(overlay), ())
    assert merge(once, {}, overlay, _all_origins(overlay), ()) == once


def _all_origins(tree: Any, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    found: dict[tuple[Any, ...], Any] = {}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        found[(*prefix, key)] = None
        found.update(_all_origins(value, (*prefix, key)))
    return found
