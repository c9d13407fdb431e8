"""Which stacks an environment has and how they are wired together.

Values flow forward only, as CDK Terrain cross-stack references (the producer gets an output,
the consumer a `terraform_remote_state` on the producer's backend); the manifest records the
resulting dependencies, which decide the apply order. The graph has three levels:

    network -> {data, cluster} -> workloads

`data` and `cluster` both read only `network` (which owns the keys and security groups they
share); the cluster names what it needs of the data stack by ARN, so neither waits for the other.

The workloads stack (Helm releases into the cluster) exists only with `delivery.mode: helm`.
With `argocd`, Terraform never needs reach to the cluster API: Argo CD installs the same
controllers and the chart from inside the cluster (`engine.targets.argocd`).
"""

from __future__ import annotations

from constructs import Construct

from engine.resolve import Resolved
from engine.targets.terraform.cluster import ClusterStack
from engine.targets.terraform.data import DataStack
from engine.targets.terraform.network import NetworkStack


def add_stacks(app: Construct, resolved: Resolved) -> None:
    network = NetworkStack(app, resolved)
    data = DataStack(app, resolved, network)
    cluster = ClusterStack(app, resolved, network)
    if resolved.config.delivery.mode == "helm":
        # Imported here: the Helm and http provider bindings load only when the stack exists.
        from engine.targets.terraform.workloads import WorkloadsStack  # noqa: PLC0415

        WorkloadsStack(app, resolved, network, data, cluster)
