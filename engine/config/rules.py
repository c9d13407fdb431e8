"""Rules that span several fields, and the stricter bounds of `tier: production`.

Each rule yields violations with the exact path to change, so the error points at the value
(or at the entry file, when the value is a default) and says what to do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine.catalog import COMPONENT_NAMES, REQUIRES, enabled, registry_of
from engine.config.load import Path_
from engine.config.model import Config
from engine.config.model.database import minutes_of_week
from engine.config.model.network import EDGE_PREFIX_MAX, PRIVATE_PREFIX_MAX, subnet_prefixes
from engine.config.model.supabase import Image


@dataclass(frozen=True)
class Violation:
    """A config the user must change: where (a path into the config, located to file:line), why, and how."""

    path: Path_
    message: str
    hint: str | None = None


# Not an engine.checks Rule: those judge compiled output and report resources; these judge the
# user's config and report a path to edit with a hint, before anything is compiled.
ConfigRule = Callable[[Config], Iterator[Violation]]


def check_rules(config: Config) -> Iterator[Violation]:
    for each in RULES:
        yield from each(config)


def _zones(config: Config) -> Iterator[Violation]:
    names = config.network.zone_names
    if names is None:
        return
    if len(names) != config.network.availability_zones:
        yield Violation(("network", "zone_names"),
                        f"{len(names)} zone names for {config.network.availability_zones} availability zones",
                        "list exactly `availability_zones` names, or drop `zone_names`")
    region = config.project.region
    for index, name in enumerate(names):
        if not (name.startswith(region) and len(name) == len(region) + 1 and name[-1].isalpha()):
            yield Violation(("network", "zone_names", index), f"{name!r} is not a zone of {region}",
                            f"zone names are the region plus a letter, for example {region}a")


def _subnet_room(config: Config) -> Iterator[Violation]:
    vpc = ipaddress.IPv4Network(config.network.vpc_cidr)
    zones = config.network.availability_zones
    private, edge = subnet_prefixes(vpc.prefixlen, zones)
    if private > PRIVATE_PREFIX_MAX or edge > EDGE_PREFIX_MAX:
        widest = vpc.prefixlen - max(private - PRIVATE_PREFIX_MAX, edge - EDGE_PREFIX_MAX)
        yield Violation(
            ("network", "vpc_cidr"),
            f"{vpc} split over {zones} zones leaves /{private} private subnets "
            f"(pods need at least /{PRIVATE_PREFIX_MAX}) and /{edge} public and database subnets",
            f"widen the VPC to /{widest} or use fewer availability zones",
        )


def _service_cidr(config: Config) -> Iterator[Violation]:
    service = ipaddress.IPv4Network(config.cluster.service_cidr)
    vpc = ipaddress.IPv4Network(config.network.vpc_cidr)
    if service.overlaps(vpc):
        yield Violation(("cluster", "service_cidr"), f"{service} overlaps the VPC {vpc}",
                        "pick a range outside the VPC, for example 172.20.0.0/16")
    if not 12 <= service.prefixlen <= 24:
        yield Violation(("cluster", "service_cidr"), f"{service} must be between /12 and /24 (an EKS limit)",
                        "for example 172.20.0.0/16")


def _node_groups(config: Config) -> Iterator[Violation]:
    for name, group in config.cluster.node_groups.items():
        if not group.min_size <= group.desired_size <= group.max_size:
            yield Violation(
                ("cluster", "node_groups", name, "desired_size"),
                f"sizes must satisfy min <= desired <= max (got {group.min_size} <= {group.desired_size} "
                f"<= {group.max_size})", "adjust min_size, desired_size or max_size",
            )


def _database(config: Config) -> Iterator[Violation]:
    db = config.database
    if db.max_allocated_storage_gib < db.allocated_storage_gib:
        yield Violation(("database", "max_allocated_storage_gib"),
                        f"the autoscaling ceiling {db.max_allocated_storage_gib} GiB is below the allocated "
                        f"{db.allocated_storage_gib} GiB", "raise max_allocated_storage_gib")
    if _windows_overlap(db.backup_window, db.maintenance_window):
        yield Violation(("database", "maintenance_window"),
                        f"maintenance window {db.maintenance_window} overlaps the daily backup window "
                        f"{db.backup_window}", "move one of the windows; RDS refuses overlapping windows")


def _windows_overlap(backup: str, maintenance: str) -> bool:
    week = 7 * 1440
    m_start, m_end = (minutes_of_week(*part.split(":", 1)) for part in maintenance.split("-"))
    maintenance_minutes = {(m_start + i) % week for i in range((m_end - m_start) % week)}
    b_start, b_end = (minutes_of_week("mon", part) for part in backup.split("-"))
    length = (b_end - b_start) % 1440
    return any((day * 1440 + b_start + i) % week in maintenance_minutes for day in range(7) for i in range(length))


def _certificate(config: Config) -> Iterator[Violation]:
    _, _, _, region, account, _ = str(config.security.certificate_arn).split(":", 5)
    if region != config.project.region:
        yield Violation(("security", "certificate_arn"),
                        f"the certificate is in {region} but the load balancer is in {config.project.region}",
                        f"issue or import the certificate in ACM in {config.project.region}")
    if account != config.project.account_id:
        yield Violation(("security", "certificate_arn"),
                        f"the certificate belongs to account {account}, not {config.project.account_id}",
                        "a load balancer can only use certificates of its own account")


def _components(config: Config) -> Iterator[Violation]:
    components = config.supabase.components
    if not components.kong.enabled:
        yield Violation(("supabase", "components", "kong", "enabled"),
                        "kong cannot be disabled: it is the only way into the platform",
                        "remove `enabled: false` from kong")
    on = set(enabled(config.supabase.components))
    for component, needed, why in REQUIRES:
        if component in on and needed not in on:
            yield Violation(("supabase", "components", needed, "enabled"),
                            f"{component} is enabled but {needed} is not ({why})",
                            f"enable {needed}, or disable {component}")
    allowed = config.security.image_registries
    images: list[tuple[Path_, Image | None]] = [
        (("supabase", "components", name, "image"), getattr(components, name).image) for name in COMPONENT_NAMES]
    images.append((("database", "bootstrap_image"), config.database.bootstrap_image))
    for path, image in images:
        if image is not None and registry_of(image.repository) not in allowed:
            yield Violation((*path, "repository"),
                            f"registry {registry_of(image.repository)!r} is not in security.image_registries",
                            "mirror the image to an allowed registry, or add the registry to the list")


def _scaling(config: Config) -> Iterator[Violation]:
    for name in ("default", *COMPONENT_NAMES):
        scaling = getattr(config.autoscaling, name)
        if scaling is not None and scaling.min_replicas > scaling.max_replicas:
            yield Violation(("autoscaling", name, "max_replicas"),
                            f"max_replicas {scaling.max_replicas} is below min_replicas {scaling.min_replicas}",
                            "raise max_replicas or lower min_replicas")


def _delivery(config: Config) -> Iterator[Violation]:
    delivery = config.delivery
    if delivery.mode == "argocd" and delivery.argocd is None:
        yield Violation(("delivery", "argocd"), "mode argocd needs the repository to deliver from",
                        "add delivery.argocd with repo_url and path")
    if delivery.mode == "helm" and delivery.argocd is not None:
        yield Violation(("delivery", "argocd"), "argocd settings have no effect with mode helm",
                        "set `mode: argocd`, or remove the block with `argocd: null`")


def _production(config: Config) -> Iterator[Violation]:
    if config.project.tier != "production":
        return
    why = "tier production"
    db = config.database
    if not db.multi_az:
        yield Violation(("database", "multi_az"), f"{why} needs a multi-AZ database", "set `multi_az: true`")
    if not db.deletion_protection:
        yield Violation(("database", "deletion_protection"), f"{why} needs deletion protection",
                        "set `deletion_protection: true`")
    if db.backup_retention_days < 7:
        yield Violation(("database", "backup_retention_days"),
                        f"{why} keeps backups at least 7 days (got {db.backup_retention_days})",
                        "set `backup_retention_days: 7` or more")
    if config.network.nat != "per_az":
        yield Violation(("network", "nat"), f"{why} needs a NAT gateway per zone", "set `nat: per_az`")
    on_demand = sum(g.min_size for g in config.cluster.node_groups.values() if g.capacity == "on_demand")
    if on_demand < 2:
        yield Violation(("cluster", "node_groups"),
                        f"{why} needs at least 2 on-demand nodes at minimum scale (got {on_demand})",
                        "raise min_size of an on-demand node group to 2")
    short: dict[str, list[str]] = {}
    for name in enabled(config.supabase.components):
        if config.autoscaling.for_component(name).min_replicas < 2:
            key = name if getattr(config.autoscaling, name) is not None else "default"
            short.setdefault(key, []).append(name)
    for key, names in short.items():
        yield Violation(("autoscaling", key, "min_replicas"),
                        f"{why} runs every component with at least 2 replicas ({', '.join(names)} would run 1)",
                        "set `min_replicas: 2` or more")
    if config.supabase.auth.email_autoconfirm:
        yield Violation(("supabase", "auth", "email_autoconfirm"), f"{why} confirms email addresses",
                        "set `email_autoconfirm: false`")
    for index, url in enumerate(config.supabase.redirect_urls):
        if url.startswith("http://"):
            yield Violation(("supabase", "redirect_urls", index), f"{why} allows only https redirect URLs",
                            "remove the localhost URL from the production overlay")


def _bootstrap_image(config: Config) -> Iterator[Violation]:
    # The bootstrap Job runs the engine's own image, which no registry publishes: the operator
    # builds it from the repository's Dockerfile, so there is no default to fall back to.
    if config.database.bootstrap_image is None:
        yield Violation(("database", "bootstrap_image"),
                        "no image is set for the database bootstrap Job (supa-engine publishes none)",
                        "build the Dockerfile at the top of the supa-engine repository, push it to a registry in "
                        "security.image_registries and set `bootstrap_image: {repository: <registry>/supa-engine, "
                        "tag: <version>}` under `database`")


RULES: tuple[ConfigRule, ...] = (
    _bootstrap_image,
    _zones,
    _subnet_room,
    _service_cidr,
    _node_groups,
    _database,
    _certificate,
    _components,
    _scaling,
    _delivery,
    _production,
)
