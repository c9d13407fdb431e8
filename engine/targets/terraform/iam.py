"""IAM as `aws_iam_policy_document` data sources, plus the role shapes the stacks use.

Every policy is a document data source referenced by `.json`, never a JSON string: Terraform
renders it canonically and checkov's least-privilege checks can read it (they skip strings).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cdktn_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

Statement = DataAwsIamPolicyDocumentStatement


def condition(test: str, variable: str, *values: str) -> DataAwsIamPolicyDocumentStatementCondition:
    return DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))


def principal(kind: str, *identifiers: str) -> DataAwsIamPolicyDocumentStatementPrincipals:
    return DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=list(identifiers))


def allow(sid: str, actions: Sequence[str], resources: Sequence[str], *,
          principals: Sequence[DataAwsIamPolicyDocumentStatementPrincipals] = (),
          conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition] = ()) -> Statement:
    return Statement(sid=sid, effect="Allow", actions=list(actions), resources=list(resources) or None,
                     principals=list(principals) or None, condition=list(conditions) or None)


def deny(sid: str, actions: Sequence[str], resources: Sequence[str], *,
         principals: Sequence[DataAwsIamPolicyDocumentStatementPrincipals] = (),
         conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition] = ()) -> Statement:
    return Statement(sid=sid, effect="Deny", actions=list(actions), resources=list(resources) or None,
                     principals=list(principals) or None, condition=list(conditions) or None)


def document(scope: Construct, id_: str, statements: Iterable[Statement]) -> DataAwsIamPolicyDocument:
    return DataAwsIamPolicyDocument(scope, id_, statement=list(statements))


def trust_service(scope: Construct, id_: str, service: str, *, source_account: str | None = None,
                  actions: Sequence[str] = ("sts:AssumeRole",)) -> DataAwsIamPolicyDocument:
    """Trust policy for an AWS service; `source_account` adds the confused-deputy guard."""
    conditions = [condition("StringEquals", "aws:SourceAccount", source_account)] if source_account else []
    return document(scope, id_, [allow("TrustService", actions, [], principals=[principal("Service", service)],
                                       conditions=conditions)])


@dataclass(frozen=True)
class Role:
    """A role and the attachments that must exist before anything uses it."""

    resource: IamRole
    grants: tuple[IamRolePolicyAttachment | IamRolePolicy, ...]

    @property
    def arn(self) -> str:
        return self.resource.arn

    @property
    def name(self) -> str:
        return self.resource.name


def role(scope: Construct, id_: str, *, name: str, trust: DataAwsIamPolicyDocument,
         managed_policies: Sequence[str] = (), inline: DataAwsIamPolicyDocument | None = None,
         description: str) -> Role:
    """An IAM role with managed policy attachments and at most one inline policy document."""
    created = IamRole(scope, id_, name=name, description=description, assume_role_policy=trust.json)
    grants: list[IamRolePolicyAttachment | IamRolePolicy] = [
        IamRolePolicyAttachment(scope, f"{id_}_managed_{index}", role=created.name, policy_arn=arn)
        for index, arn in enumerate(managed_policies)
    ]
    if inline is not None:
        grants.append(IamRolePolicy(scope, f"{id_}_inline", name=name, role=created.id, policy=inline.json))
    return Role(created, tuple(grants))
