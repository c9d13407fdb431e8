"""Resource policies bound to this environment: the storage bucket, endpoints and the alarm key."""

from __future__ import annotations

from engine.checks.terraform import check_terraform
from engine.checks.terraform.scoping import RULES
from engine.identities import STORAGE
from tests.support import Synthesized

ENDPOINT_REF = ("${data.terraform_remote_state.cross-stack-reference-input-network.outputs."
                "cross-stack-output-aws_vpc_endpoints3_endpointid}")


def test_storage_role_reaches_its_bucket_only_through_the_vpc_endpoint(synthesized: dict[str, Synthesized]) -> None:
    for env in synthesized.values():
        document = env.data("data", "aws_iam_policy_document")["storage_bucket_policy_document"]
        [deny] = [s for s in document["statement"] if s.get("sid") == "StorageRoleOnlyThroughVpcEndpoint"]
        assert deny["effect"] == "Deny" and deny["actions"] == ["s3:*"]
        conditions = {c["variable"]: (c["test"], c["values"]) for c in deny["condition"]}
        role = f"role/{env.resolved.names['role_prefix']}-{STORAGE.role_suffix}"
        assert conditions["aws:PrincipalArn"][0] == "ArnEquals" and conditions["aws:PrincipalArn"][1][0].endswith(role)
        assert conditions["aws:SourceVpce"] == ("StringNotEquals", [ENDPOINT_REF])


def test_endpoints_and_key_policies_are_bound_to_the_account(synthesized: dict[str, Synthesized]) -> None:
    for env in synthesized.values():
        endpoints = env.resources("network", "aws_vpc_endpoint")
        assert len(endpoints) == 1 + len(env.resolved.config.network.interface_endpoints)
        assert all(e["policy"].startswith("${data.aws_iam_policy_document.") for e in endpoints.values())
        assert check_terraform(env.stacks, RULES) == []
