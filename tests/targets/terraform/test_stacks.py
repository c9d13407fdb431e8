"""The synthesized stacks of the example environments carry every required setting."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from engine.identities import SERVICE_ACCOUNTS
from engine.stack_graph import dependencies
from tests.support import ENVIRONMENTS, Synthesized

REMOTE = "data.terraform_remote_state.cross-stack-reference-input-"
DATA_KEY = "${" + REMOTE + "network.outputs.cross-stack-output-aws_kms_keydata_keyarn}"


@pytest.fixture(params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    chosen: Synthesized = synthesized[request.param]
    return chosen


def statements(out: Synthesized, stack: str, document: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = out.data(stack, "aws_iam_policy_document")[document]["statement"]
    return found


def test_stacks_and_dependency_order(env: Synthesized) -> None:
    stacks = env.manifest["stacks"]
    assert set(stacks) == {"network", "data", "cluster", "workloads"}
    assert stacks["network"]["dependencies"] == []
    assert stacks["data"]["dependencies"] == ["network"]
    assert stacks["cluster"]["dependencies"] == ["network"]  # data and cluster apply side by side
    assert sorted(stacks["workloads"]["dependencies"]) == ["cluster", "data", "network"]


def test_backend_provider_and_version_pin(env: Synthesized) -> None:
    state = env.resolved.state
    for name, stack in env.stacks.items():
        terraform = stack["terraform"]
        assert terraform["backend"]["s3"] == {"bucket": state.bucket, "key": state.key(name), "region": state.region,
                                              "encrypt": True, "use_lockfile": True}
        assert terraform["required_version"] == ">= 1.10.0"
        assert terraform["required_providers"]["aws"]["source"] == "hashicorp/aws"
        (provider,) = stack["provider"]["aws"]
        assert provider["region"] == env.resolved.config.project.region
        assert provider["default_tags"] == [{"tags": dict(env.resolved.tags)}]


def test_cross_stack_values_come_from_remote_state(env: Synthesized) -> None:
    cluster = env.one("cluster", "aws_eks_cluster", "cluster")
    assert all(s.startswith("${" + REMOTE + "network.") for s in cluster["vpc_config"]["subnet_ids"])
    remote = env.data("cluster", "terraform_remote_state")
    assert list(remote) == [REMOTE.rsplit(".", maxsplit=1)[-1][:-1] + "-network"]
    assert remote[REMOTE.rsplit(".", maxsplit=1)[-1][:-1] + "-network"]["config"]["key"] == \
        env.resolved.state.key("network")
    assert list(env.data("data", "terraform_remote_state")) == list(remote)


# -- network ------------------------------------------------------------------------------------


def test_subnets_are_private_by_default_and_tagged(env: Synthesized) -> None:
    subnets = env.resources("network", "aws_subnet")
    zones = len(env.resolved.subnets)
    assert len(subnets) == 3 * zones
    assert all(s["map_public_ip_on_launch"] is False for s in subnets.values())
    cluster_tag = f"kubernetes.io/cluster/{env.resolved.names['cluster']}"
    for zone in env.resolved.subnets:
        public, private = subnets[f"public_{zone.index}"], subnets[f"private_{zone.index}"]
        assert public["cidr_block"] == zone.public and public["tags"]["kubernetes.io/role/elb"] == "1"
        assert private["cidr_block"] == zone.private and private["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert public["tags"][cluster_tag] == private["tags"][cluster_tag] == "shared"
        assert subnets[f"database_{zone.index}"]["cidr_block"] == zone.database


def test_nat_gateways_follow_the_nat_setting(env: Synthesized) -> None:
    nats = env.resources("network", "aws_nat_gateway")
    zones = len(env.resolved.subnets)
    single = env.resolved.config.network.nat == "single"
    assert len(nats) == (1 if single else zones)
    assert len(env.resources("network", "aws_eip")) == len(nats)
    routes = env.resources("network", "aws_route")
    for i in range(zones):
        expected = "nat_0" if single else f"nat_{i}"
        assert routes[f"private_{i}_default_route"]["nat_gateway_id"] == f"${{aws_nat_gateway.{expected}.id}}"
    assert routes["public_default_route"]["gateway_id"] == "${aws_internet_gateway.internet_gateway.id}"
    # The database route table has no routes at all.
    assert not [r for r in routes.values() if "database_routes" in r["route_table_id"]]
    alarms = env.resources("network", "aws_cloudwatch_metric_alarm")
    assert sorted(a["metric_name"] for a in alarms.values()) == ["ErrorPortAllocation"] * len(nats)


def test_flow_logs_default_sg_and_endpoints(env: Synthesized) -> None:
    (flow,) = env.resources("network", "aws_flow_log").values()
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    group = env.one("network", "aws_cloudwatch_log_group", "flow_log_group")
    assert group["kms_key_id"] == "${aws_kms_key.logs_key.arn}"
    assert group["retention_in_days"] == env.resolved.config.network.flow_log_retention_days
    (default_sg,) = env.resources("network", "aws_default_security_group").values()
    assert "ingress" not in default_sg and "egress" not in default_sg
    endpoints = env.resources("network", "aws_vpc_endpoint")
    s3 = endpoints.pop("s3_endpoint")
    assert s3["vpc_endpoint_type"] == "Gateway"
    assert len(s3["route_table_ids"]) == len(env.resolved.subnets) + 1
    assert len(endpoints) == len(env.resolved.config.network.interface_endpoints)
    assert all(e["private_dns_enabled"] is True for e in endpoints.values())
    rule = env.one("network", "aws_vpc_security_group_ingress_rule", "endpoints_https_ingress")
    assert (rule["from_port"], rule["to_port"], rule["cidr_ipv4"]) == (443, 443, env.resolved.config.network.vpc_cidr)
    assert rule["description"]
    assert all(sg["description"] for sg in env.resources("network", "aws_security_group").values())


def test_alarm_topic_is_encrypted_with_subscriptions(env: Synthesized) -> None:
    topic = env.one("network", "aws_sns_topic", "alarms")
    assert topic["kms_master_key_id"] == "${aws_kms_key.logs_key.arn}"
    subscriptions = env.resources("network", "aws_sns_topic_subscription").values()
    expected = {("https" if e.startswith("https://") else "email", e)
                for e in env.resolved.config.observability.alarm_endpoints}
    assert {(s["protocol"], s["endpoint"]) for s in subscriptions} == expected


# -- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "key"), [("network", "logs_key"), ("network", "data_key"), ("cluster", "eks_key")])
def test_kms_keys_rotate_and_have_no_wildcard_principal(env: Synthesized, stack: str, key: str) -> None:
    resource = env.one(stack, "aws_kms_key", key)
    assert resource["enable_key_rotation"] is True
    assert resource["rotation_period_in_days"] == env.resolved.config.security.kms_rotation_days
    assert resource["policy"] == f"${{data.aws_iam_policy_document.{key}_policy.json}}"
    policy = statements(env, stack, f"{key}_policy")
    principals = [i for s in policy for p in s.get("principals", []) for i in p["identifiers"]]
    assert "*" not in principals
    root = next(s for s in policy if s["sid"] == "AccountAdministersKey")
    assert root["principals"][0]["identifiers"] == [
        "arn:${data.aws_partition.partition.partition}:iam::${data.aws_caller_identity.caller.account_id}:root"]
    assert "kms:*" not in root["actions"] and "kms:Decrypt" not in root["actions"]


def test_logs_key_binds_the_logs_service_to_log_groups(env: Synthesized) -> None:
    policy = statements(env, "network", "logs_key_policy")
    logs = next(s for s in policy if s["sid"] == "CloudWatchLogsEncryptsLogGroups")
    assert logs["principals"] == [{"type": "Service", "identifiers": ["logs.eu-west-1.amazonaws.com"]}]
    assert logs["condition"][0]["variable"] == "kms:EncryptionContext:aws:logs:arn"


def test_data_key_is_only_usable_through_data_services(env: Synthesized) -> None:
    policy = statements(env, "network", "data_key_policy")
    use = next(s for s in policy if s["sid"] == "UseThroughDataServices")
    via = next(c for c in use["condition"] if c["variable"] == "kms:ViaService")
    assert sorted(via["values"]) == [f"{s}.eu-west-1.amazonaws.com" for s in ("rds", "s3", "secretsmanager")]


# -- data ---------------------------------------------------------------------------------------


def test_rds_instance_settings(env: Synthesized) -> None:
    db = env.resolved.config.database
    instance = env.one("data", "aws_db_instance", "database")
    key = DATA_KEY
    expected = {
        "engine": "postgres", "publicly_accessible": False, "storage_encrypted": True, "kms_key_id": key,
        "manage_master_user_password": True, "master_user_secret_kms_key_id": key,
        "iam_database_authentication_enabled": True, "performance_insights_enabled": db.performance_insights,
        "performance_insights_kms_key_id": key, "monitoring_interval": 60,
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"], "multi_az": db.multi_az,
        "deletion_protection": db.deletion_protection, "backup_retention_period": db.backup_retention_days,
        "backup_window": db.backup_window, "maintenance_window": db.maintenance_window,
        "auto_minor_version_upgrade": True, "copy_tags_to_snapshot": True, "storage_type": "gp3",
        "max_allocated_storage": db.max_allocated_storage_gib, "skip_final_snapshot": False,
        "final_snapshot_identifier": f"{env.resolved.names['database']}-final",
    }
    assert {k: instance.get(k) for k in expected} == expected
    assert "password" not in instance
    (role,) = [a for a in env.resources("data", "aws_iam_role_policy_attachment").values()
               if "AmazonRDSEnhancedMonitoringRole" in a["policy_arn"]]
    assert role["role"] == "${aws_iam_role.database_monitoring_role.name}"


def test_rds_parameter_group(env: Synthesized) -> None:
    group = env.one("data", "aws_db_parameter_group", "database_parameters")
    assert group["family"] == f"postgres{env.resolved.config.database.engine_version}"
    parameters = {p["name"]: (p["value"], p["apply_method"]) for p in group["parameter"]}
    assert parameters == {
        "rds.force_ssl": ("1", "immediate"),
        "rds.logical_replication": ("1", "pending-reboot"),
        "shared_preload_libraries": ("pg_stat_statements", "pending-reboot"),
        "log_statement": ("ddl", "immediate"),
        "log_min_duration_statement": ("1000", "immediate"),
    }


def test_database_admits_only_the_workload_security_group(env: Synthesized) -> None:
    for stack in ("data", "cluster"):
        assert not env.resources(stack, "aws_security_group")
        assert not env.resources(stack, "aws_vpc_security_group_ingress_rule")
        assert not env.resources(stack, "aws_vpc_security_group_egress_rule")
    database, workload = "${aws_security_group.database_security_group.id}", \
        "${aws_security_group.workload_security_group.id}"
    ingress = [r for r in env.resources("network", "aws_vpc_security_group_ingress_rule").values()
               if r["security_group_id"] == database]
    egress = [r for r in env.resources("network", "aws_vpc_security_group_egress_rule").values()
              if r["security_group_id"] == workload]
    assert len(ingress) == len(egress) == 1
    for rule, other in ((ingress[0], workload), (egress[0], database)):
        assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (5432, 5432, "tcp")
        assert rule["referenced_security_group_id"] == other and "cidr_ipv4" not in rule
    # The groups are used where the database and the nodes are, through the network stack's outputs.
    instance = env.one("data", "aws_db_instance", "database")
    (group,) = instance["vpc_security_group_ids"]
    assert group.startswith("${" + REMOTE + "network.") and "database_security_group" in group
    templates = env.resources("cluster", "aws_launch_template").values()
    assert all(any("workload_security_group" in g for g in t["vpc_security_group_ids"]) for t in templates)


def test_rds_alarms(env: Synthesized) -> None:
    alarms = [a for a in env.resources("data", "aws_cloudwatch_metric_alarm").values() if a["namespace"] == "AWS/RDS"]
    assert sorted(a["metric_name"] for a in alarms) == [
        "CPUUtilization", "DatabaseConnections", "FreeStorageSpace", "OldestReplicationSlotLag"]
    assert all(a["alarm_actions"][0].startswith("${" + REMOTE + "network.") for a in alarms)


def test_buckets(env: Synthesized) -> None:
    names = env.resolved.names
    buckets = env.resources("data", "aws_s3_bucket")
    assert {b["bucket"] for b in buckets.values()} == {names["storage_bucket"], names["log_bucket"]}
    for name in ("storage_bucket", "log_bucket"):
        block = env.one("data", "aws_s3_bucket_public_access_block", f"{name}_public_access_block")
        assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                              "restrict_public_buckets"))
        ownership = env.one("data", "aws_s3_bucket_ownership_controls", f"{name}_ownership")
        assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
        versioning = env.one("data", "aws_s3_bucket_versioning", f"{name}_versioning")
        assert versioning["versioning_configuration"]["status"] == "Enabled"
        (rule,) = env.one("data", "aws_s3_bucket_lifecycle_configuration", f"{name}_lifecycle")["rule"]
        assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
        tls = statements(env, "data", f"{name}_policy_document")[0]
        assert (tls["effect"], tls["actions"], tls["condition"][0]["variable"], tls["condition"][0]["values"]) == (
            "Deny", ["s3:*"], "aws:SecureTransport", ["false"])
    storage_rule = env.one("data", "aws_s3_bucket_lifecycle_configuration", "storage_bucket_lifecycle")["rule"][0]
    assert storage_rule["noncurrent_version_expiration"] == [
        {"noncurrent_days": env.resolved.config.storage.noncurrent_version_expiry_days}]
    (sse,) = env.one("data", "aws_s3_bucket_server_side_encryption_configuration", "storage_bucket_encryption")["rule"]
    assert sse["bucket_key_enabled"] is True
    assert sse["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms",
                                                              "kms_master_key_id": DATA_KEY}
    logging = env.one("data", "aws_s3_bucket_logging", "storage_bucket_logging")
    assert logging["target_bucket"] == "${aws_s3_bucket.log_bucket.id}"
    # S3 refuses to turn logging on before the target's policy lets the logging service write.
    assert logging["depends_on"] == ["aws_s3_bucket_policy.log_bucket_policy"]


def test_secret_containers_without_values(env: Synthesized) -> None:
    secrets = env.resources("data", "aws_secretsmanager_secret").values()
    assert sorted(s["name"] for s in secrets) == sorted(env.resolved.secret_name(s) for s in env.resolved.secrets)
    assert all(s["kms_key_id"] == DATA_KEY for s in secrets)
    smtp = env.resolved.config.supabase.auth.smtp is not None
    assert any(s["name"].endswith("smtp-password") for s in secrets) == smtp


def test_no_secret_values_anywhere(env: Synthesized) -> None:
    for stack in env.stacks.values():
        assert "aws_secretsmanager_secret_version" not in stack.get("resource", {})

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "//":  # CDK Terrain's metadata: construct paths and output names
                        continue
                    literal = isinstance(value, str) and not value.startswith("${")  # not a reference
                    if "password" in key and key != "manage_master_user_password" and literal:
                        pytest.fail(f"literal {key} in output")
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(stack)


def test_waf(env: Synthesized) -> None:
    waf = env.resolved.config.security.waf
    (acl,) = env.resources("data", "aws_wafv2_web_acl").values()
    assert waf.enabled and acl["scope"] == "REGIONAL"
    groups = [r["statement"]["managed_rule_group_statement"]["name"] for r in acl["rule"]
              if "managed_rule_group_statement" in r["statement"]]
    assert sorted(groups) == ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                              "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"]
    (rate,) = [r for r in acl["rule"] if "rate_based_statement" in r["statement"]]
    assert rate["statement"]["rate_based_statement"]["limit"] == waf.rate_limit
    logs = env.one("data", "aws_cloudwatch_log_group", "web_acl_logs")
    assert logs["name"].startswith("aws-waf-logs-") and logs["kms_key_id"].startswith("${" + REMOTE + "network.")
    assert env.resources("data", "aws_wafv2_web_acl_logging_configuration")


# -- cluster ------------------------------------------------------------------------------------


def test_eks_cluster(env: Synthesized) -> None:
    config = env.resolved.config
    cluster = env.one("cluster", "aws_eks_cluster", "cluster")
    vpc = cluster["vpc_config"]
    assert vpc["endpoint_private_access"] is True
    assert vpc["endpoint_public_access"] is bool(config.cluster.public_access_cidrs)
    assert vpc.get("public_access_cidrs", []) == list(config.cluster.public_access_cidrs)
    assert "0.0.0.0/0" not in vpc.get("public_access_cidrs", [])
    assert cluster["encryption_config"] == {"resources": ["secrets"],
                                            "provider": {"key_arn": "${aws_kms_key.eks_key.arn}"}}
    assert cluster["enabled_cluster_log_types"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert cluster["access_config"] == {"authentication_mode": "API",
                                        "bootstrap_cluster_creator_admin_permissions": False}
    assert cluster["kubernetes_network_config"]["service_ipv4_cidr"] == config.cluster.service_cidr
    assert "aws_cloudwatch_log_group.cluster_logs" in cluster["depends_on"]
    logs = env.one("cluster", "aws_cloudwatch_log_group", "cluster_logs")
    assert logs["name"] == f"/aws/eks/{env.resolved.names['cluster']}/cluster"
    assert logs["retention_in_days"] == config.observability.log_retention_days


def test_admin_access_entries(env: Synthesized) -> None:
    admins = env.resolved.config.cluster.admin_principals
    entries = env.resources("cluster", "aws_eks_access_entry").values()
    associations = env.resources("cluster", "aws_eks_access_policy_association").values()
    assert sorted(e["principal_arn"] for e in entries) == sorted(admins)
    assert all(a["policy_arn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
               and a["access_scope"] == {"type": "cluster"} for a in associations)
    assert len(list(associations)) == len(admins)


def test_oidc_provider(env: Synthesized) -> None:
    (oidc,) = env.resources("cluster", "aws_iam_openid_connect_provider").values()
    assert oidc["client_id_list"] == ["sts.amazonaws.com"]
    assert oidc["url"] == "${aws_eks_cluster.cluster.identity[0].oidc[0].issuer}"


def test_node_groups_and_launch_templates(env: Synthesized) -> None:
    groups = env.resources("cluster", "aws_eks_node_group")
    templates = env.resources("cluster", "aws_launch_template")
    assert sorted(g["node_group_name"] for g in groups.values()) == sorted(env.resolved.config.cluster.node_groups)
    for group in groups.values():
        assert all("private" in s for s in group["subnet_ids"])
        assert "remote_access" not in group
        template = templates[group["launch_template"]["id"].split(".")[1]]
        assert template["metadata_options"] == {"http_endpoint": "enabled", "http_tokens": "required",
                                                "http_put_response_hop_limit": 1}
        (device,) = template["block_device_mappings"]
        assert device["ebs"]["encrypted"] == "true" and device["ebs"]["volume_type"] == "gp3"
        assert device["ebs"]["kms_key_id"] == "${aws_kms_key.eks_key.arn}"
        assert "key_name" not in template
        assert ("${" + REMOTE + "network.outputs.cross-stack-output-aws_security_groupworkload_security_groupid}"
                in template["vpc_security_group_ids"])
    node_policies = [a["policy_arn"] for n, a in env.resources("cluster", "aws_iam_role_policy_attachment").items()
                     if n.startswith("node_role")]
    assert sorted(p.rsplit("/", 1)[1] for p in node_policies) == ["AmazonEC2ContainerRegistryPullOnly",
                                                                   "AmazonEKSWorkerNodePolicy"]


def test_addons(env: Synthesized) -> None:
    addons = {a["addon_name"]: a for a in env.resources("cluster", "aws_eks_addon").values()}
    expected = {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    if env.resolved.config.observability.container_insights:
        expected.add("amazon-cloudwatch-observability")
    assert set(addons) == expected
    assert json.loads(addons["vpc-cni"]["configuration_values"]) == {"enableNetworkPolicy": "true"}
    assert addons["vpc-cni"]["service_account_role_arn"] == "${aws_iam_role.irsa_vpc_cni.arn}"
    assert addons["aws-ebs-csi-driver"]["service_account_role_arn"] == "${aws_iam_role.irsa_ebs_csi.arn}"


def test_irsa_trust_is_pinned_to_one_service_account(env: Synthesized) -> None:
    documents = env.data("cluster", "aws_iam_policy_document")
    roles = env.resources("cluster", "aws_iam_role")
    for account in SERVICE_ACCOUNTS:
        id_ = account.role_suffix.replace("-", "_")
        if id_ not in roles:
            assert account.name == "cloudwatch-agent" and not env.resolved.config.observability.container_insights
            continue
        assert roles[id_]["name"] == f"{env.resolved.names['role_prefix']}-{account.role_suffix}"
        (trust,) = documents[f"{id_}_trust"]["statement"]
        assert trust["actions"] == ["sts:AssumeRoleWithWebIdentity"]
        conditions = {c["variable"].rsplit(":", 1)[1]: (c["test"], c["values"]) for c in trust["condition"]}
        assert conditions == {"sub": ("StringEquals", [account.subject]),
                              "aud": ("StringEquals", ["sts.amazonaws.com"])}
        assert all(c["variable"].startswith('${replace(aws_iam_openid_connect_provider.oidc_provider.url, "https://"')
                   for c in trust["condition"])


def test_irsa_permissions_are_scoped(env: Synthesized) -> None:
    documents = env.data("cluster", "aws_iam_policy_document")
    storage = documents["irsa_storage_permissions"]["statement"]
    assert all(r != "*" for s in storage for r in s["resources"])
    secrets = documents["irsa_secret_store_permissions"]["statement"][0]
    assert secrets["resources"][0].endswith(f":secret:{env.resolved.names['secret_prefix']}*")
    autoscaler = {s["sid"]: s for s in documents["irsa_cluster_autoscaler_permissions"]["statement"]}
    resize = autoscaler["ResizeOwnGroups"]["condition"][0]
    assert resize["variable"] == f"aws:ResourceTag/k8s.io/cluster-autoscaler/{env.resolved.names['cluster']}"
    assert resize["values"] == ["owned"]


def test_policies_are_documents_never_strings(env: Synthesized) -> None:
    for stack in env.stacks.values():
        for kind in ("aws_iam_role", "aws_iam_role_policy", "aws_kms_key", "aws_s3_bucket_policy"):
            for resource in stack.get("resource", {}).get(kind, {}).values():
                for field in ("policy", "assume_role_policy"):
                    if field in resource:
                        assert re.fullmatch(r"\$\{data\.aws_iam_policy_document\.\w+\.json\}", resource[field])


def test_iam_role_names_fit(env: Synthesized) -> None:
    for stack in env.stacks.values():
        for role in stack.get("resource", {}).get("aws_iam_role", {}).values():
            assert len(role["name"]) <= 64


def test_data_stack_outputs_what_aws_assigns(env: Synthesized) -> None:
    outputs = env.stacks["data"]["output"]
    assert outputs["database_address"]["value"] == "${aws_db_instance.database.address}"
    secret = outputs["database_master_secret_arn"]["value"]
    assert secret == "${aws_db_instance.database.master_user_secret[0].secret_arn}"
    assert ("waf_acl_arn" in outputs) == env.resolved.config.security.waf.enabled
    assert not any(o.get("sensitive") for name, o in outputs.items() if not name.startswith("cross-stack-output"))


def _before(graph: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """Every stack that must come before each stack (the transitive closure of its dependencies)."""
    closure: dict[str, set[str]] = {}

    def of(name: str) -> set[str]:
        if name not in closure:
            closure[name] = {d for dep in graph[name] for d in {dep, *of(dep)}}
        return closure[name]

    return {name: of(name) for name in graph}


def test_synthesized_stack_graph_is_the_described_one(env: Synthesized) -> None:
    # engine/stack_graph.py is what `supa-engine graph` prints; the manifest is what deploy runs.
    # The same order constraints (a direct edge implied by others, such as workloads reading
    # network, changes nothing) mean the same levels.
    synthesized = {name: tuple(s["dependencies"]) for name, s in env.manifest["stacks"].items()}
    assert _before(synthesized) == _before(dependencies(env.resolved.config))
