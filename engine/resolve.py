"""Derive the facts every target shares from a validated config.

Names, tags, the subnet plan, the state location and the enabled services with their images,
resources and scaling are computed here once (the service graph between them is cut to the
config by `engine.graph`), so the Terraform, Helm and policy compilers
agree on them and never re-derive them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from engine.catalog import (
    BY_NAME,
    SECRETS,
    SMS_SECRET,
    Secret,
    enabled,
    env_secret,
    provider_secret,
)
from engine.config.model import Config
from engine.config.model.network import subnet_prefixes
from engine.config.model.project import partition_of
from engine.config.model.supabase import Image
from engine.config.rules import bucket_names
from engine.errors import EngineError

MANAGED_BY = "supa-engine"

# AWS name length limits for every name the engine derives (purpose -> limit).
NAME_LIMITS: Mapping[str, int] = {
    "cluster": 100,
    "database": 63,
    "storage_bucket": 63,
    "log_bucket": 63,
    "state_bucket": 63,
    "load_balancer": 32,
    "role_prefix": 38,  # IAM role names are <= 64; the longest role suffix is 26 characters
    "kms_alias": 256,
    "log_group": 512,
    "secret_prefix": 400,
}


@dataclass(frozen=True)
class ZoneSubnets:
    index: int
    private: str
    public: str
    database: str
    # The fixed address of the STS interface endpoint in this zone (the private subnet's last
    # usable address): network policies can then name the endpoint, not the whole subnet.
    sts_endpoint: str


@dataclass(frozen=True)
class Scaling:
    min_replicas: int
    max_replicas: int
    cpu_target_percent: int


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    image: str
    cpu: str
    memory: str
    cpu_limit: str
    scaling: Scaling
    uses_database: bool


@dataclass(frozen=True)
class StateLocation:
    bucket: str
    region: str
    key_prefix: str
    environment: str

    def key(self, stack: str) -> str:
        return f"{self.key_prefix}/{self.environment}/{stack}.tfstate"


@dataclass(frozen=True)
class Resolved:
    config: Config
    prefix: str
    partition: str
    names: Mapping[str, str]
    tags: Mapping[str, str]
    zones: tuple[str, ...] | None
    subnets: tuple[ZoneSubnets, ...]
    services: tuple[Service, ...]
    secrets: tuple[Secret, ...]
    state: StateLocation
    bootstrap_image: str

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def secret_name(self, secret: Secret) -> str:
        return self.names["secret_prefix"] + secret.name


def resolve(config: Config) -> Resolved:
    project = config.project
    prefix = f"{project.name}-{project.environment}"
    region = project.region
    names = {
        "cluster": prefix,
        "database": prefix,
        **bucket_names(config),
        "load_balancer": f"{prefix}-api",
        "role_prefix": prefix,
        "kms_alias": f"alias/{prefix}",
        "log_group": f"/supa-engine/{prefix}",
        "secret_prefix": f"{prefix}/",
    }
    for purpose, name in names.items():
        if len(name) > NAME_LIMITS[purpose]:  # the model's bounds make this unreachable
            raise AssertionError(f"derived {purpose} name {name!r} exceeds {NAME_LIMITS[purpose]} characters")
    tags = {**config.project.tags, "Project": project.name, "Environment": project.environment,
            "ManagedBy": MANAGED_BY}
    services = tuple(service_of(config, name) for name in enabled(config.supabase.components))
    on = {s.name for s in services}
    return Resolved(
        config=config,
        prefix=prefix,
        partition=partition_of(region),
        names=names,
        tags=dict(sorted(tags.items())),
        zones=config.network.zone_names,
        subnets=subnet_plan(config.network.vpc_cidr, config.network.availability_zones),
        services=services,
        secrets=secrets_of(config, on),
        bootstrap_image=_bootstrap_image(config),
        state=StateLocation(
            bucket=names["state_bucket"],
            region=config.state.region or region,
            key_prefix=config.state.key_prefix,
            environment=project.environment,
        ),
    )


def secrets_of(config: Config, on: set[str]) -> tuple[Secret, ...]:
    """The catalog's secrets for the enabled components, then those the config adds: a client secret
    per enabled sign-in provider, the SMS provider's, and each escape-hatch `{secret: name}`."""
    auth = config.supabase.auth
    static = [s for s in SECRETS if s.needs is None or s.needs in on or (s.needs == "smtp" and auth.smtp is not None)]
    if "auth" in on:
        static += [provider_secret(name) for name, p in sorted(auth.providers.items()) if p.enabled]
        static += [SMS_SECRET] if auth.sms is not None else []
    readers: dict[str, list[str]] = {}
    for name in sorted(on):
        for value in getattr(config.supabase.components, name).env.values():
            if not isinstance(value, str):
                readers.setdefault(value.secret, []).append(name)
    return (*static, *(env_secret(name, tuple(users)) for name, users in sorted(readers.items())))


def subnet_plan(vpc_cidr: str, zones: int) -> tuple[ZoneSubnets, ...]:
    """Private subnets from the VPC's first half, public and database from the two quarters after."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    private_prefix, edge_prefix = subnet_prefixes(vpc.prefixlen, zones)
    first_half, second_half = vpc.subnets(prefixlen_diff=1)
    public_quarter, database_quarter = second_half.subnets(prefixlen_diff=1)
    private = list(first_half.subnets(new_prefix=private_prefix))
    public = list(public_quarter.subnets(new_prefix=edge_prefix))
    database = list(database_quarter.subnets(new_prefix=edge_prefix))
    return tuple(
        ZoneSubnets(index=i, private=str(private[i]), public=str(public[i]), database=str(database[i]),
                    sts_endpoint=str(private[i].broadcast_address - 1))
        for i in range(zones)
    )


def _bootstrap_image(config: Config) -> str:
    image = config.database.bootstrap_image
    if image is None:  # validation refuses this (engine.config.rules), with what to set
        raise EngineError("database.bootstrap_image is not set", "run `supa-engine validate` on the config")
    return image_reference(image, "")


def image_reference(image: Image | None, default: str) -> str:
    """`repository:tag[@digest]` of an image override, or the default reference."""
    if image is None:
        return default
    return f"{image.repository}:{image.tag}" + (f"@{image.digest}" if image.digest else "")


def service_of(config: Config, name: str) -> Service:
    """Port, image, resources and scaling of a component as the config sets them (enabled or not)."""
    component = BY_NAME[name]
    settings = getattr(config.supabase.components, name)
    reference = image_reference(settings.image, f"{component.repository}:{component.tag}")
    resources = settings.resources
    scaling = config.autoscaling.for_component(name)
    return Service(
        name=name,
        port=component.port,
        image=reference,
        cpu=resources.cpu if resources else component.cpu,
        memory=resources.memory if resources else component.memory,
        cpu_limit=resources.cpu_limit if resources else "1",
        scaling=Scaling(scaling.min_replicas, scaling.max_replicas, scaling.cpu_target_percent),
        uses_database=component.uses_database,
    )
