"""The data stack: the data KMS key, RDS PostgreSQL, the storage buckets, the Secrets Manager
containers and the WAF web ACL.

Secrets: one KMS-encrypted container per secret in `resolved.secrets` (the catalog's list for the
enabled components).
No `aws_secretsmanager_secret_version` is ever created, so no secret value reaches Terraform
state or the synthesized files; `apply` generates and stores the values afterwards, and
External Secrets delivers them to pods.
"""

from __future__ import annotations

from cdktn import TerraformOutput
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktn_provider_aws.wafv2_web_acl import Wafv2WebAcl
from constructs import Construct

from engine.resolve import Resolved
from engine.targets.terraform.base import BaseStack
from engine.targets.terraform.buckets import storage_buckets
from engine.targets.terraform.database import RdsDatabase, database
from engine.targets.terraform.kms import data_key
from engine.targets.terraform.network import NetworkStack
from engine.targets.terraform.waf import web_acl

SECRET_RECOVERY_DAYS = 30


class DataStack(BaseStack):
    """Exports: `data_key`, `database`, `storage_bucket`, `secrets`, `web_acl`."""

    data_key: KmsKey
    database: RdsDatabase
    storage_bucket: S3Bucket
    web_acl: Wafv2WebAcl | None

    def __init__(self, scope: Construct, resolved: Resolved, network: NetworkStack) -> None:
        super().__init__(scope, "data", resolved)
        self.data_key = data_key(self)
        self.database = database(self, key=self.data_key, logs_key_arn=network.logs_key.arn, vpc_id=network.vpc.id,
                                 subnet_ids=[s.id for s in network.database_subnets],
                                 topic_arn=network.alarm_topic.arn)
        self.storage_bucket = storage_buckets(self, self.data_key, s3_endpoint_id=network.s3_endpoint.id)
        self.secrets = {
            secret.name: SecretsmanagerSecret(self, f"secret_{secret.name.replace('-', '_')}",
                                              name=resolved.secret_name(secret), description=secret.purpose,
                                              kms_key_id=self.data_key.arn,
                                              recovery_window_in_days=SECRET_RECOVERY_DAYS)
            for secret in resolved.secrets
        }
        self.web_acl = web_acl(self, network.logs_key.arn)
        self._outputs()

    def _outputs(self) -> None:
        """What AWS assigns at creation and the chart needs (read by hand for Argo CD delivery)."""
        instance = self.database.instance
        TerraformOutput(self, "database_address", value=instance.address,
                        description="RDS endpoint host name (chart value database.host)")
        TerraformOutput(self, "database_master_secret_arn", value=instance.master_user_secret.get(0).secret_arn,
                        description="RDS-managed master user secret (chart value bootstrap.masterSecretArn)")
        if self.web_acl is not None:
            TerraformOutput(self, "waf_acl_arn", value=self.web_acl.arn,
                            description="WAF web ACL of the load balancer (chart value ingress.wafAclArn)")
