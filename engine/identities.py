"""Who the platform's workloads are, as names shared by the Terraform and Helm targets.

IRSA trust policies pin a role to exactly one Kubernetes service account, so the chart must
create the same namespaces and service accounts. These are the only copies of those names. Pure Python:
importing this module does not load CDK Terrain. (Secret names come from `engine.catalog.SECRETS`
through `Resolved.secrets`.)
"""

from __future__ import annotations

from dataclasses import dataclass

SUPABASE_NAMESPACE = "supabase"


@dataclass(frozen=True)
class ServiceAccount:
    """A Kubernetes service account that assumes its own IAM role through IRSA."""

    namespace: str
    name: str
    role_suffix: str  # the IAM role is `<prefix>-<role_suffix>`; at most 25 characters

    @property
    def subject(self) -> str:
        """The `sub` claim of the account's projected token."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"


STORAGE = ServiceAccount(SUPABASE_NAMESPACE, "storage", "irsa-storage")
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
# External Secrets' controller runs as `external-secrets` with no AWS role: a SecretStore that
# names no auth of its own (namespace editors may create one) then gets no credentials. Only
# this dedicated account, referenced by the ClusterSecretStore, holds the role; nothing runs as it.
EXTERNAL_SECRETS_CONTROLLER = "external-secrets"
SECRET_STORE = ServiceAccount(EXTERNAL_SECRETS_NAMESPACE, "secret-store", "irsa-secret-store")
CLUSTER_AUTOSCALER = ServiceAccount("kube-system", "cluster-autoscaler", "irsa-cluster-autoscaler")
LOAD_BALANCER_CONTROLLER = ServiceAccount("kube-system", "aws-load-balancer-controller", "irsa-lb-controller")
EBS_CSI = ServiceAccount("kube-system", "ebs-csi-controller-sa", "irsa-ebs-csi")
VPC_CNI = ServiceAccount("kube-system", "aws-node", "irsa-vpc-cni")
CLOUDWATCH_AGENT = ServiceAccount("amazon-cloudwatch", "cloudwatch-agent", "irsa-cloudwatch-agent")

SERVICE_ACCOUNTS: tuple[ServiceAccount, ...] = (
    STORAGE, SECRET_STORE, CLUSTER_AUTOSCALER, LOAD_BALANCER_CONTROLLER, EBS_CSI, VPC_CNI, CLOUDWATCH_AGENT,
)
