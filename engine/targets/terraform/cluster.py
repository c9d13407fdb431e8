"""The cluster stack: EKS control plane, access, OIDC, node groups, add-ons and IRSA roles.

The API endpoint is always private; a public endpoint exists only when
`cluster.public_access_cidrs` lists operator ranges, and then only for exactly those. Nobody is
cluster admin implicitly (`bootstrap_cluster_creator_admin_permissions = false`, API-only
authentication): `cluster.admin_principals` get access entries with the cluster-admin policy.
Kubernetes secrets are envelope-encrypted with the `eks` key; all five control-plane log types
go to a KMS-encrypted log group created before the cluster (so EKS does not create an
unencrypted one).

Observability: the load balancer's and the pods' alarms and the dashboard live here, the last
stack of both delivery modes (the load balancer and the pods exist only once the chart runs).

Database access: the nodes carry the workload security group (through the launch templates),
which the network stack creates with its one egress rule and the database group's one ingress
rule, 5432. The stack depends on the network stack only: what it names in the data stack (the
storage bucket, the published parameters, the master secret, the web ACL) it names by ARN or
name, never by reference, so it applies while the data stack does.
"""

from __future__ import annotations

from cdktn import Fn
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.eks_access_entry import EksAccessEntry
from cdktn_provider_aws.eks_access_policy_association import (
    EksAccessPolicyAssociation,
    EksAccessPolicyAssociationAccessScope,
)
from cdktn_provider_aws.eks_cluster import (
    EksCluster,
    EksClusterAccessConfig,
    EksClusterEncryptionConfig,
    EksClusterEncryptionConfigProvider,
    EksClusterKubernetesNetworkConfig,
    EksClusterVpcConfig,
)
from cdktn_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktn_provider_aws.kms_key import KmsKey
from constructs import Construct

from engine import identities
from engine.resolve import Resolved
from engine.targets.helm import waf_acl_name
from engine.targets.terraform import iam, irsa
from engine.targets.terraform.addons import networking_addons, workload_addons
from engine.targets.terraform.alarms import dashboard, load_balancer_alarms, pod_alarms
from engine.targets.terraform.base import BaseStack
from engine.targets.terraform.kms import eks_key
from engine.targets.terraform.network import NetworkStack
from engine.targets.terraform.nodes import node_groups, node_role

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


class ClusterStack(BaseStack):
    """Exports: `cluster`, `oidc_provider`, `roles` (IRSA roles by service account)."""

    eks_key: KmsKey
    cluster: EksCluster
    oidc_provider: IamOpenidConnectProvider

    def __init__(self, scope: Construct, resolved: Resolved, network: NetworkStack) -> None:
        super().__init__(scope, "cluster", resolved)
        self.eks_key = eks_key(self)
        private_subnet_ids = [s.id for s in network.private_subnets]
        self.cluster = self._control_plane(network.logs_key.arn, private_subnet_ids)
        self._admins()
        self.oidc_provider = IamOpenidConnectProvider(
            self, "oidc_provider", url=self.cluster.identity.get(0).oidc.get(0).issuer,
            client_id_list=[irsa.STS_AUDIENCE], tags={"Name": self.name("eks-oidc")})
        issuer_host = Fn.replace(self.oidc_provider.url, "https://", "")
        self.roles = self._irsa_roles(issuer_host, network)

        early = networking_addons(self, self.cluster, self.roles[identities.VPC_CNI].arn)
        groups = node_groups(
            self, cluster=self.cluster, role=node_role(self), subnet_ids=private_subnet_ids,
            security_group_ids=[self.cluster.vpc_config.cluster_security_group_id, network.workload_security_group.id],
            key=self.eks_key, after=early)
        cloudwatch = self.roles.get(identities.CLOUDWATCH_AGENT)
        workload_addons(self, self.cluster, ebs_csi_role_arn=self.roles[identities.EBS_CSI].arn,
                        cloudwatch_role_arn=cloudwatch.arn if cloudwatch else None, after=groups)
        self._observability(network)

    def _observability(self, network: NetworkStack) -> None:
        """Alarms on what runs in the cluster, and the environment's dashboard (README: "Alarms and runbook")."""
        topic = network.alarm_topic.arn
        name = self.resolved.names["cluster"]
        load_balancer_alarms(self, topic)
        if self.config.observability.container_insights:
            pod_alarms(self, topic, name)
        dashboard(self, cluster_name=name, database=self.resolved.names["database"],
                  nat_gateway_ids=[nat.id for nat in network.nat_gateways],
                  web_acl=waf_acl_name(self.resolved) if self.config.security.waf.enabled else None)

    def _control_plane(self, logs_key_arn: str, subnet_ids: list[str]) -> EksCluster:
        config = self.config.cluster
        name = self.resolved.names["cluster"]
        log_group = CloudwatchLogGroup(self, "cluster_logs", name=f"/aws/eks/{name}/cluster",
                                       retention_in_days=self.config.observability.log_retention_days,
                                       kms_key_id=logs_key_arn)
        trust = iam.trust_service(self, "cluster_trust", "eks.amazonaws.com",
                                  actions=("sts:AssumeRole", "sts:TagSession"))
        role = iam.role(self, "cluster_role", name=self.role_name("eks-cluster"), trust=trust,
                        managed_policies=[self.managed_policy("AmazonEKSClusterPolicy")],
                        description="EKS control plane")
        public = bool(config.public_access_cidrs)
        return EksCluster(
            self, "cluster", name=name, version=config.kubernetes_version, role_arn=role.arn,
            vpc_config=EksClusterVpcConfig(
                subnet_ids=subnet_ids, endpoint_private_access=True, endpoint_public_access=public,
                public_access_cidrs=list(config.public_access_cidrs) if public else None),
            encryption_config=EksClusterEncryptionConfig(
                resources=["secrets"], provider=EksClusterEncryptionConfigProvider(key_arn=self.eks_key.arn)),
            access_config=EksClusterAccessConfig(authentication_mode="API",
                                                 bootstrap_cluster_creator_admin_permissions=False),
            kubernetes_network_config=EksClusterKubernetesNetworkConfig(
                ip_family="ipv4", service_ipv4_cidr=config.service_cidr),
            enabled_cluster_log_types=list(LOG_TYPES), bootstrap_self_managed_addons=False,
            depends_on=[log_group, *role.grants],
        )

    def _admins(self) -> None:
        policy = f"arn:{self.partition}:eks::aws:cluster-access-policy/{ADMIN_POLICY}"
        for index, arn in enumerate(self.config.cluster.admin_principals):
            entry = EksAccessEntry(self, f"admin_{index}_access_entry", cluster_name=self.cluster.name,
                                   principal_arn=arn, type="STANDARD")
            EksAccessPolicyAssociation(self, f"admin_{index}_cluster_admin", cluster_name=self.cluster.name,
                                       principal_arn=arn, policy_arn=policy,
                                       access_scope=EksAccessPolicyAssociationAccessScope(type="cluster"),
                                       depends_on=[entry])

    def _irsa_roles(self, issuer_host: str, network: NetworkStack) -> dict[identities.ServiceAccount, iam.Role]:
        key_arn = network.data_key.arn
        bucket_arn = self.bucket_arn(self.resolved.names["storage_bucket"])

        def make(account: identities.ServiceAccount, *, managed: tuple[str, ...] = (),
                 statements: list[iam.Statement] | None = None) -> iam.Role:
            return irsa.irsa_role(self, self.oidc_provider, issuer_host, account, managed_policies=managed,
                                  statements=statements or [])

        roles = {
            identities.STORAGE: make(identities.STORAGE,
                                     statements=irsa.storage_statements(bucket_arn, key_arn)),
            identities.SECRET_STORE: make(identities.SECRET_STORE,
                                          statements=irsa.external_secrets_statements(self, key_arn)),
            identities.CLUSTER_AUTOSCALER: make(identities.CLUSTER_AUTOSCALER,
                                                statements=irsa.cluster_autoscaler_statements(self)),
            identities.LOAD_BALANCER_CONTROLLER: make(
                identities.LOAD_BALANCER_CONTROLLER,
                statements=irsa.load_balancer_controller_statements(self, network.vpc.id)),
            identities.EBS_CSI: make(identities.EBS_CSI,
                                     managed=(self.managed_policy("service-role/AmazonEBSCSIDriverPolicy"),)),
            identities.VPC_CNI: make(identities.VPC_CNI, managed=(self.managed_policy("AmazonEKS_CNI_Policy"),)),
        }
        if self.config.observability.container_insights:
            roles[identities.CLOUDWATCH_AGENT] = make(
                identities.CLOUDWATCH_AGENT, managed=(self.managed_policy("CloudWatchAgentServerPolicy"),))
        return roles
