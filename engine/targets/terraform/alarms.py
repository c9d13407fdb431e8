"""The alarm topic, CloudWatch metric alarms and the environment's dashboard.

One KMS-encrypted SNS topic per environment, created in the network stack (the first stack,
so NAT alarms can use it) and referenced by the later stacks' alarms. Subscriptions come from
`observability.alarm_endpoints`: email addresses get `email`, https:// URLs get `https`.
Thresholds come from `observability.alarms`; README "Alarms and runbook" says what each means.

The load balancer is created by the AWS Load Balancer Controller, so its CloudWatch dimension
(`app/<name>/<id>`) is AWS's: the cluster stack finds it by the tags the controller puts on it
(`aws_lbs`), and its alarms exist from the first apply after the load balancer does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cdktn import Fn, TerraformIterator, Token
from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktn_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktn_provider_aws.data_aws_lbs import DataAwsLbs
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription

from engine.identities import SUPABASE_NAMESPACE
from engine.targets.terraform.base import BaseStack

PERIOD = 300
ALB = "AWS/ApplicationELB"
INSIGHTS = "ContainerInsights"
# Tags the AWS Load Balancer Controller puts on every load balancer it creates.
CONTROLLER_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
CONTROLLER_RESOURCE_TAG = "ingress.k8s.aws/resource"


def alarm_topic(stack: BaseStack, key: KmsKey) -> SnsTopic:
    topic = SnsTopic(stack, "alarms", name=stack.name("alarms"), kms_master_key_id=key.arn)
    for index, endpoint in enumerate(stack.config.observability.alarm_endpoints):
        protocol = "https" if endpoint.startswith("https://") else "email"
        SnsTopicSubscription(stack, f"alarms_{protocol}_{index}", topic_arn=topic.arn, protocol=protocol,
                             endpoint=endpoint)
    return topic


def metric_alarm(stack: BaseStack, id_: str, *, topic_arn: str, name: str, description: str, namespace: str,
                 metric: str, dimensions: Mapping[str, str], statistic: str, comparison: str, threshold: float,
                 period: int = PERIOD, evaluation_periods: int = 3, **extra: Any) -> CloudwatchMetricAlarm:
    """An alarm that notifies the topic when it fires and when it clears; missing data is not a breach.

    `statistic` is a CloudWatch statistic or a percentile (`p99`, sent as extended_statistic).
    """
    percentile = statistic.startswith("p")
    return CloudwatchMetricAlarm(
        stack, id_, alarm_name=stack.name(name), alarm_description=description, namespace=namespace,
        metric_name=metric, dimensions=dict(dimensions), statistic=None if percentile else statistic,
        extended_statistic=statistic if percentile else None, comparison_operator=comparison,
        threshold=threshold, period=period, evaluation_periods=evaluation_periods,
        treat_missing_data="notBreaching", alarm_actions=[topic_arn], ok_actions=[topic_arn], **extra,
    )


def load_balancer_alarms(stack: BaseStack, topic_arn: str) -> DataAwsLbs:
    """5xx rate and p99 target latency of the controller-created load balancer, once it exists."""
    alarms = stack.config.observability.alarms
    lbs = DataAwsLbs(stack, "load_balancers", tags={CONTROLLER_CLUSTER_TAG: stack.resolved.names["cluster"],
                                                     CONTROLLER_RESOURCE_TAG: "LoadBalancer"})
    each = TerraformIterator.from_list(lbs.arns)
    dimension = {"LoadBalancer": Token.as_string(Fn.element(Fn.split("loadbalancer/", Token.as_string(each.value)), 1))}

    def count(id_: str, metric: str) -> CloudwatchMetricAlarmMetricQuery:
        return CloudwatchMetricAlarmMetricQuery(
            id=id_, return_data=False, metric=CloudwatchMetricAlarmMetricQueryMetric(
                namespace=ALB, metric_name=metric, dimensions=dimension, stat="Sum", period=PERIOD))

    CloudwatchMetricAlarm(
        stack, "api_5xx_alarm", for_each=each, alarm_name=stack.name("api-5xx-rate"),
        alarm_description=f"More than {alarms.api_5xx_percent}% of API requests failed with a 5xx "
                          "(kong or the load balancer) over 5 minutes",
        comparison_operator="GreaterThanThreshold", threshold=alarms.api_5xx_percent, evaluation_periods=1,
        treat_missing_data="notBreaching", alarm_actions=[topic_arn], ok_actions=[topic_arn],
        metric_query=[
            count("target", "HTTPCode_Target_5XX_Count"), count("elb", "HTTPCode_ELB_5XX_Count"),
            count("requests", "RequestCount"),
            CloudwatchMetricAlarmMetricQuery(id="rate", label="5xx percent", return_data=True,
                                             expression="100 * (FILL(target, 0) + FILL(elb, 0)) / requests"),
        ])
    metric_alarm(stack, "api_latency_alarm", topic_arn=topic_arn, name="api-target-latency", for_each=each,
                 description=f"p99 time to first byte from kong above {alarms.target_latency_seconds}s for "
                             "15 minutes",
                 namespace=ALB, metric="TargetResponseTime", dimensions=dimension, statistic="p99",
                 comparison="GreaterThanThreshold", threshold=alarms.target_latency_seconds)
    return lbs


def pod_alarms(stack: BaseStack, topic_arn: str, cluster_name: str) -> None:
    """Per enabled component: containers restarting, pods not Ready (Container Insights)."""
    alarms = stack.config.observability.alarms
    periods = alarms.pod_not_ready_minutes * 60 // PERIOD
    for service in stack.resolved.services:
        dims = {"ClusterName": cluster_name, "Namespace": SUPABASE_NAMESPACE, "PodName": service.name}
        key = service.name.replace("-", "_")
        metric_alarm(stack, f"pod_{key}_restarts_alarm", topic_arn=topic_arn, name=f"{service.name}-restarts",
                     description=f"{service.name} containers restarted {alarms.pod_restarts}+ times in 5 minutes "
                                 "(crash loop, OOM kill or failing liveness probe)",
                     namespace=INSIGHTS, metric="pod_number_of_container_restarts", dimensions=dims,
                     statistic="Sum", comparison="GreaterThanOrEqualToThreshold", threshold=alarms.pod_restarts,
                     evaluation_periods=1)
        # pod_status_ready is 1 per Ready pod; its average below 1 means some pod is not Ready.
        metric_alarm(stack, f"pod_{key}_not_ready_alarm", topic_arn=topic_arn, name=f"{service.name}-not-ready",
                     description=f"A {service.name} pod has not been Ready for {alarms.pod_not_ready_minutes} "
                                 "minutes",
                     namespace=INSIGHTS, metric="pod_status_ready", dimensions=dims, statistic="Average",
                     comparison="LessThanThreshold", threshold=1, evaluation_periods=periods)


def dashboard(stack: BaseStack, *, cluster_name: str, database: str, nat_gateway_ids: Sequence[str],
              web_acl: str | None) -> CloudwatchDashboard:
    """The same signals as the alarms, one row per area; the body is data dumped with sorted keys."""
    region = stack.region
    load_balancer = stack.resolved.names["load_balancer"]

    def search(namespace: str, dims: str, metric: str, stat: str, where: str = "") -> dict[str, Any]:
        return {"expression": f"SEARCH('{{{namespace},{dims}}} MetricName=\"{metric}\" {where}', '{stat}', "
                              f"{PERIOD})"}

    def widget(title: str, metrics: list[Any], y: int, x: int) -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "region": region, "view": "timeSeries", "stat": "Sum",
                               "period": PERIOD, "metrics": metrics}}

    lb_filter = load_balancer  # a free-text term: the dimension value is app/<name>/<id assigned by AWS>
    rows: list[tuple[str, list[Any]]] = [
        ("API 5xx (kong and load balancer)", [
            [search(ALB, "LoadBalancer", "HTTPCode_Target_5XX_Count", "Sum", lb_filter)],
            [search(ALB, "LoadBalancer", "HTTPCode_ELB_5XX_Count", "Sum", lb_filter)]]),
        ("API p99 target latency (s)", [[search(ALB, "LoadBalancer", "TargetResponseTime", "p99", lb_filter)]]),
        ("Container restarts per component", [[search(
            INSIGHTS, "ClusterName,Namespace,PodName", "pod_number_of_container_restarts", "Sum",
            f"ClusterName=\"{cluster_name}\" Namespace=\"{SUPABASE_NAMESPACE}\"")]]),
        ("Ready pods per component", [[search(
            INSIGHTS, "ClusterName,Namespace,PodName", "pod_status_ready", "Sum",
            f"ClusterName=\"{cluster_name}\" Namespace=\"{SUPABASE_NAMESPACE}\"")]]),
        ("Database CPU (%)", [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", database,
                               {"stat": "Average"}]]),
        ("Database free storage (bytes)", [["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", database,
                                            {"stat": "Minimum"}]]),
        ("Database connections", [["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", database,
                                   {"stat": "Maximum"}]]),
        ("Oldest replication slot lag (bytes)", [["AWS/RDS", "OldestReplicationSlotLag", "DBInstanceIdentifier",
                                                  database, {"stat": "Maximum"}]]),
        ("NAT port allocation errors", [["AWS/NATGateway", "ErrorPortAllocation", "NatGatewayId", nat]
                                        for nat in nat_gateway_ids]),
    ]
    if web_acl is not None:
        rows.append(("WAF blocked requests", [["AWS/WAFV2", "BlockedRequests", "WebACL", web_acl, "Region", region,
                                               "Rule", "ALL"]]))
    widgets = [widget(title, metrics, y=6 * (i // 2), x=12 * (i % 2)) for i, (title, metrics) in enumerate(rows)]
    return CloudwatchDashboard(stack, "dashboard", dashboard_name=stack.name("overview"),
                               dashboard_body=json.dumps({"widgets": widgets}, sort_keys=True))
