"""The Supabase components the engine knows, and who talks to whom.

This is the single source of the service graph: the config model takes its component names
from here, resolve filters it by what is enabled, and the chart and policies read it from the
resolved config. Ports and images are facts about the upstream services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    name: str
    port: int
    repository: str
    tag: str
    summary: str
    enabled_by_default: bool = True
    required: bool = False
    uses_database: bool = False
    # The login role whose password the component gets (`db-<role>` secret); None: no database access.
    database_role: str | None = None
    cpu: str = "100m"
    memory: str = "256Mi"


@dataclass(frozen=True)
class Edge:
    """An allowed connection from a client to a server's port.

    Client and server are component names, a Job (`JOBS`), or the name of a `Peer` (a party
    outside the namespace's workloads). `port` is a number, or the dotted path of the config
    setting that holds it (the SMTP port). `when` names a condition on the config (see
    `engine.graph.CONDITIONS`) without which the edge does not exist even when both ends do.
    """

    client: str
    server: str
    port: int | str
    why: str
    protocol: str = "TCP"
    when: str | None = None


@dataclass(frozen=True)
class Peer:
    """A party the workloads talk to that is not a workload of the namespace.

    `addresses` says how the policy compiler selects it: `cluster-dns` (CoreDNS pods by
    selector), `public-subnets`, `private-subnets`, `database-subnets` (the VPC plan's CIDRs),
    `sts-endpoint` (the STS interface endpoint's fixed address in each zone), or
    `internet` (every public address: the destination has no fixed private address, so the rule
    is as broad as the port allows; `why_broad` says why nothing narrower is correct).
    """

    name: str
    addresses: str
    summary: str
    why_broad: str = ""


# Each API-facing service logs in as its own role; meta (and Studio through meta) and analytics
# need the broad supabase_admin; functions hand the URL to user code, so they get the least
# privileged role, authenticator (it can only SET ROLE to anon, authenticated and service_role).
COMPONENTS: tuple[Component, ...] = (
    Component("kong", 8000, "kong", "2.8.1", "API gateway: the only entry point", required=True,
              memory="512Mi"),
    Component("auth", 9999, "supabase/gotrue", "v2.180.0", "GoTrue: users, sessions, JWTs",
              uses_database=True, database_role="supabase_auth_admin"),
    Component("rest", 3000, "postgrest/postgrest", "v13.0.7", "PostgREST: REST over the database",
              uses_database=True, database_role="authenticator"),
    Component("realtime", 4000, "supabase/realtime", "v2.51.11",
              "Realtime: database changes over websockets", uses_database=True,
              database_role="supabase_realtime_admin", memory="512Mi"),
    Component("storage", 5000, "supabase/storage-api", "v1.28.0", "Storage API over S3",
              uses_database=True, database_role="supabase_storage_admin"),
    Component("imgproxy", 5001, "darthsim/imgproxy", "v3.8.0", "image transformations"),
    Component("meta", 8080, "supabase/postgres-meta", "v0.91.6",
              "Postgres metadata API for Studio", uses_database=True, database_role="supabase_admin"),
    # Studio never connects itself (no database edge) but hands meta supabase_admin's password.
    Component("studio", 3000, "supabase/studio", "2025.10.01-sha-8460121", "dashboard",
              database_role="supabase_admin", memory="512Mi"),
    Component("functions", 9000, "supabase/edge-runtime", "v1.69.6", "edge functions runtime",
              enabled_by_default=False, uses_database=True, database_role="authenticator", memory="512Mi"),
    Component("analytics", 4000, "supabase/logflare", "1.22.4", "log analytics",
              enabled_by_default=False, uses_database=True, database_role="supabase_admin", memory="1Gi"),
)

COMPONENT_NAMES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)
BY_NAME: dict[str, Component] = {c.name: c for c in COMPONENTS}

EDGES: tuple[Edge, ...] = (
    Edge("kong", "auth", 9999, "/auth/v1"),
    Edge("kong", "rest", 3000, "/rest/v1"),
    Edge("kong", "realtime", 4000, "/realtime/v1"),
    Edge("kong", "storage", 5000, "/storage/v1"),
    Edge("kong", "functions", 9000, "/functions/v1"),
    Edge("kong", "studio", 3000, "dashboard behind basic auth", when="studio_public"),
    Edge("studio", "kong", 8000, "Studio calls the API as a client"),
    Edge("studio", "meta", 8080, "schema browsing"),
    Edge("studio", "analytics", 4000, "log explorer"),
    Edge("storage", "rest", 3000, "bucket and object metadata"),
    Edge("storage", "imgproxy", 5001, "image transformations"),
    Edge("functions", "kong", 8000, "functions call the API"),
    # Erlang distribution between realtime nodes (ports of charts/supabase realtime-headless.yaml).
    Edge("realtime", "realtime", 4369, "clustering: epmd (node discovery)", when="realtime_clustered"),
    Edge("realtime", "realtime", 9100, "clustering: Erlang distribution", when="realtime_clustered"),
    Edge("realtime", "realtime", 5369, "clustering: gen_rpc", when="realtime_clustered"),
)

# The database bootstrap Job (a Helm hook of charts/supabase): a workload, not a component.
BOOTSTRAP_JOB = "db-bootstrap"
# The Job (a post-install/post-upgrade hook) that creates or updates realtime's one tenant.
REALTIME_TENANT_JOB = "realtime-tenant"
# Realtime resolves the tenant from the first label of the Host header, which kong sets to the
# Service's name (`realtime.<namespace>.svc...`).
REALTIME_TENANT = "realtime"
# Pod-bearing workloads that are not components: each Job and the component it exists for (None:
# always there).
JOBS: Mapping[str, str | None] = {BOOTSTRAP_JOB: None, REALTIME_TENANT_JOB: "realtime"}

PEERS: tuple[Peer, ...] = (
    Peer("load-balancer", "public-subnets", "the ALB (target type ip): its nodes live in the public subnets"),
    Peer("dns", "cluster-dns", "CoreDNS pods (kube-system, k8s-app=kube-dns)"),
    Peer("database", "database-subnets", "RDS in the database subnets"),
    Peer("aws-api", "sts-endpoint",
         "the STS interface endpoint: its network interfaces sit at fixed addresses the VPC plan reserves "
         "(the last usable address of each private subnet), so policies name exactly those"),
    Peer("s3", "internet", "S3 through the gateway endpoint",
         why_broad="S3 has no private address: the gateway endpoint routes S3's public prefixes, which AWS "
         "publishes only as a managed prefix list that a NetworkPolicy cannot reference; every non-public "
         "range is excluded and only 443 is open"),
    Peer("smtp", "internet", "the mail server in supabase.auth.smtp",
         why_broad="the SMTP server is a host name outside the VPC whose addresses the engine cannot know; "
         "every non-public range is excluded and only the configured SMTP port is open"),
    Peer("identity-providers", "internet",
         "sign-in providers' token endpoints, the SMS provider's API and the email template URLs",
         why_broad="OAuth, SMS and template hosts are public names on CDNs whose addresses change; every "
         "non-public range is excluded and only 443 is open"),
)

# Traffic that crosses the namespace boundary. DNS is not listed: every workload gets it.
PEER_EDGES: tuple[Edge, ...] = (
    Edge("load-balancer", "kong", 8000, "public API traffic (HTTPS terminated at the ALB)"),
    Edge("load-balancer", "kong", 8100, "ALB health check on kong's status listener"),
    *(Edge(c.name, "database", 5432, "TLS (verify-full) to PostgreSQL") for c in COMPONENTS if c.uses_database),
    Edge(BOOTSTRAP_JOB, "database", 5432, "migrations and login-role passwords"),
    Edge(REALTIME_TENANT_JOB, "database", 5432, "realtime's control-plane migrations and its tenant row"),
    Edge("storage", "s3", 443, "objects through the S3 gateway endpoint (and STS over NAT without an sts endpoint)"),
    Edge("storage", "aws-api", 443, "STS AssumeRoleWithWebIdentity (IRSA) through its interface endpoint",
         when="sts_endpoint"),
    Edge("imgproxy", "s3", 443, "source images from the presigned S3 URLs storage hands it"),
    Edge("auth", "smtp", "supabase.auth.smtp.port", "sign-up, recovery and invite mail", when="smtp"),
    Edge("auth", "identity-providers", 443, "OAuth code exchange, SMS and email templates over HTTPS",
         when="auth_https"),
)

# Components that cannot work without another one: (component, needs, why).
REQUIRES: tuple[tuple[str, str, str], ...] = (
    ("studio", "meta", "Studio reads the schema through postgres-meta"),
    ("storage", "rest", "storage resolves bucket policies through PostgREST"),
)


@dataclass(frozen=True)
class Secret:
    """One Secrets Manager secret of an environment, named `<prefix>/<name>`.

    Terraform creates the (empty, KMS-encrypted) container; `apply` fills it. `kind` says how:
    `random` (URL-safe text of `length` characters), `jwt:<role>` (a token signed with the JWT
    secret), or `external` (a value only the operator has, such as the SMTP password).
    `needs` names the component (or `smtp`) without which the secret is not created.
    """

    name: str
    kind: str
    length: int
    purpose: str
    needs: str | None = None


DATABASE_LOGIN_ROLES: tuple[str, ...] = (
    "authenticator",
    "supabase_auth_admin",
    "supabase_storage_admin",
    "supabase_realtime_admin",
    "supabase_admin",
)



def role_secret(role: str) -> str:
    """Catalog name of the secret holding the password of a database login role."""
    return "db-" + role.replace("_", "-")


SECRETS: tuple[Secret, ...] = (
    Secret("jwt-secret", "random", 64, "HS256 key that signs and verifies every Supabase JWT"),
    Secret("anon-key", "jwt:anon", 0, "API key for anonymous clients"),
    Secret("service-role-key", "jwt:service_role", 0, "API key that bypasses row level security"),
    *(Secret(role_secret(role), "random", 40, f"database password of {role}")
      for role in DATABASE_LOGIN_ROLES),
    Secret("realtime-secret-key-base", "random", 64, "Realtime (Phoenix) SECRET_KEY_BASE", needs="realtime"),
    # DB_ENC_KEY is an AES-128 key: exactly 16 bytes.
    Secret("realtime-db-enc-key", "random", 16, "Realtime DB_ENC_KEY for tenant credentials", needs="realtime"),
    Secret("realtime-erlang-cookie", "random", 64, "Erlang cookie between realtime nodes (not the image's default)",
           needs="realtime"),
    Secret("meta-crypto-key", "random", 32, "postgres-meta PG_META_CRYPTO_KEY", needs="meta"),
    Secret("studio-dashboard-password", "random", 32, "basic-auth password of Studio behind kong",
           needs="studio"),
    Secret("logflare-api-key", "random", 48, "Analytics (Logflare) API key", needs="analytics"),
    Secret("smtp-password", "external", 0, "password of the SMTP user in supabase.auth.smtp", needs="smtp"),
)


def provider_secret(provider: str) -> Secret:
    """The OAuth client secret of a sign-in provider in supabase.auth.providers (yours to fill)."""
    return Secret(f"auth-{provider.replace('_', '-')}-secret", "external", 0,
                  f"OAuth client secret of the sign-in provider {provider}")


SMS_SECRET = Secret("auth-sms-secret", "external", 0, "auth token or API secret of the SMS provider in "
                    "supabase.auth.sms")


def env_secret_name(name: str) -> str:
    """Catalog name of the secret an escape-hatch env entry `{secret: name}` refers to."""
    return "env-" + name


def env_secret(name: str, components: tuple[str, ...]) -> Secret:
    """A secret named by escape-hatch env entries `{secret: name}` (see engine.config.model.env)."""
    return Secret(env_secret_name(name), "external", 0, f"env value {name}, read by {', '.join(components)}")


def enabled(components: object) -> list[str]:
    """The names of the components switched on in a `supabase.components` section, in catalog order.

    Takes the section as any object with one attribute per component (each with `.enabled`), so
    the catalog needs nothing from the config model.
    """
    return [name for name in COMPONENT_NAMES if getattr(components, name).enabled]


DEFAULT_REGISTRY = "docker.io"


def registry_of(image: str) -> str:
    """The registry host of an image reference; Docker Hub when the first part is not a host."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DEFAULT_REGISTRY
