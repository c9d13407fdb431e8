"""The config model: one frozen, strict pydantic model per section, assembled into `Config`."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from engine.config.model.base import Section
from engine.config.model.cluster import Cluster
from engine.config.model.database import Database
from engine.config.model.network import Network
from engine.config.model.operations import Autoscaling, Delivery, Observability, State
from engine.config.model.project import Project
from engine.config.model.security import Security
from engine.config.model.storage import Storage
from engine.config.model.supabase import Supabase


class Config(Section):
    """A complete supa-engine config: one self-hosted Supabase platform on AWS."""

    model_config = ConfigDict(title="supa-engine config")

    project: Project = Field(description="Name, environment, region, tier and tags.",
                             examples=[{"name": "acme", "region": "eu-west-1", "tier": "production"}])
    network: Network = Field(Network(), description="VPC, subnets, NAT, flow logs and endpoints.")
    cluster: Cluster = Field(Cluster(), description="EKS control plane and node groups.")
    database: Database = Field(Database(), description="RDS PostgreSQL.")
    storage: Storage = Field(Storage(), description="S3 storage for the Storage API.")
    security: Security = Field(
        description="Certificate, keys, ingress sources, WAF and Studio access.",
        examples=[{"certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/"
                   "0f2b6c1e-2a6d-4b8a-9d3e-5c7f1a2b3c4d"}],
    )
    supabase: Supabase = Field(description="Public endpoint, components and auth.",
                               examples=[{"domain": "api.example.com"}])
    autoscaling: Autoscaling = Field(Autoscaling(), description="Replica bounds and CPU targets.")
    observability: Observability = Field(Observability(), description="Logs, Container Insights and alarms.")
    delivery: Delivery = Field(Delivery(), description="How the chart reaches the cluster.")
    state: State = Field(State(), description="Where Terraform keeps its state.")


__all__ = ["Config"]
