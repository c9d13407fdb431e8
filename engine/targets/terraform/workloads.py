"""The workloads stack (`delivery.mode: helm`): namespaces, platform controllers and charts/supabase,
installed through the Helm provider with the infrastructure facts as Terraform references, so
one `apply` reaches a running platform (README: "The workloads stack").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdktn import AssetType, Fn, Postcondition, TerraformAsset, TerraformLocal, TerraformResourceLifecycle
from cdktn_provider_aws.data_aws_secretsmanager_secret_versions import DataAwsSecretsmanagerSecretVersions
from cdktn_provider_helm.provider import HelmProvider, HelmProviderKubernetes, HelmProviderKubernetesExec
from cdktn_provider_helm.release import Release
from cdktn_provider_http.data_http import DataHttp
from cdktn_provider_http.provider import HttpProvider
from constructs import Construct

from engine.errors import EngineError
from engine.identities import STORAGE, SUPABASE_NAMESPACE, ServiceAccount
from engine.resolve import Resolved
from engine.targets import platform
from engine.targets.helm import InfraOutputs, compile_values, version_token
from engine.targets.terraform.base import BaseStack
from engine.targets.terraform.cluster import ClusterStack
from engine.targets.terraform.data import DataStack
from engine.targets.terraform.database import PORT
from engine.targets.terraform.network import NetworkStack

CHART_PATH = "../../../charts/supabase"  # from out/<env>/terraform/stacks/workloads
NAMESPACES_CHART = Path(__file__).with_name("namespaces_chart")
RELEASE_NAME = "supabase"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
CONTROLLER_TIMEOUT_SECONDS = 600
SUPABASE_TIMEOUT_SECONDS = 1200  # the database bootstrap hook runs first
MAX_HISTORY = 10

# Valid stand-ins for the values that only Terraform knows; replaced by references after
# compile_values has validated the values (see the module docstring).
_STAND_INS = {
    "storage_bucket": "tf-ref-storage-bucket",
    "storage_role_arn": "arn:aws:iam::000000000000:role/tf-ref-storage-role",
}


def rds_ca_bundle_url(region: str, partition: str) -> str:
    """The public regional RDS CA bundle (PEM) that database clients verify the server with."""
    if partition == "aws-cn":
        return f"https://rds-truststore.s3.{region}.amazonaws.com.cn/{region}/{region}-bundle.pem"
    host = "truststore.pki.rds.amazonaws.com"
    if partition == "aws-us-gov":
        host = f"truststore.pki.{region}.rds.amazonaws.com"
    return f"https://{host}/{region}/{region}-bundle.pem"


class WorkloadsStack(BaseStack):
    """Exports: `namespaces`, `controllers` (releases by name), `supabase` (the chart's release)."""

    def __init__(self, scope: Construct, resolved: Resolved, network: NetworkStack, data: DataStack,
                 cluster: ClusterStack) -> None:
        super().__init__(scope, "workloads", resolved)
        self._helm_provider(cluster)
        self.namespaces = self._namespaces()
        self.controllers = {
            release.name: self._controller(release)
            for release in platform.controllers(resolved, role_arn=lambda account: _role_arn(cluster, account),
                                                vpc_id=network.vpc.id)
        }
        self.supabase = Release(
            self, "supabase", name=RELEASE_NAME, chart=CHART_PATH, namespace=SUPABASE_NAMESPACE,
            values=[supabase_values(resolved, data, cluster, self._version_tokens(data)), self._ca_bundle_values()],
            atomic=True, wait=True, cleanup_on_fail=True, timeout=SUPABASE_TIMEOUT_SECONDS, max_history=MAX_HISTORY,
            depends_on=[self.namespaces, *self.controllers.values()])

    def _helm_provider(self, cluster: ClusterStack) -> None:
        eks = cluster.cluster
        name = self.resolved.names["cluster"]
        HelmProvider(self, "helm", kubernetes=HelmProviderKubernetes(
            host=eks.endpoint,
            cluster_ca_certificate=Fn.base64decode(eks.certificate_authority.get(0).data),
            exec=HelmProviderKubernetesExec(
                api_version=EXEC_API_VERSION, command="aws",
                args=["eks", "get-token", "--cluster-name", name, "--region", self.region])))
        self.use_hashicorp_helm()
        HttpProvider(self, "http")

    def _namespaces(self) -> Release:
        chart = TerraformAsset(self, "namespaces_chart", path=str(NAMESPACES_CHART), type=AssetType.DIRECTORY)
        values = {"namespaces": {ns.name: ns.labels for ns in platform.namespaces()}}
        return Release(self, "namespaces", name="supa-engine-namespaces", chart=chart.path, namespace="kube-system",
                       values=[json.dumps(values, sort_keys=True)], atomic=True, wait=True,
                       max_history=MAX_HISTORY)

    def _controller(self, release: platform.ControllerRelease) -> Release:
        chart = release.chart
        return Release(
            self, release.name.replace("-", "_"), name=release.name, namespace=release.namespace,
            repository=chart.repository, chart=chart.chart, version=chart.version,
            values=[json.dumps(release.values, sort_keys=True)], atomic=True, wait=True, cleanup_on_fail=True,
            timeout=CONTROLLER_TIMEOUT_SECONDS, max_history=MAX_HISTORY, depends_on=[self.namespaces])

    def _version_tokens(self, data: DataStack) -> dict[str, str]:
        """Per secret, a reference to the first 10 hex digits of the SHA-256 of its current VersionId
        (what `engine.targets.helm.version_token` computes from a known VersionId)."""
        tokens = {}
        for name, secret in data.secrets.items():
            key = name.replace("-", "_")
            DataAwsSecretsmanagerSecretVersions(self, f"versions_{key}", secret_id=secret.arn)
            current = (f"[for v in data.aws_secretsmanager_secret_versions.versions_{key}.versions : "
                       'v.version_id if contains(v.version_stages, "AWSCURRENT")]')
            # A local keeps the quoted HCL at the top level of the JSON, out of the values document.
            local = TerraformLocal(self, f"version_{key}", f"${{substr(sha256(one({current})), 0, 10)}}")
            tokens[name] = local.as_string
        return tokens

    def _ca_bundle_values(self) -> str:
        bundle = DataHttp(
            self, "rds_ca_bundle", url=rds_ca_bundle_url(self.region, self.resolved.partition),
            lifecycle=TerraformResourceLifecycle(postcondition=[Postcondition(
                condition='${self.status_code == 200 && strcontains(self.response_body, "BEGIN CERTIFICATE")}',
                error_message="the RDS CA bundle could not be downloaded")]))
        return Fn.yamlencode({"database": {"tls": {"caBundle": bundle.response_body}}})


def _role_arn(cluster: ClusterStack, account: ServiceAccount) -> str:
    role_arn: str = cluster.roles[account].arn
    return role_arn


def supabase_values(resolved: Resolved, data: DataStack, cluster: ClusterStack,
                    version_tokens: Mapping[str, str]) -> str:
    """The chart values as one JSON document, infrastructure facts as Terraform references."""
    references = {
        "storage_bucket": data.storage_bucket.bucket,
        "storage_role_arn": cluster.roles[STORAGE].arn,
    }
    infra = InfraOutputs(
        region=resolved.config.project.region,
        database_port=PORT,
        storage_bucket=_STAND_INS["storage_bucket"],
        storage_role_arn=_STAND_INS["storage_role_arn"],
        access_log_bucket=resolved.names["log_bucket"],
        secret_versions={name: f"tf-ref-version-{name}" for name in version_tokens},
    )
    values = compile_values(resolved, infra)
    swap = {_STAND_INS[key]: reference for key, reference in references.items()}
    swap |= {version_token(f"tf-ref-version-{name}"): token for name, token in version_tokens.items()}
    replaced = _replace(values, swap)
    text = json.dumps(replaced, sort_keys=True)
    leftover = [stand_in for stand_in in swap if stand_in in text]
    if leftover:  # a stand-in inside a longer string would silently keep a fake value
        raise EngineError(f"chart values still hold stand-ins {leftover}; compile_values changed shape")
    return text


def _replace(value: Any, swap: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, swap) for v in value]
    if isinstance(value, str):
        return swap.get(value, value)
    return value
