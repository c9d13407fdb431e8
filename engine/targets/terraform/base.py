"""What every stack shares: state backend, AWS provider, version pin, names and ARNs.

Each stack keeps its own state object (`<key_prefix>/<env>/<stack>.tfstate`) in the S3 backend
with native S3 locking (`use_lockfile`, Terraform/OpenTofu >= 1.10), encrypted at rest. The
provider tags every resource with the resolved tags. ARNs are built from the partition and
account data sources, never from literals, so the same output works in aws, aws-cn and
aws-us-gov accounts.
"""

from __future__ import annotations

from cdktn import S3Backend, TerraformStack
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from engine.resolve import Resolved

REQUIRED_VERSION = ">= 1.10.0"
IAM_NAME_MAX = 64


class BaseStack(TerraformStack):
    """A stack with the backend, provider and helpers every stack needs."""

    def __init__(self, scope: Construct, name: str, resolved: Resolved) -> None:
        super().__init__(scope, name)
        self.resolved = resolved
        self.config = resolved.config
        self.region = resolved.config.project.region
        state = resolved.state
        S3Backend(self, bucket=state.bucket, key=state.key(name), region=state.region,
                  encrypt=True, use_lockfile=True)
        AwsProvider(self, "aws", region=self.region, default_tags=[AwsProviderDefaultTags(tags=dict(resolved.tags))])
        self.add_override("terraform.required_version", REQUIRED_VERSION)
        self._caller = DataAwsCallerIdentity(self, "caller")
        self._partition = DataAwsPartition(self, "partition")

    @property
    def account_id(self) -> str:
        return self._caller.account_id

    @property
    def partition(self) -> str:
        return self._partition.partition

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        """`arn:<partition>:<service>:<region>:<account>:<resource>` with tokens for the unknowns."""
        region = self.region if regional else ""
        owner = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{owner}:{resource}"

    def bucket_arn(self, bucket: str) -> str:
        """An S3 bucket's ARN, which is its name (bucket names are global: no region, no account)."""
        return self.arn("s3", bucket, regional=False, account=False)

    def parameter_arn(self, name: str) -> str:
        """An SSM parameter's ARN: `parameter/<name>`; a leading `/` of the name is that slash, not a second one.

        (`/a/b` has the ARN `...:parameter/a/b`, `c` has `...:parameter/c`: SSM API Reference,
        PutParameter `Name`; the same rule as the `aws_ssm_parameter` resource's `arn`.)
        """
        return self.arn("ssm", f"parameter/{name.removeprefix('/')}")

    @property
    def account_root(self) -> str:
        return self.arn("iam", "root", regional=False)

    def managed_policy(self, path: str) -> str:
        """ARN of an AWS managed policy, e.g. `AmazonEKSWorkerNodePolicy` or `service-role/...`."""
        return f"arn:{self.partition}:iam::aws:policy/{path}"

    def service_host(self, service: str) -> str:
        """Regional service endpoint used in `kms:ViaService` and service principals (China's end in .cn)."""
        suffix = ".cn" if self.resolved.partition == "aws-cn" else ""
        return f"{service}.{self.region}.amazonaws.com{suffix}"

    def name(self, suffix: str) -> str:
        """`<prefix>-<suffix>`: the name of a resource this platform owns."""
        return f"{self.resolved.prefix}-{suffix}"

    def role_name(self, suffix: str) -> str:
        name = f"{self.resolved.names['role_prefix']}-{suffix}"
        if len(name) > IAM_NAME_MAX:  # role_prefix <= 38 and suffixes <= 25 make this unreachable
            raise AssertionError(f"IAM role name {name!r} exceeds {IAM_NAME_MAX} characters")
        return name

    def use_hashicorp_helm(self) -> None:
        """cdktn-provider-helm emits `source = "helm"`, ambiguous for OpenTofu; pin the registry source."""
        self.add_override("terraform.required_providers.helm.source", "hashicorp/helm")
