"""The data stack: RDS PostgreSQL, the storage buckets, the Secrets Manager containers, the WAF
web ACL and the SSM parameters that publish what AWS assigns. It depends on the network stack
only (which owns the data key and the database security group); the cluster stack names what
it needs from here by ARN patterns, so the two stacks apply side by side.

Secrets: one KMS-encrypted container per secret in `resolved.secrets` (the catalog's list for the
enabled components).
No `aws_secretsmanager_secret_version` is ever created, so no secret value reaches Terraform
state or the synthesized files; `apply` generates and stores the values afterwards, and
External Secrets delivers them to pods.
"""

from __future__ import annotations

from cdktn import TerraformOutput
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktn_provider_aws.ssm_parameter import SsmParameter
from cdktn_provider_aws.wafv2_web_acl import Wafv2WebAcl
from constructs import Construct

from engine.resolve import Resolved
from engine.targets.helm import (
    DATABASE_HOST_PARAMETER,
    MASTER_SECRET_PARAMETER,
    WAF_ACL_PARAMETER,
    infra_parameter,
    published_parameters,
)
from engine.targets.terraform.alarms import metric_alarm
from engine.targets.terraform.base import BaseStack
from engine.targets.terraform.buckets import storage_buckets
from engine.targets.terraform.database import RdsDatabase, database
from engine.targets.terraform.network import NetworkStack
from engine.targets.terraform.waf import web_acl

SECRET_RECOVERY_DAYS = 30


class DataStack(BaseStack):
    """Exports: `database`, `storage_bucket`, `secrets`, `web_acl`."""

    database: RdsDatabase
    storage_bucket: S3Bucket
    web_acl: Wafv2WebAcl | None

    def __init__(self, scope: Construct, resolved: Resolved, network: NetworkStack) -> None:
        super().__init__(scope, "data", resolved)
        key = network.data_key
        self.database = database(self, key_arn=key.arn, logs_key_arn=network.logs_key.arn,
                                 group=network.database_security_group,
                                 subnet_ids=[s.id for s in network.database_subnets],
                                 topic_arn=network.alarm_topic.arn)
        self.storage_bucket = storage_buckets(self, key, s3_endpoint_id=network.s3_endpoint.id)
        self.secrets = {
            secret.name: SecretsmanagerSecret(self, f"secret_{secret.name.replace('-', '_')}",
                                              name=resolved.secret_name(secret), description=secret.purpose,
                                              kms_key_id=key.arn,
                                              recovery_window_in_days=SECRET_RECOVERY_DAYS)
            for secret in resolved.secrets
        }
        self.web_acl = web_acl(self, network.logs_key.arn)
        if self.web_acl is not None:
            limit = self.config.observability.alarms.waf_blocked_requests
            metric_alarm(self, "waf_blocked_alarm", topic_arn=network.alarm_topic.arn, name="waf-blocked",
                         description=f"WAF blocked more than {limit} requests in 5 minutes (attack, or a rule "
                                     "blocking real clients)",
                         namespace="AWS/WAFV2", metric="BlockedRequests", statistic="Sum",
                         dimensions={"WebACL": self.web_acl.name, "Region": self.region, "Rule": "ALL"},
                         comparison="GreaterThanThreshold", threshold=limit, evaluation_periods=1)
        self.parameters = self._parameters()
        self._outputs()

    def _parameters(self) -> dict[str, SsmParameter]:
        """What AWS assigns at creation, published for the cluster to read at runtime (External Secrets
        reads `database-host`; the others are for operators and scripts). Not secrets: plain String."""
        instance = self.database.instance
        facts = {
            DATABASE_HOST_PARAMETER: (instance.address, "RDS endpoint host name"),
            MASTER_SECRET_PARAMETER: (instance.master_user_secret.get(0).secret_arn,
                                      "ARN of the RDS-managed master user secret"),
        }
        if self.web_acl is not None:
            facts[WAF_ACL_PARAMETER] = (self.web_acl.arn, "WAF web ACL of the load balancer")
        # The cluster stack grants reads on these by name (published_parameters), not by reference.
        return {
            key: SsmParameter(self, f"parameter_{key.replace('-', '_')}", name=infra_parameter(self.resolved, key),
                              type="String", value=facts[key][0], description=facts[key][1])
            for key in published_parameters(self.resolved)
        }

    def _outputs(self) -> None:
        """What AWS assigns at creation, for operators (the chart reads the SSM parameters instead)."""
        instance = self.database.instance
        TerraformOutput(self, "database_address", value=instance.address,
                        description="RDS endpoint host name (also SSM parameter database-host)")
        TerraformOutput(self, "database_master_secret_arn", value=instance.master_user_secret.get(0).secret_arn,
                        description="RDS-managed master user secret (also SSM parameter database-master-secret-arn)")
        if self.web_acl is not None:
            TerraformOutput(self, "waf_acl_arn", value=self.web_acl.arn,
                            description="WAF web ACL of the load balancer (also SSM parameter waf-acl-arn)")
