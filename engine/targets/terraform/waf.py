"""The WAF web ACL in front of the public API (REGIONAL scope, for the ALB).

Rules, in evaluation order: Amazon IP reputation list, a per-IP rate limit
(`security.waf.rate_limit` requests per 5 minutes), then the Common, KnownBadInputs (includes
the Log4j rules) and SQL injection managed rule groups. Requests are logged to a KMS-encrypted
log group (WAF requires the `aws-waf-logs-` name prefix) with the `authorization`, `apikey`
and `cookie` headers redacted, because Supabase JWTs and API keys travel in them.

The Common rule set blocks every body over 8 KB (SizeRestrictions_BODY), which would refuse
every Storage upload. That rule only counts (and labels) here; a rule after the groups blocks
labelled requests everywhere but under `/storage/v1/`, where the Storage API enforces
`storage.upload_size_limit_mb` itself.

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

from engine.targets.helm import waf_acl_name
from engine.targets.terraform.base import BaseStack

MANAGED_RULE_GROUPS = (
    ("ip-reputation", "AWSManagedRulesAmazonIpReputationList"),
    ("common", "AWSManagedRulesCommonRuleSet"),
    ("known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet"),
    ("sql-injection", "AWSManagedRulesSQLiRuleSet"),
)
REDACTED_HEADERS = ("apikey", "authorization", "cookie")
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
UPLOAD_PREFIX = "/storage/v1/"


def web_acl(stack: BaseStack, logs_key_arn: str) -> Wafv2WebAcl | None:
    waf = stack.config.security.waf
    if not waf.enabled:
        return None
    name = waf_acl_name(stack.resolved)  # the dashboard and the ingress name it too
    rules = [_managed(stack, "ip-reputation", MANAGED_RULE_GROUPS[0][1], priority=0)]
    rules.append(Wafv2WebAclRule(
        name="rate-limit", priority=1, action=Wafv2WebAclRuleAction(block={}),
        statement={"rate_based_statement": {"limit": waf.rate_limit, "aggregate_key_type": "IP"}},
        visibility_config=_visibility(stack, "rate-limit")))
    rules += [_managed(stack, short, group, priority=i + 1) for i, (short, group) in enumerate(MANAGED_RULE_GROUPS)
              if i > 0]
    rules.append(_large_bodies_outside_uploads(stack, priority=len(MANAGED_RULE_GROUPS) + 1))
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
    if short == "common":
        statement["managed_rule_group_statement"]["rule_action_override"] = [
            {"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}]
    return Wafv2WebAclRule(name=short, priority=priority, override_action=Wafv2WebAclRuleOverrideAction(none={}),
                           statement=statement, visibility_config=_visibility(stack, short))


def _large_bodies_outside_uploads(stack: BaseStack, *, priority: int) -> Wafv2WebAclRule:
    """Block what SizeRestrictions_BODY labelled, unless the (normalised) path is an upload path."""
    uploads = {"byte_match_statement": {
        "search_string": UPLOAD_PREFIX, "positional_constraint": "STARTS_WITH", "field_to_match": {"uri_path": {}},
        "text_transformation": [{"priority": 0, "type": "URL_DECODE"}, {"priority": 1, "type": "NORMALIZE_PATH"}]}}
    statement = {"and_statement": {"statement": [
        {"label_match_statement": {"scope": "LABEL", "key": BODY_SIZE_LABEL}},
        {"not_statement": {"statement": [uploads]}},
    ]}}
    return Wafv2WebAclRule(name="large-body", priority=priority, action=Wafv2WebAclRuleAction(block={}),
                           statement=statement, visibility_config=_visibility(stack, "large-body"))


def _visibility(stack: BaseStack, rule: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(cloudwatch_metrics_enabled=True, metric_name=stack.name(rule),
                                           sampled_requests_enabled=True)
