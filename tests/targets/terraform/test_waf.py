"""The web ACL: uploads to Storage pass the Common rule set's 8 KB body limit, nothing else does."""

from __future__ import annotations

from typing import Any

from tests.support import Synthesized

LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"


def _rules(env: Synthesized) -> dict[str, Any]:
    acl = env.one("data", "aws_wafv2_web_acl", "web_acl")
    return {rule["name"]: rule for rule in acl["rule"]}


def test_body_size_rule_counts_and_is_reapplied_outside_uploads(synthesized: dict[str, Synthesized]) -> None:
    rules = _rules(synthesized["prod"])
    common = rules["common"]["statement"]["managed_rule_group_statement"]
    assert common["rule_action_override"] == [{"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
    large = rules["large-body"]
    # Labels exist only for rules evaluated after the group that adds them.
    assert large["priority"] > rules["common"]["priority"] and large["action"] == {"block": {}}
    label, negated = large["statement"]["and_statement"]["statement"]
    assert label == {"label_match_statement": {"scope": "LABEL", "key": LABEL}}
    [match] = negated["not_statement"]["statement"]
    byte = match["byte_match_statement"]
    assert (byte["search_string"], byte["positional_constraint"]) == ("/storage/v1/", "STARTS_WITH")
    assert byte["field_to_match"] == {"uri_path": {}}
    assert {t["type"] for t in byte["text_transformation"]} == {"URL_DECODE", "NORMALIZE_PATH"}
    # Every other rule of the group still blocks.
    assert set(common) == {"name", "vendor_name", "rule_action_override"}
