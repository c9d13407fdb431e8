"""Network rules: private subnets, security-group hygiene, VPC flow logs.

SECURITY.md rows: "no public IPs for workloads", "SG hygiene", "default SG closed", "flow logs on
the VPC", and the log-group half of "EKS control-plane logs".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.checks.findings import Finding, Rule
from engine.checks.terraform.json import Json, as_int, as_list, blocks, is_true
from engine.checks.terraform.model import Block, Env

# Ports that may be reached on the internet (0.0.0.0/0, ::/0), TCP only. Ingress: 443 on the
# public ALB. Egress: HTTPS to AWS APIs and registries, and SMTP submission (587/465) for
# Supabase auth (SECURITY.md "Supabase service graph"). DNS (53) is deliberately absent: the
# VPC resolver answers at the VPC base address + 2 and at 169.254.169.253, inside the VPC, so
# an internet-wide port-53 rule is never needed.
OPEN_INGRESS_PORTS = frozenset({443})
OPEN_EGRESS_PORTS = frozenset({443, 465, 587})
_TCP = ("tcp", "6")
_DEFAULT_SG_DESCRIPTION = "Managed by Terraform"

# --- private subnets ----------------------------------------------------------------------------


def _same_vpc(env: Env, stack_a: str, value_a: Any, stack_b: str, value_b: Any) -> bool:
    keys = {(r.stack, r.name) for r in env.refs_to(stack_a, value_a, "aws_vpc")}
    return bool(keys & {(r.stack, r.name) for r in env.refs_to(stack_b, value_b, "aws_vpc")})


def _route_tables(env: Env, subnet: Block) -> list[Block]:
    """The route tables governing a subnet: explicit associations, else the VPC's main table."""
    tables = [table for assoc in env.all("aws_route_table_association")
              if env.points_to(assoc.stack, assoc.body.get("subnet_id"), subnet)
              for ref in env.refs_to(assoc.stack, assoc.body.get("route_table_id"), "aws_route_table")
              if (table := env.get(ref)) is not None]
    if tables:
        return tables
    vpc = subnet.body.get("vpc_id")
    mains = [table for assoc in env.all("aws_main_route_table_association")
             if _same_vpc(env, assoc.stack, assoc.body.get("vpc_id"), subnet.stack, vpc)
             for ref in env.refs_to(assoc.stack, assoc.body.get("route_table_id"), "aws_route_table")
             if (table := env.get(ref)) is not None]
    defaults = [table for table in env.all("aws_default_route_table")
                if _same_vpc(env, table.stack, table.body.get("default_route_table_id"), subnet.stack, vpc)]
    return mains + defaults  # none: the implicit main table, which holds only the local route


def _to_internet_gateway(env: Env, stack: str, route: Json) -> bool:
    gateway = route.get("gateway_id")
    literal = isinstance(gateway, str) and gateway.startswith("igw-")
    return literal or bool(env.refs_to(stack, gateway, "aws_internet_gateway"))


def public_reasons(env: Env, subnet: Block) -> list[str]:
    """Why a subnet is public: it maps public IPs, or a route table it uses reaches an IGW."""
    reasons = ["map_public_ip_on_launch is true"] if is_true(subnet.body.get("map_public_ip_on_launch")) else []
    for table in _route_tables(env, subnet):
        inline = any(_to_internet_gateway(env, table.stack, route) for route in blocks(table.body, "route"))
        separate = [route for route in env.all("aws_route")
                    if env.points_to(route.stack, route.body.get("route_table_id"), table)
                    and _to_internet_gateway(env, route.stack, route.body)]
        if inline or separate:
            reasons.append(f"its route table {table.address} routes to an internet gateway")
    return reasons


def subnet_problems(env: Env, stack: str, subnet_ids: Any) -> list[str]:
    """Why the subnets in a `subnet_ids` value are not provably private ([] when they all are)."""
    items = as_list(subnet_ids)
    if not items:
        return ["no subnet_ids"]
    problems = []
    for item in items:
        refs = env.refs_to(stack, item, "aws_subnet", ("id",))
        if not refs:
            problems.append(f"{item!r} is not a reference to an aws_subnet id")
        for ref in refs:
            subnet = env.get(ref)
            if subnet is None:
                problems.append(f"{item!r} cannot be followed to its aws_subnet (producing stack not checked)")
            else:
                problems += [f"subnet {subnet.address} is public: {reason}" for reason in public_reasons(env, subnet)]
    return problems


def _map_public_ip(env: Env) -> Iterator[Finding]:
    """CKV_AWS_130 and CIS 5.4.3: workloads never get public IPs. Also launch templates and
    instances that ask for one, which a subnet setting does not cover."""
    for subnet in env.all("aws_subnet"):
        if is_true(subnet.body.get("map_public_ip_on_launch")):
            yield subnet.finding("MAP_PUBLIC_IP", "map_public_ip_on_launch is true; set it to false "
                                 "(public-facing load balancers do not need it)")
    for template in env.all("aws_launch_template"):
        if any(is_true(nic.get("associate_public_ip_address")) for nic in blocks(template.body, "network_interfaces")):
            yield template.finding("MAP_PUBLIC_IP", "network_interfaces.associate_public_ip_address is true; "
                                   "remove it so nodes get private addresses only")
    for instance in env.all("aws_instance"):
        if is_true(instance.body.get("associate_public_ip_address")):
            yield instance.finding("MAP_PUBLIC_IP", "associate_public_ip_address is true; set it to false")


# --- security groups ----------------------------------------------------------------------------


def _is_open(cidr: Any) -> bool:
    try:
        return isinstance(cidr, str) and ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


@dataclass(frozen=True)
class _Permission:
    """One SG rule in any of its three spellings (inline block, aws_security_group_rule,
    aws_vpc_security_group_*_rule)."""

    direction: str
    protocol: Any
    from_port: Any
    to_port: Any
    cidrs: tuple[Any, ...]
    description: Any

    def problems(self) -> list[str]:
        problems = [] if self.description else ["has no description"]
        open_cidrs = sorted(str(c) for c in self.cidrs if _is_open(c))
        if open_cidrs:
            allowed = OPEN_INGRESS_PORTS if self.direction == "ingress" else OPEN_EGRESS_PORTS
            low, high = as_int(self.from_port), as_int(self.to_port)
            if not (str(self.protocol).lower() in _TCP and low is not None and low == high and low in allowed):
                where = "from" if self.direction == "ingress" else "to"
                problems.append(f"{self.direction} {where} {', '.join(open_cidrs)} on protocol {self.protocol} ports "
                                f"{self.from_port}-{self.to_port}; only single TCP ports {sorted(allowed)} may be open "
                                "to the internet: scope the CIDR to the VPC or a security group")
        return problems


def _classic(direction: str, body: Json) -> _Permission:
    return _Permission(direction=direction, protocol=body.get("protocol"), from_port=body.get("from_port"),
                       to_port=body.get("to_port"), description=body.get("description"),
                       cidrs=tuple(as_list(body.get("cidr_blocks")) + as_list(body.get("ipv6_cidr_blocks"))))


def _sg_open(env: Env) -> Iterator[Finding]:
    """CKV_AWS_23/24/25/260/277/382: every group and rule described; nothing open to the
    internet except 443 in and 443/465/587 out (see OPEN_*_PORTS); CKV2_AWS_12: the default
    security group holds no rules at all."""
    for group in env.all("aws_security_group"):
        if group.body.get("description") in (None, "", _DEFAULT_SG_DESCRIPTION):
            yield group.finding("SG_OPEN", "has no description; say what the group is for")
        for direction in ("ingress", "egress"):
            for index, inline in enumerate(blocks(group.body, direction)):
                for problem in _classic(direction, inline).problems():
                    yield group.finding("SG_OPEN", f"{direction}[{index}] {problem}")
    for rule in env.all("aws_security_group_rule"):
        for problem in _classic(str(rule.body.get("type")), rule.body).problems():
            yield rule.finding("SG_OPEN", problem)
    for direction in ("ingress", "egress"):
        for rule in env.all(f"aws_vpc_security_group_{direction}_rule"):
            body = rule.body
            permission = _Permission(direction=direction, protocol=body.get("ip_protocol"),
                                     from_port=body.get("from_port"), to_port=body.get("to_port"),
                                     cidrs=(body.get("cidr_ipv4"), body.get("cidr_ipv6")),
                                     description=body.get("description"))
            for problem in permission.problems():
                yield rule.finding("SG_OPEN", problem)
    yield from _default_sg_closed(env)


def _default_sg_closed(env: Env) -> Iterator[Finding]:
    rule_types = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
                  "aws_vpc_security_group_egress_rule")
    for default in env.all("aws_default_security_group"):
        if blocks(default.body, "ingress") or blocks(default.body, "egress"):
            yield default.finding("SG_OPEN", "the default security group has rules; leave ingress and egress empty")
        for rtype in rule_types:
            for rule in env.all(rtype):
                if env.points_to(rule.stack, rule.body.get("security_group_id"), default):
                    yield rule.finding("SG_OPEN", f"adds a rule to the default security group {default.address}; "
                                       "use a dedicated security group")


_RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")


def _sg_attached(env: Env) -> Iterator[Finding]:
    """CKV2_AWS_5 across stacks (own): checkov sees one stack at a time, so a group created in the
    network stack and attached in another (the database and workload groups) looks unattached
    to it. Here a group is attached when a resource other than a group or a rule, in any stack,
    refers to it (following cross-stack outputs); a group only rules mention guards nothing."""
    groups = env.all("aws_security_group")
    attached: set[tuple[str, str]] = set()
    for stack in sorted(env.stacks):
        section = env.stacks[stack].get("resource", {})
        for rtype, items in section.items() if isinstance(section, dict) else ():
            if rtype == "aws_security_group" or rtype in _RULE_TYPES or not isinstance(items, dict):
                continue
            for body in items.values():
                attached |= {(ref.stack, ref.name) for ref in env.refs_to(stack, body, "aws_security_group")}
    for group in groups:
        if (group.stack, group.name) not in attached:
            yield group.finding("SG_ATTACHED", "no resource in any stack uses this security group (only rules "
                                "name it); attach it or remove it")


# --- flow logs and log groups -------------------------------------------------------------------


def _flow_log_ok(env: Env, flow: Block) -> bool:
    if flow.body.get("traffic_type") != "ALL":
        return False
    destination = flow.body.get("log_destination") or flow.body.get("log_group_name")
    if flow.body.get("log_destination_type") == "s3":
        return bool(env.refs_to(flow.stack, destination, "aws_s3_bucket"))  # S3_CMK covers the bucket
    groups = [env.get(ref) for ref in env.refs_to(flow.stack, destination, "aws_cloudwatch_log_group")]
    return any(group is not None and env.refs_to(group.stack, group.body.get("kms_key_id"), "aws_kms_key", ("arn",))
               for group in groups)


def _flow_logs(env: Env) -> Iterator[Finding]:
    """CKV2_AWS_11 asks for a flow log; we also demand ALL traffic into a KMS-encrypted log group.
    CKV_AWS_158/338/66: every log group (flow logs, EKS control plane) has a CMK and keeps a year."""
    flows = env.all("aws_flow_log")
    for vpc in env.all("aws_vpc"):
        mine = [flow for flow in flows if env.points_to(flow.stack, flow.body.get("vpc_id"), vpc)]
        if not any(_flow_log_ok(env, flow) for flow in mine):
            yield vpc.finding("FLOW_LOGS", "needs an aws_flow_log with traffic_type ALL whose log_destination is "
                              "an aws_cloudwatch_log_group with a KMS key "
                              f"(found {len(mine)} flow log(s), none qualifies)")
    for group in env.all("aws_cloudwatch_log_group"):
        if not env.refs_to(group.stack, group.body.get("kms_key_id"), "aws_kms_key", ("arn",)):
            yield group.finding("FLOW_LOGS", "kms_key_id must be the arn of one of our aws_kms_key resources")
        retention = as_int(group.body.get("retention_in_days"))
        if retention is None or retention < 365:
            yield group.finding("FLOW_LOGS", f"retention_in_days is {group.body.get('retention_in_days')!r}; "
                                "set it to 365 or more")


RULES = (
    Rule("MAP_PUBLIC_IP", "no subnet maps public IPs; no launch template or instance asks for one",
         "no public IPs for workloads (CKV_AWS_130, CIS 5.4.3)", _map_public_ip),
    Rule("SG_OPEN", "security groups and rules described; internet only on 443 in, 443/465/587 out; default SG empty",
         "SG hygiene (CKV_AWS_23/24/25/260/277/382, CKV2_AWS_5); default SG closed (CKV2_AWS_12)", _sg_open),
    Rule("SG_ATTACHED", "every security group is used by a resource, in its own stack or another",
         "SG hygiene (CKV2_AWS_5, across stacks)", _sg_attached),
    Rule("FLOW_LOGS", "each VPC has an ALL-traffic flow log to a KMS log group; log groups have a CMK and >= 365 days",
         "flow logs on the VPC (CKV2_AWS_11); EKS control-plane logs (CKV_AWS_158/338/66)", _flow_logs),
)
