"""The Terraform JSON index: references inside interpolations, and cross-stack outputs judged by name."""

from __future__ import annotations

from engine.checks.terraform.json import interpolations
from engine.checks.terraform.model import Env, Ref


def test_unresolved_output_names_distinguish_similar_types() -> None:
    key = Ref("", "output", "", "", "", resolved=False, output="cross-stack-output-aws_kms_keydata_keyarn")
    policy = Ref("", "output", "", "", "", resolved=False, output="cross-stack-output-aws_kms_key_policyparn")
    assert key.is_a("aws_kms_key", ("arn",))
    assert not key.is_a("aws_kms_key", ("key_id",))
    assert not policy.is_a("aws_kms_key")


def test_references_inside_functions_and_nested_interpolations() -> None:
    text = '${jsonencode({"Resource" = "${aws_cloudwatch_log_group.flow_logs.arn}:*"})}'
    assert len(list(interpolations(text))) == 1
    env = Env({"s": {}})
    refs = env.refs("s", [text, "${element(data.aws_availability_zones.azs.names, count.index)}",
                          "${aws_subnet.extra[0].id}", "${terraform.workspace}", "plain.string_value.x"])
    assert [(r.mode, r.type, r.name, r.attr) for r in refs] == [
        ("resource", "aws_cloudwatch_log_group", "flow_logs", "arn"),
        ("data", "aws_availability_zones", "azs", "names"),
        ("resource", "aws_subnet", "extra", "id"),
    ]
