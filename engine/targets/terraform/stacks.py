"""Which stacks an environment has and how they are wired together.

Values flow forward only, network -> data -> cluster, as CDK Terrain cross-stack references
(the producer gets an output, the consumer a `terraform_remote_state` on the producer's
backend); the manifest records the resulting dependencies, which decide the apply order.
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
    ClusterStack(app, resolved, network, data)
