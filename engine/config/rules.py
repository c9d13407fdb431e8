"""Rules that span several fields, and the stricter bounds of `tier: production`.

Each rule yields violations with the exact path to change, so the error points at the value
(or at the entry file, when the value is a default) and says what to do. Longer than most
modules because `RULES` is read as one list; each rule is a short function on its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine.catalog import BY_NAME, COMPONENT_NAMES, REQUIRES, enabled, registry_of
from engine.config.load import Path_
from engine.config.model import Config
from engine.config.model.auth import PROVIDERS, SMS_SETTINGS
from engine.config.model.database import minutes_of_week
from engine.config.model.env import credential_problem, owned_hint, owner
from engine.config.model.network import EDGE_PREFIX_MAX, PRIVATE_PREFIX_MAX, VPC_PREFIX_MIN, subnet_prefixes
from engine.config.model.project import partition_of
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
    if vpc.prefixlen < VPC_PREFIX_MIN:
        inside = next(vpc.subnets(new_prefix=VPC_PREFIX_MIN))
        yield Violation(("network", "vpc_cidr"),
                        f"{vpc} is wider than /{VPC_PREFIX_MIN}, the largest block a VPC can have",
                        f"use a /{VPC_PREFIX_MIN} inside it, for example {inside}")
        return
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
    # Nothing the engine deploys (nor CoreDNS or the add-ons) tolerates a taint, so some group
    # must be free of taints that keep pods off it.
    repelling = ("NoSchedule", "NoExecute")
    groups = config.cluster.node_groups
    if all(any(t.effect in repelling for t in group.taints) for group in groups.values()):
        yield Violation(("cluster", "node_groups"),
                        "every node group is tainted NoSchedule or NoExecute, so no pod can be scheduled",
                        "leave at least one node group without such taints (PreferNoSchedule is fine)")
    for name, group in groups.items():
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


def _restore(config: Config) -> Iterator[Violation]:
    restore = config.database.restore
    if restore is None:
        return
    path = ("database", "restore")
    if (restore.snapshot_identifier is None) == (restore.point_in_time is None):
        yield Violation(path, "a restore needs exactly one source: `snapshot_identifier` or `point_in_time`",
                        "name a DB snapshot, or the instance and time to restore")
    if restore.mode == "drill" and config.project.tier == "production":
        yield Violation((*path, "mode"), "a restore drill runs in its own non-production environment",
                        "restore into a new environment file with `tier: non-production`, or use `mode: replace`")
    point = restore.point_in_time
    if point is None:
        return
    if (point.restore_time is None) == (not point.use_latest_restorable_time):
        yield Violation((*path, "point_in_time"),
                        "set exactly one of `restore_time` and `use_latest_restorable_time: true`",
                        "for example `use_latest_restorable_time: true`")
    own = f"{config.project.name}-{config.project.environment}"
    if point.source_db_instance_identifier == own:
        yield Violation((*path, "point_in_time", "source_db_instance_identifier"),
                        f"{own} cannot be restored into itself: its backups are what the new instance is built from",
                        "restore into a drill environment, verify it, then switch (see the README runbook)")


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


def _principals(config: Config) -> Iterator[Violation]:
    partition = partition_of(config.project.region)
    for index, arn in enumerate(config.cluster.admin_principals):
        _, arn_partition, _, _, account, _ = arn.split(":", 5)
        if arn_partition != partition:
            yield Violation(("cluster", "admin_principals", index),
                            f"the principal is in partition {arn_partition}, but {config.project.region} is in "
                            f"{partition}", f"use an arn:{partition}:iam:: ARN")
        if account != config.project.account_id:
            yield Violation(("cluster", "admin_principals", index),
                            f"the principal belongs to account {account}, not {config.project.account_id}",
                            "grant admin to roles of the project's account; other accounts assume one of them")


def bucket_names(config: Config) -> dict[str, str]:
    """The S3 bucket names of an environment by purpose (storage, log, state), as configured or derived."""
    project = config.project
    prefix, region = f"{project.name}-{project.environment}", project.region
    return {
        "storage_bucket": config.storage.bucket_name or f"{prefix}-storage-{region}",
        "log_bucket": f"{prefix}-logs-{region}",
        "state_bucket": config.state.bucket or f"{prefix}-tfstate-{region}",
    }


def _buckets(config: Config) -> Iterator[Violation]:
    names = bucket_names(config)
    for other in ("log_bucket", "state_bucket"):
        if names["storage_bucket"] == names[other]:
            yield Violation(("storage", "bucket_name"),
                            f"{names['storage_bucket']!r} is also the {other.replace('_', ' ')}",
                            "choose another name: objects, logs and Terraform state need separate buckets")
    if names["state_bucket"] == names["log_bucket"]:
        yield Violation(("state", "bucket"), f"{names['state_bucket']!r} is also the log bucket",
                        "choose another state bucket name")


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
    images: list[tuple[Path_, Image | None, str]] = [
        (("supabase", "components", name, "image"), getattr(components, name).image, BY_NAME[name].repository)
        for name in COMPONENT_NAMES]
    if config.database.bootstrap_image is not None:  # required, and without a default (_bootstrap_image)
        bootstrap = config.database.bootstrap_image
        images.append((("database", "bootstrap_image"), bootstrap, bootstrap.repository))
    defaults: dict[str, list[str]] = {}
    for path, image, default in images:
        running = path[0] == "database" or getattr(components, str(path[2])).enabled
        if image is not None and registry_of(image.repository) not in allowed:
            yield Violation((*path, "repository"),
                            f"registry {registry_of(image.repository)!r} is not in security.image_registries",
                            "mirror the image to an allowed registry, or add the registry to the list")
        # A running component without an override pulls its pinned default: that registry must be allowed too.
        if image is None and running and registry_of(default) not in allowed:
            defaults.setdefault(registry_of(default), []).append(default)
    for registry, repositories in defaults.items():
        yield Violation(("security", "image_registries"),
                        f"the default images {', '.join(repositories)} come from {registry!r}, which is not listed",
                        f"add {registry!r}, or override those images from an allowed registry")


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


def _auth(config: Config) -> Iterator[Violation]:
    auth = config.supabase.auth
    for name, provider in auth.providers.items():
        facts = PROVIDERS[name]
        if provider.url is not None and facts.url is None:
            yield Violation(("supabase", "auth", "providers", name, "url"), f"{name} has no URL setting in GoTrue",
                            "remove `url`; only azure, github, gitlab, keycloak and workos take one")
        if provider.enabled and facts.url_required and provider.url is None:
            yield Violation(("supabase", "auth", "providers", name), f"{name} needs its URL",
                            f"add `url:` with the {facts.url}")
    sms = auth.sms
    if sms is not None:
        needed = tuple(SMS_SETTINGS[sms.provider])
        for field in ("account_sid", "message_service_sid", "sender"):
            given = getattr(sms, field) is not None
            if field in needed and not given:
                yield Violation(("supabase", "auth", "sms"), f"SMS provider {sms.provider} needs `{field}`",
                                f"add `{field}:` (its secret goes into Secrets Manager, not here)")
            elif given and field not in needed:
                yield Violation(("supabase", "auth", "sms", field), f"SMS provider {sms.provider} has no `{field}`",
                                f"remove it; {sms.provider} takes {', '.join(needed)}")
    templates = auth.email_templates.model_dump(exclude_none=True)
    if templates and auth.smtp is None:
        yield Violation(("supabase", "auth", "email_templates"), "email templates have no effect without a mail "
                        "server", "add supabase.auth.smtp, or remove the templates")


def _component_env(config: Config) -> Iterator[Violation]:
    for component in COMPONENT_NAMES:
        for name, value in getattr(config.supabase.components, component).env.items():
            path: Path_ = ("supabase", "components", component, "env", name)
            owned, key = owner(component, name)
            if owned:
                yield Violation(path, f"{name} is set by the engine for {component}", owned_hint(key))
            elif isinstance(value, str):
                problem = credential_problem(name, value)
                if problem:
                    yield Violation(path, problem, f"store it in Secrets Manager and write `{name}: {{secret: "
                                    f"<name>}}`; `apply` creates the container <prefix>/env-<name> for it")


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
    observability = config.observability
    if not observability.alarm_endpoints:
        yield Violation(("observability", "alarm_endpoints"), f"{why} sends alarms somewhere",
                        "add the on-call email address or webhook")
    if not observability.container_insights:
        yield Violation(("observability", "container_insights"),
                        f"{why} needs Container Insights (the pod alarms read its metrics)",
                        "set `container_insights: true`")
    alarms = observability.alarms
    if alarms.api_5xx_percent > 10:
        yield Violation(("observability", "alarms", "api_5xx_percent"),
                        f"{why} alarms at 10% API errors or fewer (got {alarms.api_5xx_percent})",
                        "set `api_5xx_percent: 10` or lower")
    if alarms.database_free_storage_percent < 10:
        yield Violation(("observability", "alarms", "database_free_storage_percent"),
                        f"{why} alarms with at least 10% database storage left "
                        f"(got {alarms.database_free_storage_percent})",
                        "set `database_free_storage_percent: 10` or higher")
    if config.supabase.auth.email_autoconfirm:
        yield Violation(("supabase", "auth", "email_autoconfirm"), f"{why} confirms email addresses",
                        "set `email_autoconfirm: false`")
    if not config.security.accept_tag_only_images:
        yield from _digests(config, why)
    waf = config.security.waf
    if not waf.enabled:
        yield Violation(("security", "waf", "enabled"), f"{why} keeps the WAF in front of the public API",
                        "set `enabled: true`")
    for index, url in enumerate(config.supabase.redirect_urls):
        if url.startswith("http://"):
            yield Violation(("supabase", "redirect_urls", index), f"{why} allows only https redirect URLs",
                            "remove the localhost URL from the production overlay")
    if not config.supabase.auth.sessions.refresh_token_rotation:
        yield Violation(("supabase", "auth", "sessions", "refresh_token_rotation"),
                        f"{why} rotates refresh tokens (a stolen one is then detected on reuse)",
                        "set `refresh_token_rotation: true`")


def _digests(config: Config, why: str) -> Iterator[Violation]:
    """Every image that runs, pinned by digest: a tag can be moved to other content, a digest cannot."""
    components = config.supabase.components
    images: list[tuple[Path_, Image | None, str]] = [
        (("supabase", "components", name, "image"), getattr(components, name).image,
         f"{BY_NAME[name].repository}:{BY_NAME[name].tag}") for name in enabled(components)]
    if config.database.bootstrap_image is not None:  # required, and without a default (_bootstrap_image)
        images.append((("database", "bootstrap_image"), config.database.bootstrap_image, ""))
    for path, image, default in images:
        if image is None or image.digest is None:
            reference = f"{image.repository}:{image.tag}" if image else default
            yield Violation(path if image is None else (*path, "digest"),
                            f"{why} pulls images by digest; {reference} is pinned by tag only",
                            f"run `crane digest {reference}` (or `docker buildx imagetools inspect {reference}`) "
                            "and set image: {repository, tag, digest}; or set security.accept_tag_only_images")


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
    _restore,
    _certificate,
    _principals,
    _buckets,
    _components,
    _scaling,
    _delivery,
    _auth,
    _component_env,
    _production,
)
