"""Resource policies that admit parties outside the account: service principals in key
policies, and whatever passes a VPC endpoint. Each must be bound to this account.

SECURITY.md rows: "KMS" and "IRSA least privilege" (own: confused-deputy guards, endpoint policies).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.checks.findings import Finding, Rule
from engine.checks.terraform.model import Block, Env
from engine.checks.terraform.policy import PolicyStatement

# Conditions that tie a service's use of a key to this account, its resources or its calls.
_SERVICE_GUARDS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "kms:viaservice", "kms:calleraccount",
                   "kms:encryptioncontext:")
# Conditions that tie traffic through an endpoint to this account.
_ENDPOINT_GUARDS = ("aws:principalaccount", "aws:resourceaccount", "aws:principalorgid", "aws:resourceorgid")


def endpoint_policies(env: Env) -> Iterator[Block]:
    """The policy documents attached to VPC endpoints."""
    for endpoint in env.all("aws_vpc_endpoint"):
        doc = env.document_ref(endpoint.stack, endpoint.body.get("policy"))
        if doc is not None:
            yield doc


def _guarded(stmt: PolicyStatement, guards: tuple[str, ...]) -> bool:
    return any(variable.lower().startswith(guards) for _, variable, _ in stmt.conditions)


def _kms_service_scoped(env: Env) -> Iterator[Finding]:
    """A key policy statement for an AWS service principal is bound by aws:SourceAccount,
    aws:SourceArn, kms:ViaService, kms:CallerAccount or an encryption context; otherwise any
    account's resources of that service could make the service use our key (confused deputy)."""
    for rtype in ("aws_kms_key", "aws_kms_key_policy"):
        for key in env.all(rtype):
            doc = env.document_ref(key.stack, key.body.get("policy"))
            if doc is None:
                continue
            for index, stmt in enumerate(env.document(doc, merged=False)):
                services = [ident for kind, ident in stmt.principals if kind == "Service"]
                if stmt.effect == "Allow" and services and not _guarded(stmt, _SERVICE_GUARDS):
                    yield doc.finding("KMS_SERVICE_SCOPED", f"statement {index}: {services} may use the key with no "
                                      "aws:SourceAccount/aws:SourceArn (or ViaService, encryption context) guard")


def _endpoint_policy(env: Env) -> Iterator[Finding]:
    """Every VPC endpoint has a policy document, and each Allow in it is bound to this account
    (aws:PrincipalAccount or aws:ResourceAccount) or names its resources; the default policy
    lets anything in the VPC reach any account through the endpoint."""
    for endpoint in env.all("aws_vpc_endpoint"):
        doc = env.document_ref(endpoint.stack, endpoint.body.get("policy"))
        if doc is None:
            yield endpoint.finding("ENDPOINT_POLICY", "no endpoint policy document: the default allows every "
                                   "principal to reach every account's resources")
            continue
        for index, stmt in enumerate(env.document(doc, merged=False)):
            if stmt.effect == "Allow" and "*" in stmt.resources and not _guarded(stmt, _ENDPOINT_GUARDS):
                yield doc.finding("ENDPOINT_POLICY", f"statement {index}: allows {list(stmt.actions)} on any "
                                  "resource with no aws:PrincipalAccount or aws:ResourceAccount condition")


RULES = (
    Rule("KMS_SERVICE_SCOPED", "key policy statements for service principals carry a confused-deputy guard",
         "KMS (own: aws:SourceAccount / aws:SourceArn)", _kms_service_scoped),
    Rule("ENDPOINT_POLICY", "every VPC endpoint has a policy bound to this account",
         "IRSA least privilege (own: endpoint policies)", _endpoint_policy),
)
