"""The Supabase components the engine knows, and who talks to whom.

This is the single source of the service graph: the config model takes its component names
from here, resolve filters it by what is enabled, and the chart and policies read it from the
resolved config. Ports and images are facts about the upstream services.
"""

from __future__ import annotations

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
    cpu: str = "100m"
    memory: str = "256Mi"


@dataclass(frozen=True)
class Edge:
    """An allowed connection from one component to another component's port."""

    client: str
    server: str
    port: int
    why: str


COMPONENTS: tuple[Component, ...] = (
    Component("kong", 8000, "kong", "2.8.1", "API gateway: the only entry point", required=True,
              memory="512Mi"),
    Component("auth", 9999, "supabase/gotrue", "v2.180.0", "GoTrue: users, sessions, JWTs",
              uses_database=True),
    Component("rest", 3000, "postgrest/postgrest", "v13.0.7", "PostgREST: REST over the database",
              uses_database=True),
    Component("realtime", 4000, "supabase/realtime", "v2.51.11",
              "Realtime: database changes over websockets", uses_database=True, memory="512Mi"),
    Component("storage", 5000, "supabase/storage-api", "v1.28.0", "Storage API over S3",
              uses_database=True),
    Component("imgproxy", 5001, "darthsim/imgproxy", "v3.8.0", "image transformations"),
    Component("meta", 8080, "supabase/postgres-meta", "v0.91.6",
              "Postgres metadata API for Studio", uses_database=True),
    Component("studio", 3000, "supabase/studio", "2025.10.01-sha-8460121", "dashboard",
              memory="512Mi"),
    Component("functions", 9000, "supabase/edge-runtime", "v1.69.6", "edge functions runtime",
              enabled_by_default=False, uses_database=True, memory="512Mi"),
    Component("analytics", 4000, "supabase/logflare", "1.22.4", "log analytics",
              enabled_by_default=False, uses_database=True, memory="1Gi"),
)

COMPONENT_NAMES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)
BY_NAME: dict[str, Component] = {c.name: c for c in COMPONENTS}

EDGES: tuple[Edge, ...] = (
    Edge("kong", "auth", 9999, "/auth/v1"),
    Edge("kong", "rest", 3000, "/rest/v1 and /graphql/v1"),
    Edge("kong", "realtime", 4000, "/realtime/v1"),
    Edge("kong", "storage", 5000, "/storage/v1"),
    Edge("kong", "functions", 9000, "/functions/v1"),
    Edge("kong", "meta", 8080, "/pg (service role only)"),
    Edge("kong", "studio", 3000, "dashboard behind basic auth"),
    Edge("studio", "kong", 8000, "Studio calls the API as a client"),
    Edge("studio", "meta", 8080, "schema browsing"),
    Edge("studio", "analytics", 4000, "log explorer"),
    Edge("storage", "rest", 3000, "bucket and object metadata"),
    Edge("storage", "imgproxy", 5001, "image transformations"),
    Edge("functions", "kong", 8000, "functions call the API"),
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

SECRETS: tuple[Secret, ...] = (
    Secret("jwt-secret", "random", 64, "HS256 key that signs and verifies every Supabase JWT"),
    Secret("anon-key", "jwt:anon", 0, "API key for anonymous clients"),
    Secret("service-role-key", "jwt:service_role", 0, "API key that bypasses row level security"),
    *(Secret(f"db-{role.replace('_', '-')}", "random", 40, f"database password of {role}")
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
