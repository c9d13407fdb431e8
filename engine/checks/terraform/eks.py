"""EKS rules: cluster access and encryption, node placement and hardening, network policy.

SECURITY.md rows: "EKS API private", "EKS secrets envelope encryption", "EKS control-plane logs",
"EKS access entries, no implicit creator admin", "no public IPs for workloads" (node groups),
"IMDSv2, hop limit 1, no SSH", "network policy enforcement on".
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator

from engine.checks.findings import Finding, Rule
from engine.checks.terraform.json import as_int, as_list, block, blocks, is_false, is_true
from engine.checks.terraform.model import Block, Env
from engine.checks.terraform.network import subnet_problems

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# The widest operator allowlist entry accepted for a public API endpoint.
MAX_PUBLIC_PREFIX = {4: 16, 6: 48}


def _cidr_problem(cidr: object) -> str | None:
    try:
        network = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return f"{cidr!r} is not a literal CIDR"
    limit = MAX_PUBLIC_PREFIX[network.version]
    return None if network.prefixlen >= limit else f"{cidr} is wider than /{limit}"


def _eks_access(env: Env) -> Iterator[Finding]:
    """CIS 4.1.7: access entries only (`API`), no implicit cluster-admin for the creator.
    CKV_AWS_38/39 and CIS 5.4.1-2: private endpoint on; a public one only behind an operator
    CIDR allowlist, which checkov does not inspect. CKV_AWS_58/37: secrets envelope-encrypted
    with our CMK, all five control-plane log types."""
    for cluster in env.all("aws_eks_cluster"):
        access = block(cluster.body, "access_config")
        if access.get("authentication_mode") != "API":
            yield cluster.finding("EKS_ACCESS", "access_config.authentication_mode must be \"API\" "
                                  "(access entries only)")
        if not is_false(access.get("bootstrap_cluster_creator_admin_permissions")):
            yield cluster.finding("EKS_ACCESS", "access_config.bootstrap_cluster_creator_admin_permissions must be "
                                  "false (it defaults to true); grant admins with access entries")
        vpc = block(cluster.body, "vpc_config")
        if not is_true(vpc.get("endpoint_private_access")):
            yield cluster.finding("EKS_ACCESS", "vpc_config.endpoint_private_access must be true")
        if not is_false(vpc.get("endpoint_public_access")):  # the provider default is public
            cidrs = as_list(vpc.get("public_access_cidrs"))
            problems = [p for p in map(_cidr_problem, cidrs) if p] or ([] if cidrs else ["it is empty (0.0.0.0/0)"])
            for problem in problems:
                yield cluster.finding("EKS_ACCESS", f"the API endpoint is public and public_access_cidrs {problem}; "
                                      "set endpoint_public_access false or list operator CIDRs")
        if not any("secrets" in as_list(enc.get("resources"))
                   and env.refs_to(cluster.stack, block(enc, "provider").get("key_arn"), "aws_kms_key", ("arn",))
                   for enc in blocks(cluster.body, "encryption_config")):
            yield cluster.finding("EKS_ACCESS", "encryption_config needs resources [\"secrets\"] and provider.key_arn "
                                  "referencing an aws_kms_key arn")
        missing = [t for t in LOG_TYPES if t not in as_list(cluster.body.get("enabled_cluster_log_types"))]
        if missing:
            yield cluster.finding("EKS_ACCESS", f"enabled_cluster_log_types lacks {missing}; "
                                  f"enable all of {list(LOG_TYPES)}")


def _launch_template_problems(template: Block) -> list[str]:
    options = block(template.body, "metadata_options")
    problems = []
    if options.get("http_tokens") != "required":
        problems.append("metadata_options.http_tokens must be \"required\" (IMDSv2)")
    if as_int(options.get("http_put_response_hop_limit")) != 1:
        problems.append("metadata_options.http_put_response_hop_limit must be 1 (pods cannot reach IMDS)")
    if template.body.get("key_name"):
        problems.append("key_name is set; nodes get no SSH key")
    return [f"launch template {template.address}: {p}" for p in problems]


def _nodes_private(env: Env) -> Iterator[Finding]:
    """CIS 5.4.3 (own): node groups only in private subnets, which checkov cannot see because
    privacy depends on route tables, often in another stack. CKV_AWS_79/341/100: the launch
    template enforces IMDSv2 with hop limit 1; no SSH via `remote_access` or `key_name`."""
    for group in env.all("aws_eks_node_group"):
        for problem in subnet_problems(env, group.stack, group.body.get("subnet_ids")):
            yield group.finding("NODES_PRIVATE", f"subnet_ids: {problem}; use private subnets only")
        if blocks(group.body, "remote_access"):
            yield group.finding("NODES_PRIVATE", "has a remote_access block; remove it (no SSH to nodes)")
        spec = block(group.body, "launch_template")
        refs = env.refs_to(group.stack, [spec.get("id"), spec.get("name")], "aws_launch_template")
        templates = [t for t in map(env.get, refs) if t is not None]
        if not templates:
            yield group.finding("NODES_PRIVATE", "launch_template must reference one of our aws_launch_template "
                                "resources (the EKS default template does not enforce IMDSv2 with hop limit 1)")
        for template in templates:
            for problem in _launch_template_problems(template):
                yield group.finding("NODES_PRIVATE", problem)


def _network_policy_enabled(addon: Block) -> bool:
    text = addon.body.get("configuration_values")
    try:
        values = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return False
    return isinstance(values, dict) and values.get("enableNetworkPolicy") == "true"


def _cni_network_policy(env: Env) -> Iterator[Finding]:
    """EKS Best Practices (own): the VPC CNI enforces NetworkPolicy only when its add-on
    configuration says `"enableNetworkPolicy": "true"` (a string); without it every policy
    the engine renders is silently ignored."""
    addons = [a for a in env.all("aws_eks_addon") if a.body.get("addon_name") == "vpc-cni"]
    for cluster in env.all("aws_eks_cluster"):
        mine = [a for a in addons if env.points_to(a.stack, a.body.get("cluster_name"), cluster)
                or (cluster.body.get("name") is not None and a.body.get("cluster_name") == cluster.body.get("name"))]
        if not mine:
            yield cluster.finding("CNI_NETWORK_POLICY", "has no aws_eks_addon \"vpc-cni\"; add one with "
                                  "configuration_values {\"enableNetworkPolicy\": \"true\"}")
        for addon in mine:
            if not _network_policy_enabled(addon):
                yield addon.finding("CNI_NETWORK_POLICY", "configuration_values must be a literal JSON object with "
                                    "\"enableNetworkPolicy\": \"true\" (json.dumps, not jsonencode)")


RULES = (
    Rule("EKS_ACCESS", "API auth mode, no creator admin, private endpoint, public only via narrow CIDRs, "
         "secrets CMK, all log types",
         "EKS API private (CKV_AWS_38/39, CIS 5.4.1-2); access entries (CIS 4.1.7); envelope encryption "
         "(CKV_AWS_58); control-plane logs (CKV_AWS_37)", _eks_access),
    Rule("NODES_PRIVATE", "node groups in private subnets only, no remote_access, launch template with IMDSv2, "
         "hop limit 1, no key",
         "no public IPs for workloads (CIS 5.4.3); IMDSv2, hop limit 1, no SSH (CKV_AWS_79/341/100)", _nodes_private),
    Rule("CNI_NETWORK_POLICY", "each cluster has a vpc-cni add-on with enableNetworkPolicy \"true\"",
         "network policy enforcement on (BPG)", _cni_network_policy),
)
