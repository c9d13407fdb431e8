"""The WAF web ACL in front of the public API (REGIONAL scope, for the ALB).

Rules, in evaluation order: Amazon IP reputation list, a per-IP rate limit
(`security.waf.rate_limit` requests per 5 minutes), then the Common, KnownBadInputs (includes
the Log4j rules) and SQL injection managed rule groups. Requests are logged to a KMS-encrypted
log group (WAF requires the `aws-waf-logs-` name prefix) with the `authorization`, `apikey`
and `cookie` headers redacted, because Supabase JWTs and API keys travel in them.

The ACL is associated with the load balancer by the AWS Load Balancer Controller (ingress
annotation), since the ALB is created from the cluster, not by Terraform.
"""

from __future__ import annotations

from typing import Any

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktn_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)

from engine.targets.terraform.base import BaseStack

MANAGED_RULE_GROUPS = (
    ("ip-reputation", "AWSManagedRulesAmazonIpReputationList"),
    ("common", "AWSManagedRulesCommonRuleSet"),
    ("known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet"),
    ("sql-injection", "AWSManagedRulesSQLiRuleSet"),
)
REDACTED_HEADERS = ("apikey", "authorization", "cookie")


def web_acl(stack: BaseStack, logs_key_arn: str) -> Wafv2WebAcl | None:
    waf = stack.config.security.waf
    if not waf.enabled:
        return None
    name = stack.name("api")
    rules = [_managed(stack, "ip-reputation", MANAGED_RULE_GROUPS[0][1], priority=0)]
    rules.append(Wafv2WebAclRule(
        name="rate-limit", priority=1, action=Wafv2WebAclRuleAction(block={}),
        statement={"rate_based_statement": {"limit": waf.rate_limit, "aggregate_key_type": "IP"}},
        visibility_config=_visibility(stack, "rate-limit")))
    rules += [_managed(stack, short, group, priority=i + 1) for i, (short, group) in enumerate(MANAGED_RULE_GROUPS)
              if i > 0]
    acl = Wafv2WebAcl(stack, "web_acl", name=name, scope="REGIONAL", description="Public Supabase API",
                      default_action=Wafv2WebAclDefaultAction(allow={}), rule=rules,
                      visibility_config=Wafv2WebAclVisibilityConfig(
                          cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True))
    group = CloudwatchLogGroup(stack, "web_acl_logs", name=f"aws-waf-logs-{name}",
                               retention_in_days=stack.config.observability.log_retention_days,
                               kms_key_id=logs_key_arn)
    Wafv2WebAclLoggingConfiguration(
        stack, "web_acl_logging", resource_arn=acl.arn, log_destination_configs=[group.arn],
        redacted_fields=[Wafv2WebAclLoggingConfigurationRedactedFields(
            single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header))
            for header in REDACTED_HEADERS])
    return acl


def _managed(stack: BaseStack, short: str, group: str, *, priority: int) -> Wafv2WebAclRule:
    statement: dict[str, Any] = {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}}
    return Wafv2WebAclRule(name=short, priority=priority, override_action=Wafv2WebAclRuleOverrideAction(none={}),
                           statement=statement, visibility_config=_visibility(stack, short))


def _visibility(stack: BaseStack, rule: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(cloudwatch_metrics_enabled=True, metric_name=stack.name(rule),
                                           sampled_requests_enabled=True)
