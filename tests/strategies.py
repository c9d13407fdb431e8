"""Hypothesis strategies for valid configs, as the raw trees a YAML file would hold.

Every tree drawn here must validate; later targets' property tests draw from `configs()` to
check their invariants over the whole space of accepted configs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from engine.catalog import BY_NAME, COMPONENT_NAMES, REQUIRES, registry_of
from engine.config.model.auth import PROVIDERS, SMS_SETTINGS
from engine.config.model.cluster import KUBERNETES_VERSIONS
from engine.config.model.network import INTERFACE_ENDPOINTS, LOG_RETENTION_DAYS
from engine.config.model.project import ENVIRONMENT_MAX, NAME_MAX, partition_of
from engine.config.model.security import Security

ACCOUNT = "123456789012"
# The operator builds and pushes the bootstrap image (no registry publishes it); a stand-in name.
BOOTSTRAP_REPOSITORY = "ghcr.io/acme/supa-engine"
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1", "us-gov-west-1", "ap-northeast-1")
PRIVATE = [ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
SERVICE_CIDRS = ("172.20.0.0/16", "10.100.0.0/16", "192.168.0.0/16")
OPERATOR_BLOCKS = ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "100.24.0.0/16", "52.94.0.0/20")


def dns_label(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    middle = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=max(0, min_size - 2), max_size=max_size - 2)
    return st.builds(lambda a, m, z: a + m + z, st.sampled_from("abcdefghijklmnopqrstuvwxyz"), middle,
                     st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"))


@st.composite
def vpc_cidr(draw: st.DrawFn, zones: int) -> str:
    slot_bits = (zones - 1).bit_length()
    prefix = draw(st.integers(16, 23 - slot_bits))
    block = draw(st.sampled_from([b for b in PRIVATE if b.prefixlen <= prefix]))
    count = 2 ** (prefix - block.prefixlen)
    index = draw(st.integers(0, count - 1))
    return str(list(block.subnets(new_prefix=prefix))[index] if count <= 4096 else
               ipaddress.IPv4Network((int(block.network_address) + index * 2 ** (32 - prefix), prefix)))


def optional(tree: dict[str, Any], key: str, value: Any, present: bool) -> None:
    if present:
        tree[key] = value


@st.composite
def node_group(draw: st.DrawFn, production: bool, first: bool) -> dict[str, Any]:
    min_size = draw(st.integers(2 if production and first else 0, 5))
    desired = draw(st.integers(min_size, min_size + 3))
    maximum = draw(st.integers(max(desired, 1), desired + 5))
    capacity = "on_demand" if production and first else draw(st.sampled_from(["on_demand", "spot"]))
    group: dict[str, Any] = {
        "instance_types": draw(st.lists(st.sampled_from(["m6i.large", "m5.large", "t3.large", "c7g.xlarge",
                                                          "r6i.2xlarge"]), min_size=1, max_size=3, unique=True)),
        "capacity": capacity, "min_size": min_size, "desired_size": desired, "max_size": maximum,
    }
    optional(group, "disk_size_gib", draw(st.integers(20, 500)), draw(st.booleans()))
    optional(group, "labels", {"workload": draw(dns_label(2, 10))}, draw(st.booleans()))
    if draw(st.booleans()):
        # The first group stays schedulable: a cluster whose every group repels pods is refused.
        effects = ["PreferNoSchedule"] if first else ["NoSchedule", "PreferNoSchedule", "NoExecute"]
        group["taints"] = [{"key": draw(st.sampled_from(["dedicated", "example.com/pool"])),
                            "value": draw(dns_label(2, 10)), "effect": draw(st.sampled_from(effects))}]
    return group


@st.composite
def components(draw: st.DrawFn) -> dict[str, Any]:
    enabled = {name: draw(st.booleans()) for name in COMPONENT_NAMES}
    enabled["kong"] = True
    for component, needed, _ in REQUIRES:
        if enabled[component]:
            enabled[needed] = True
    tree: dict[str, Any] = {}
    for name, on in enabled.items():
        settings: dict[str, Any] = {"enabled": on}
        if draw(st.booleans()):
            settings["resources"] = {"cpu": draw(st.sampled_from(["100m", "250m", "1", "1.5"])),
                                     "memory": draw(st.sampled_from(["128Mi", "512Mi", "2Gi"]))}
        if draw(st.integers(0, 3)) == 0:
            settings["env"] = draw(env_entries())
        if draw(st.integers(0, 4)) == 0:
            image: dict[str, Any] = {"repository": f"public.ecr.aws/supabase/{name}", "tag": "v1.2.3"}
            optional(image, "digest", "sha256:" + "ab" * 32, draw(st.booleans()))
            settings["image"] = image
        tree[name] = settings
    return tree


# Literals an app might pass that are no credential, and names no component's chart env uses.
SAFE_LITERALS = ("debug", "info", "https://hooks.example.com/v1/events", "eu-west-1", "1000", "true", "",
                 "Acme Platform", "feature-a,feature-b")


@st.composite
def env_entries(draw: st.DrawFn) -> dict[str, Any]:
    """Escape-hatch entries: literals and `{secret: name}` references (shared names included)."""
    names = draw(st.lists(st.sampled_from(["LOG_LEVEL", "APP_REGION", "APP_FEATURES", "SENTRY_DSN", "HOOK_SECRET",
                                           "APP_LIMIT", "X_CUSTOM_FLAG"]), min_size=1, max_size=4, unique=True))
    entries: dict[str, Any] = {}
    for name in names:
        secretish = name in ("SENTRY_DSN", "HOOK_SECRET") or draw(st.booleans())
        entries[name] = ({"secret": draw(st.sampled_from(["sentry-dsn", "hook", "shared-key"]))} if secretish
                         else draw(st.sampled_from(SAFE_LITERALS)))
    return entries


@st.composite
def auth_settings(draw: st.DrawFn, smtp: bool) -> dict[str, Any]:
    """Providers (with their URL where GoTrue takes one), MFA, sessions, limits, SMS and templates."""
    auth: dict[str, Any] = {}
    chosen = draw(st.lists(st.sampled_from(sorted(PROVIDERS)), max_size=4, unique=True))
    providers: dict[str, Any] = {}
    for name in chosen:
        provider: dict[str, Any] = {"client_id": f"{name}-client.0123", "enabled": draw(st.booleans())}
        if PROVIDERS[name].url_required or (PROVIDERS[name].url and draw(st.booleans())):
            provider["url"] = f"https://{name}.idp.example.com/tenant"
        providers[name] = provider
    optional(auth, "providers", providers, bool(providers))
    optional(auth, "mfa", {"totp": draw(st.booleans()), "max_enrolled_factors": draw(st.integers(1, 20))},
             draw(st.booleans()))
    optional(auth, "sessions", {"timebox_seconds": draw(st.integers(300, 10**6)),
                                "inactivity_timeout_seconds": draw(st.integers(300, 10**6)),
                                "refresh_token_reuse_seconds": draw(st.integers(0, 60))}, draw(st.booleans()))
    optional(auth, "rate_limits", {"email_sent_per_hour": draw(st.integers(1, 1000)),
                                   "otp_per_5_minutes": draw(st.integers(1, 1000))}, draw(st.booleans()))
    optional(auth, "anonymous_sign_ins", draw(st.booleans()), draw(st.booleans()))
    if draw(st.booleans()):
        provider_name = draw(st.sampled_from(sorted(SMS_SETTINGS)))
        auth["sms"] = {"provider": provider_name, **dict.fromkeys(SMS_SETTINGS[provider_name], "Acme0123")}
    if smtp and draw(st.booleans()):
        auth["email_templates"] = {"invite": "https://app.example.com/email/invite.html"}
    return auth


def more_security(draw: st.DrawFn, security: dict[str, Any], components: dict[str, Any], database: dict[str, Any],
                  *, production: bool) -> None:
    """Studio access, key rotation, image pins and registries (after the components are drawn)."""
    optional(security, "studio", {"allowed_cidrs": draw(st.lists(st.sampled_from(OPERATOR_BLOCKS), unique=True,
                                                                  max_size=2))}, draw(st.booleans()))
    optional(security, "kms_rotation_days", draw(st.integers(90, 2560)), draw(st.booleans()))
    pin_images(components, database, security, production=production, by_digest=draw(st.booleans()))
    listed = draw(registries(components))
    # The default list serves only when it holds every registry the images come from.
    defaults_serve = set(listed) <= set(Security.model_fields["image_registries"].default)
    optional(security, "image_registries", listed, not defaults_serve or draw(st.booleans()))


def pin_images(components: dict[str, Any], database: dict[str, Any], security: dict[str, Any], *,
               production: bool, by_digest: bool) -> None:
    """Production pulls by digest: pin every running image, or accept tag pins explicitly."""
    if not production:
        return
    if not by_digest:
        security["accept_tag_only_images"] = True
        return
    digest = "sha256:" + "cd" * 32
    for name, settings in components.items():
        if settings["enabled"]:
            pinned = {"repository": BY_NAME[name].repository, "tag": BY_NAME[name].tag}
            settings["image"] = {**settings.get("image", pinned), "digest": digest}
    database["bootstrap_image"] = {"repository": BOOTSTRAP_REPOSITORY, "tag": "0.1.0", "digest": digest}


@st.composite
def registries(draw: st.DrawFn, components: dict[str, Any]) -> list[str]:
    """Only the registries the images need, and maybe more: the running images' defaults, every
    override (validation checks a disabled component's override too) and the bootstrap image's."""
    needed = {registry_of(BOOTSTRAP_REPOSITORY)}
    for name, settings in components.items():
        if "image" in settings:
            needed.add(registry_of(settings["image"]["repository"]))
        elif settings["enabled"]:
            needed.add(registry_of(BY_NAME[name].repository))
    extra = draw(st.lists(st.sampled_from(["ghcr.io", "quay.io", "docker.io"]), unique=True, max_size=2))
    return sorted(needed | set(extra))


@st.composite
def scaling(draw: st.DrawFn, production: bool) -> dict[str, Any]:
    low = draw(st.integers(2 if production else 1, 5))
    return {"min_replicas": low, "max_replicas": draw(st.integers(low, 20)),
            "cpu_target_percent": draw(st.integers(10, 95))}


@st.composite
def observability_settings(draw: st.DrawFn, production: bool) -> dict[str, Any]:
    """Log retention, Container Insights (always in production) and alarm thresholds."""
    observability: dict[str, Any] = {"log_retention_days": draw(st.sampled_from(LOG_RETENTION_DAYS)),
                                     "container_insights": production or draw(st.booleans()),
                                     "alarm_endpoints": ["ops@example.com"]}
    optional(observability, "alarms", {
        "api_5xx_percent": draw(st.sampled_from([1.0, 2.5, 5.0, 10.0])),
        "target_latency_seconds": draw(st.sampled_from([0.5, 1.0, 2.0])),
        "pod_restarts": draw(st.integers(1, 10)),
        "pod_not_ready_minutes": draw(st.sampled_from([5, 15, 30])),
        "database_free_storage_percent": draw(st.integers(10, 30)),
        "waf_blocked_requests": draw(st.integers(100, 5000)),
    }, draw(st.booleans()))
    return observability


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """A raw config tree (as loaded from YAML) that the engine must accept."""
    production = draw(st.booleans())
    region = draw(st.sampled_from(REGIONS))
    zones = draw(st.integers(2, 6))
    vpc = draw(vpc_cidr(zones))
    project: dict[str, Any] = {
        "name": draw(dns_label(2, NAME_MAX)),
        "environment": draw(dns_label(2, ENVIRONMENT_MAX)),
        "account_id": ACCOUNT,
        "region": region,
    }
    optional(project, "tier", "production" if production else "non-production", production or draw(st.booleans()))
    optional(project, "tags", {"CostCenter": draw(dns_label(2, 20)), "Team Name": "Data + Platform"},
             draw(st.booleans()))

    network: dict[str, Any] = {"vpc_cidr": vpc, "availability_zones": zones}
    optional(network, "zone_names", [region + letter for letter in "abcdef"[:zones]], draw(st.booleans()))
    optional(network, "nat", "per_az" if production else draw(st.sampled_from(["single", "per_az"])),
             draw(st.booleans()))
    optional(network, "flow_log_retention_days", draw(st.sampled_from(LOG_RETENTION_DAYS)), draw(st.booleans()))
    optional(network, "interface_endpoints",
             draw(st.lists(st.sampled_from(INTERFACE_ENDPOINTS), unique=True, max_size=6)), draw(st.booleans()))

    service = next(c for c in SERVICE_CIDRS if not ipaddress.IPv4Network(c).overlaps(ipaddress.IPv4Network(vpc)))
    groups = draw(st.lists(dns_label(2, 12), min_size=1, max_size=3, unique=True))
    cluster: dict[str, Any] = {
        "kubernetes_version": draw(st.sampled_from(KUBERNETES_VERSIONS)),
        "service_cidr": service,
        "node_groups": {name: draw(node_group(production, i == 0)) for i, name in enumerate(groups)},
    }
    optional(cluster, "public_access_cidrs", draw(st.lists(st.sampled_from(OPERATOR_BLOCKS), unique=True,
                                                            max_size=3)), draw(st.booleans()))
    optional(cluster, "admin_principals", [f"arn:{partition_of(region)}:iam::{ACCOUNT}:role/platform-admins"],
             draw(st.booleans()))

    allocated = draw(st.integers(20, 1000))
    backup_hour = draw(st.integers(0, 10))
    database: dict[str, Any] = {
        "engine_version": draw(st.sampled_from(["15", "16", "17"])),
        "instance_class": draw(st.sampled_from(["db.t4g.medium", "db.r6g.large", "db.m7g.xlarge"])),
        "allocated_storage_gib": allocated,
        "max_allocated_storage_gib": draw(st.integers(allocated, 4000)),
        "multi_az": True if production else draw(st.booleans()),
        "backup_retention_days": draw(st.integers(7 if production else 1, 35)),
        "deletion_protection": True if production else draw(st.booleans()),
        "performance_insights": draw(st.booleans()),
        "backup_window": f"{backup_hour:02d}:00-{backup_hour + 1:02d}:30",
        "bootstrap_image": {"repository": BOOTSTRAP_REPOSITORY, "tag": "0.1.0"},
    }
    # Maintenance in the afternoon never meets a morning backup window.
    day = draw(st.sampled_from(["mon", "wed", "sun"]))
    start = draw(st.integers(13, 21))
    database["maintenance_window"] = f"{day}:{start:02d}:00-{day}:{start + 1:02d}:00"

    storage: dict[str, Any] = {}
    optional(storage, "bucket_name", draw(dns_label(3, 40)), draw(st.booleans()))
    optional(storage, "upload_size_limit_mb", draw(st.integers(1, 5120)), draw(st.booleans()))

    security: dict[str, Any] = {
        "certificate_arn": f"arn:aws:acm:{region}:{ACCOUNT}:certificate/0f2b6c1e-2a6d-4b8a-9d3e-5c7f1a2b3c4d",
    }
    optional(security, "ingress_cidrs", draw(st.sampled_from([["0.0.0.0/0"], ["203.0.113.0/24", "10.0.0.0/8"]])),
             draw(st.booleans()))
    optional(security, "waf", {"enabled": production or draw(st.booleans()),
                               "rate_limit": draw(st.integers(100, 100_000))}, draw(st.booleans()))

    domain = f"api.{draw(dns_label(2, 20))}.example"
    supabase: dict[str, Any] = {"domain": domain, "components": draw(components())}
    more_security(draw, security, supabase["components"], database, production=production)
    optional(supabase, "site_url", f"https://app.{domain}", draw(st.booleans()))
    optional(supabase, "redirect_urls", [f"https://app.{domain}/callback"], draw(st.booleans()))
    smtp = draw(st.booleans())
    auth: dict[str, Any] = {"signup_enabled": draw(st.booleans()), **draw(auth_settings(smtp))}
    if smtp:
        auth["smtp"] = {"host": "smtp.example.com", "port": draw(st.sampled_from([465, 587])), "user": "mailer",
                        "sender": "no-reply@example.com"}
    supabase["auth"] = auth

    autoscaling: dict[str, Any] = {"default": draw(scaling(production))}
    for name in draw(st.lists(st.sampled_from(COMPONENT_NAMES), unique=True, max_size=3)):
        autoscaling[name] = draw(scaling(production))

    delivery: dict[str, Any] = {"mode": draw(st.sampled_from(["helm", "argocd"]))}
    if delivery["mode"] == "argocd":
        delivery["argocd"] = {"repo_url": "https://git.example.com/acme/platform.git", "path": "out/prod"}

    tree: dict[str, Any] = {"project": project, "network": network, "cluster": cluster, "database": database,
                            "storage": storage, "security": security, "supabase": supabase,
                            "autoscaling": autoscaling, "delivery": delivery}
    observability = draw(observability_settings(production))
    # Production sends alarms somewhere (a rule), so it always has the section.
    optional(tree, "observability", observability, production or draw(st.booleans()))
    optional(tree, "state", {"key_prefix": "platform/" + draw(dns_label(2, 10))}, draw(st.booleans()))
    return tree
