"""What the config's alarms, dashboard and published parameters must look like in the synthesized
stacks; shared by the example tests and the generated-config property test."""

from __future__ import annotations

import json
from typing import Any

from engine.resolve import Resolved
from engine.targets.helm import infra_parameter
from engine.targets.terraform.database import GIB, default_max_connections
from tests.support import Synthesized

TOPIC = "${data.terraform_remote_state.cross-stack-reference-input-network.outputs."


def expected_alarms(resolved: Resolved) -> dict[str, set[str]]:
    """Alarm names per stack that the config calls for."""
    prefix = resolved.prefix
    nats = 1 if resolved.config.network.nat == "single" else len(resolved.subnets)
    data = {f"{prefix}-database-{k}" for k in ("cpu", "free-storage", "connections", "replication-slot-lag")}
    if resolved.config.security.waf.enabled:
        data.add(f"{prefix}-waf-blocked")
    cluster = {f"{prefix}-api-5xx-rate", f"{prefix}-api-target-latency"}
    if resolved.config.observability.container_insights:
        cluster |= {f"{prefix}-{s.name}-{kind}" for s in resolved.services for kind in ("restarts", "not-ready")}
    return {"network": {f"{prefix}-nat-{i}-port-allocation" for i in range(nats)}, "data": data,
            "cluster": cluster}


def alarms_by_name(out: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return {a["alarm_name"]: a for a in out.resources(stack, "aws_cloudwatch_metric_alarm").values()}


def assert_observability(out: Synthesized) -> None:
    resolved = out.resolved
    limits = resolved.config.observability.alarms
    for stack, names in expected_alarms(resolved).items():
        alarms = alarms_by_name(out, stack)
        assert set(alarms) == names, stack
        for alarm in alarms.values():
            assert alarm["alarm_actions"] == alarm["ok_actions"]
            assert alarm["alarm_actions"][0].startswith(TOPIC if stack != "network" else "${aws_sns_topic.alarms")
            assert alarm["treat_missing_data"] == "notBreaching"
    cluster = alarms_by_name(out, "cluster")
    prefix = resolved.prefix
    assert cluster[f"{prefix}-api-5xx-rate"]["threshold"] == limits.api_5xx_percent
    assert cluster[f"{prefix}-api-target-latency"]["threshold"] == limits.target_latency_seconds
    assert cluster[f"{prefix}-api-target-latency"]["extended_statistic"] == "p99"
    for name in (f"{prefix}-api-5xx-rate", f"{prefix}-api-target-latency"):
        assert cluster[name]["for_each"] == "${toset(tolist(data.aws_lbs.load_balancers.arns))}"
    if resolved.config.observability.container_insights:
        for service in resolved.services:
            restarts = cluster[f"{prefix}-{service.name}-restarts"]
            assert restarts["metric_name"] == "pod_number_of_container_restarts"
            assert restarts["namespace"] == "ContainerInsights"
            assert restarts["dimensions"] == {"ClusterName": resolved.names["cluster"], "Namespace": "supabase",
                                              "PodName": service.name}
            assert restarts["threshold"] == limits.pod_restarts
            ready = cluster[f"{prefix}-{service.name}-not-ready"]
            assert ready["metric_name"] == "pod_status_ready"
            assert ready["evaluation_periods"] * ready["period"] == limits.pod_not_ready_minutes * 60
    data = alarms_by_name(out, "data")
    db = resolved.config.database
    assert data[f"{prefix}-database-cpu"]["threshold"] == limits.database_cpu_percent
    assert data[f"{prefix}-database-free-storage"]["threshold"] == (
        db.allocated_storage_gib * GIB * limits.database_free_storage_percent // 100)
    assert data[f"{prefix}-database-connections"]["threshold"] == (
        default_max_connections(db.instance_class) * limits.database_connections_percent // 100)
    if resolved.config.security.waf.enabled:
        waf = data[f"{prefix}-waf-blocked"]
        assert waf["threshold"] == limits.waf_blocked_requests
        assert waf["dimensions"]["Rule"] == "ALL" and waf["namespace"] == "AWS/WAFV2"

    parameters = {p["name"]: p for p in out.resources("data", "aws_ssm_parameter").values()}
    expected = {infra_parameter(resolved, "database-host"), infra_parameter(resolved, "database-master-secret-arn")}
    if resolved.config.security.waf.enabled:
        expected.add(infra_parameter(resolved, "waf-acl-arn"))
    assert set(parameters) == expected
    assert parameters[infra_parameter(resolved, "database-host")]["value"] == "${aws_db_instance.database.address}"

    (board,) = out.resources("cluster", "aws_cloudwatch_dashboard").values()
    body = json.loads(board["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert len(titles) == len(set(titles)) >= 9
    assert any("WAF" in t for t in titles) == resolved.config.security.waf.enabled
    assert board["dashboard_body"] == json.dumps(body, sort_keys=True)
