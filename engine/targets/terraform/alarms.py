"""The alarm topic and CloudWatch metric alarms.

One KMS-encrypted SNS topic per environment, created in the network stack (the first stack,
so NAT alarms can use it) and referenced by the later stacks' alarms. Subscriptions come from
`observability.alarm_endpoints`: email addresses get `email`, https:// URLs get `https`.
"""

from __future__ import annotations

from collections.abc import Mapping

from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription

from engine.targets.terraform.base import BaseStack


def alarm_topic(stack: BaseStack, key: KmsKey) -> SnsTopic:
    topic = SnsTopic(stack, "alarms", name=stack.name("alarms"), kms_master_key_id=key.arn)
    for index, endpoint in enumerate(stack.config.observability.alarm_endpoints):
        protocol = "https" if endpoint.startswith("https://") else "email"
        SnsTopicSubscription(stack, f"alarms_{protocol}_{index}", topic_arn=topic.arn, protocol=protocol,
                             endpoint=endpoint)
    return topic


def metric_alarm(stack: BaseStack, id_: str, *, topic_arn: str, name: str, description: str, namespace: str,
                 metric: str, dimensions: Mapping[str, str], statistic: str, comparison: str, threshold: float,
                 period: int = 300, evaluation_periods: int = 3) -> CloudwatchMetricAlarm:
    """An alarm that notifies the topic when it fires and when it clears; missing data is not a breach."""
    return CloudwatchMetricAlarm(
        stack, id_, alarm_name=stack.name(name), alarm_description=description, namespace=namespace,
        metric_name=metric, dimensions=dict(dimensions), statistic=statistic, comparison_operator=comparison,
        threshold=threshold, period=period, evaluation_periods=evaluation_periods,
        treat_missing_data="notBreaching", alarm_actions=[topic_arn], ok_actions=[topic_arn],
    )
