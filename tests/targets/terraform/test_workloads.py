"""The workloads stack: Helm provider, namespaces, pinned controllers and the supabase release.

Reads the session's synthesized environments (conftest); the argocd-mode case synthesizes one
more environment (cheap once CDK Terrain is loaded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import load_config
from engine.identities import (
    CLUSTER_AUTOSCALER,
    EXTERNAL_SECRETS_CONTROLLER,
    LOAD_BALANCER_CONTROLLER,
    SECRET_STORE,
    STORAGE,
)
from engine.resolve import resolve
from engine.targets import platform
from engine.targets.terraform.app import synthesize
from engine.targets.terraform.workloads import CHART_PATH, rds_ca_bundle_url
from tests.support import ENVIRONMENTS, ROOT, Synthesized, load_output

REMOTE = "${data.terraform_remote_state.cross-stack-reference-input-"
PINNED = {
    "external-secrets": ("https://charts.external-secrets.io", "external-secrets", "2.13.0"),
    "aws-load-balancer-controller": ("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.5.0"),
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0"),
    "metrics-server": ("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.14.0"),
}


@pytest.fixture(params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    chosen: Synthesized = synthesized[request.param]
    return chosen


def releases(out: Synthesized) -> dict[str, dict[str, Any]]:
    return {body["name"]: body for body in out.resources("workloads", "helm_release").values()}


def values(release: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(release["values"][0])
    return loaded


def test_workloads_comes_after_cluster(env: Synthesized) -> None:
    stacks = env.manifest["stacks"]
    assert sorted(stacks["workloads"]["dependencies"]) == ["cluster", "data", "network"]
    assert "workloads" not in {dep for entry in stacks.values() for dep in entry["dependencies"]}


def test_helm_provider_reaches_the_cluster_with_exec_auth(env: Synthesized) -> None:
    stack = env.stacks["workloads"]
    assert stack["terraform"]["required_providers"]["helm"]["source"] == "hashicorp/helm"
    assert stack["terraform"]["required_providers"]["http"]["source"] == "hashicorp/http"
    assert stack["terraform"]["backend"]["s3"]["key"] == env.resolved.state.key("workloads")
    (helm,) = stack["provider"]["helm"]
    kubernetes = helm["kubernetes"]
    assert kubernetes["host"].startswith(REMOTE + "cluster.")
    assert kubernetes["cluster_ca_certificate"].startswith("${base64decode(data.terraform_remote_state.")
    region = env.resolved.config.project.region
    assert kubernetes["exec"] == {
        "api_version": "client.authentication.k8s.io/v1beta1", "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", env.resolved.names["cluster"], "--region", region]}
    assert "token" not in kubernetes


def test_namespaces_are_restricted_and_come_first(env: Synthesized) -> None:
    found = releases(env)
    namespaces = found["supa-engine-namespaces"]
    assert namespaces["chart"].startswith("assets/namespaces_chart/")
    chart_dir = env.outdir / "stacks" / "workloads" / namespaces["chart"]
    assert yaml.safe_load((chart_dir / "Chart.yaml").read_text())["name"] == "supa-engine-namespaces"
    labels = values(namespaces)["namespaces"]
    assert set(labels) == {"supabase", "external-secrets"}
    for ns_labels in labels.values():
        for mode in ("enforce", "audit", "warn"):
            assert ns_labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
            assert ns_labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"
    for name, release in found.items():
        if name != "supa-engine-namespaces":
            assert "helm_release.namespaces" in release["depends_on"]
            assert not release.get("create_namespace")


def test_controllers_are_pinned_and_wait(env: Synthesized) -> None:
    found = releases(env)
    for name, (repository, chart, version) in PINNED.items():
        release = found[name]
        assert (release["repository"], release["chart"], release["version"]) == (repository, chart, version)
        assert release["atomic"] is True and release["wait"] is True


def role_output(account_suffix: str) -> str:
    return f"cross-stack-output-aws_iam_role{account_suffix.replace('-', '_')}arn"


def test_controller_service_accounts_carry_their_roles(env: Synthesized) -> None:
    found = releases(env)
    eso = values(found["external-secrets"])
    assert eso["installCRDs"] is True
    # The controller's own account has no role (a SecretStore without auth would borrow it);
    # only the store's dedicated account, which the ClusterSecretStore names, has one.
    assert eso["serviceAccount"]["name"] == EXTERNAL_SECRETS_CONTROLLER
    assert platform.ROLE_ANNOTATION not in eso["serviceAccount"]["annotations"]
    [store] = eso["extraObjects"]
    assert (store["kind"], store["metadata"]["name"]) == ("ServiceAccount", SECRET_STORE.name)
    assert store["automountServiceAccountToken"] is False
    annotation = store["metadata"]["annotations"][platform.ROLE_ANNOTATION]
    assert annotation.startswith(REMOTE + "cluster.") and role_output(SECRET_STORE.role_suffix) in annotation
    alb = values(found["aws-load-balancer-controller"])
    assert alb["clusterName"] == env.resolved.names["cluster"]
    assert alb["region"] == env.resolved.config.project.region
    assert alb["vpcId"].startswith(REMOTE + "network.")
    assert role_output(LOAD_BALANCER_CONTROLLER.role_suffix) in alb["serviceAccount"]["annotations"][
        platform.ROLE_ANNOTATION]
    autoscaler = values(found["cluster-autoscaler"])
    assert autoscaler["autoDiscovery"] == {"clusterName": env.resolved.names["cluster"]}
    assert autoscaler["awsRegion"] == env.resolved.config.project.region
    minor = env.resolved.config.cluster.kubernetes_version
    assert autoscaler["image"]["tag"].startswith(f"v{minor}.")
    assert role_output(CLUSTER_AUTOSCALER.role_suffix) in autoscaler["rbac"]["serviceAccount"]["annotations"][
        platform.ROLE_ANNOTATION]


def test_controllers_ask_for_restricted_containers(env: Synthesized) -> None:
    found = releases(env)
    containers = [values(found["external-secrets"])["securityContext"],
                  values(found["aws-load-balancer-controller"])["securityContext"],
                  values(found["cluster-autoscaler"])["containerSecurityContext"],
                  values(found["metrics-server"])["securityContext"]]
    for context in containers:
        assert context["runAsNonRoot"] is True and context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    for name in PINNED:
        chart_values = values(found[name])
        assert "memory" in chart_values["resources"]["limits"]


def test_supabase_release_uses_the_copied_chart_after_the_controllers(env: Synthesized) -> None:
    release = releases(env)["supabase"]
    assert release["chart"] == CHART_PATH == "../../../charts/supabase"
    assert release["namespace"] == "supabase"
    assert (release["atomic"], release["wait"]) == (True, True) and release["timeout"] >= 600
    assert set(release["depends_on"]) == {
        "helm_release.namespaces", "helm_release.external_secrets", "helm_release.aws_load_balancer_controller",
        "helm_release.cluster_autoscaler", "helm_release.metrics_server"}


def test_supabase_values_reference_the_real_infrastructure(env: Synthesized) -> None:
    chart_values = values(releases(env)["supabase"])
    text = json.dumps(chart_values)
    assert "tf-ref" not in text and "placeholder" not in text
    bucket_output = "data.outputs.cross-stack-output-aws_s3_bucketstorage_bucketbucket}"
    assert chart_values["storage"]["bucket"] == REMOTE + bucket_output
    assert role_output(STORAGE.role_suffix) in chart_values["storage"]["roleArn"]
    # What AWS assigns is named, not carried: the chart reads it at runtime (SSM, the master secret's tag).
    assert chart_values["database"]["hostParameter"] == f"/{env.resolved.prefix}/infra/database-host"
    assert chart_values["database"]["port"] == 5432
    assert chart_values["bootstrap"]["databaseArn"].endswith(f":db:{env.resolved.names['database']}")
    assert chart_values["ingress"]["accessLogs"]["bucket"] == env.resolved.names["log_bucket"]
    waf = chart_values["ingress"]["wafAclName"]
    assert waf == (f"{env.resolved.prefix}-api" if env.resolved.config.security.waf.enabled else "")
    assert chart_values["database"]["tls"]["caBundle"] == ""  # merged from the second values document


def test_rds_ca_bundle_is_fetched_at_apply_time(env: Synthesized) -> None:
    region = env.resolved.config.project.region
    (bundle,) = env.data("workloads", "http").values()
    assert bundle["url"] == f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
    assert "BEGIN CERTIFICATE" in bundle["lifecycle"]["postcondition"][0]["condition"]
    second = releases(env)["supabase"]["values"][1]
    assert second == '${yamlencode({"database" = {"tls" = {"caBundle" = data.http.rds_ca_bundle.response_body}}})}'


def test_rds_ca_bundle_url_per_partition() -> None:
    assert rds_ca_bundle_url("us-gov-west-1", "aws-us-gov") == (
        "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/us-gov-west-1/us-gov-west-1-bundle.pem")
    assert rds_ca_bundle_url("cn-north-1", "aws-cn").startswith("https://rds-truststore.s3.cn-north-1.")


def test_external_secrets_may_read_the_rds_master_secret(env: Synthesized) -> None:
    document = env.data("cluster", "aws_iam_policy_document")["irsa_secret_store_permissions"]
    partition, account = "${data.aws_partition.partition.partition}", "${data.aws_caller_identity.caller.account_id}"
    region = env.resolved.config.project.region
    read = next(s for s in document["statement"] if s["sid"] == "ReadMasterSecretOfThisInstance")
    # By name: secrets RDS owns, tagged (reserved aws: keys nobody else can set) with this instance's ARN.
    assert read["actions"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert read["resources"] == [f"arn:{partition}:secretsmanager:{region}:{account}:secret:rds!db-*"]
    instance = f"arn:{partition}:rds:{region}:{account}:db:{env.resolved.names['database']}"
    assert sorted((c["test"], c["variable"], tuple(c["values"])) for c in read["condition"]) == [
        ("StringEquals", "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn", (instance,)),
        ("StringEquals", "secretsmanager:ResourceTag/aws:secretsmanager:owningService", ("rds",))]
    assert env.one("data", "aws_db_instance", "database")["identifier"] == env.resolved.names["database"]
    platform = next(s for s in document["statement"] if s["sid"] == "ReadPlatformSecrets")
    assert platform["resources"] == [
        f"arn:{partition}:secretsmanager:{region}:{account}:secret:{env.resolved.names['secret_prefix']}*"]
    decrypt = next(s for s in document["statement"] if s["sid"] == "DecryptPlatformSecrets")
    assert decrypt["actions"] == ["kms:Decrypt"] and decrypt["resources"] == [
        "${data.terraform_remote_state.cross-stack-reference-input-network.outputs."
        "cross-stack-output-aws_kms_keydata_keyarn}"]


def test_log_bucket_admits_alb_access_logs(env: Synthesized) -> None:
    document = env.data("data", "aws_iam_policy_document")["log_bucket_policy_document"]
    (alb,) = [s for s in document["statement"] if s["sid"] == "LoadBalancerAccessLogDelivery"]
    assert alb["actions"] == ["s3:PutObject"]
    account = "${data.aws_caller_identity.caller.account_id}"
    assert alb["resources"][0].endswith(f"/alb/{env.resolved.prefix}/AWSLogs/{account}/*")
    identifiers = {i for p in alb["principals"] for i in p["identifiers"]}
    assert "logdelivery.elasticloadbalancing.amazonaws.com" in identifiers


def test_argocd_mode_has_no_workloads_stack(tmp_path: Path, synthesized: dict[str, Synthesized]) -> None:
    config_path = tmp_path / "argocd.yaml"
    config_path.write_text(yaml.safe_dump({
        "extends": str(ROOT / "environments" / "dev.yaml"),
        "delivery": {"mode": "argocd", "argocd": {"repo_url": "https://github.com/acme/platform.git",
                                                  "path": "out/dev"}},
    }))
    resolved = resolve(load_config(config_path).config)
    synthesize(resolved, tmp_path / "out")
    out = load_output(resolved, tmp_path / "out")
    assert set(out.manifest["stacks"]) == {"network", "data", "cluster"}
    assert not any("helm_release" in stack.get("resource", {}) for stack in out.stacks.values())


def test_synced_secret_names_follow_each_secrets_current_version(env: Synthesized) -> None:
    """Rotating a secret changes its AWSCURRENT VersionId, hence the synced Secret's name, hence the pods."""
    workloads = env.stacks["workloads"]
    items = values(releases(env)["supabase"])["secrets"]["items"]
    assert set(items) == {s.name for s in env.resolved.secrets}
    for name, item in items.items():
        key = name.replace("-", "_")
        assert item["version"] == f"${{local.version_{key}}}"
        local = workloads["locals"][f"version_{key}"]
        assert local.startswith("${substr(sha256(one([for v in data.aws_secretsmanager_secret_versions."
                                f"versions_{key}.versions : v.version_id if contains(v.version_stages, \"AWSCURRENT\")")
        source = workloads["data"]["aws_secretsmanager_secret_versions"][f"versions_{key}"]
        assert source["secret_id"].endswith(f"secret_{key}arn}}")  # the data stack's container, by reference
    assert "aws_secretsmanager_secret_version" not in workloads.get("data", {})  # never a value
