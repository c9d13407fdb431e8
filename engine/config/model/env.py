"""The typed escape hatch: extra environment variables per component, each a literal or a
Secrets Manager reference. Literals that look like credentials and names the engine sets are
refused here, so no secret literal and no silent override can reach the chart."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from engine.config.model.base import Pattern, Section, pattern_error

EnvName = Annotated[str, Pattern(
    r"[A-Za-z_][A-Za-z0-9_]{0,127}",
    "an environment variable name",
    "letters, digits and underscores, not starting with a digit",
)]
SecretName = Annotated[str, Pattern(
    r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?",
    "a secret name",
    "lowercase letters, digits and hyphens (at most 32); stored as <prefix>/env-<name> in Secrets Manager",
)]
# A literal value: printable text only, so it renders as one YAML scalar.
EnvLiteral = Annotated[str, Field(
    max_length=4096, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$", description="A literal value, set as is.",
    json_schema_extra={"patternErrorMessage": pattern_error(
        "plain text", "remove control characters other than tab and line break")})]


class SecretRef(Section):
    secret: SecretName = Field(description="Name of a Secrets Manager secret, `<prefix>/env-<name>`; `apply` "
                               "creates its container and asks you to fill it.", examples=["sentry-dsn"])


# --- what counts as a credential -------------------------------------------------------------------

# Names: at least everything the chart's K8S-SECRET-ENV check calls secret, and a few more.
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASS($|_)|SECRET|TOKEN|APIKEY|API_KEY|CRYPTO|COOKIE|(^|_)KEY($|_)|"
                          r"CREDENTIAL|PRIVATE|(^|_)DSN($|_)|AUTH($|_)|SIGNING|SALT")
# Values the name rule lets through: booleans, numbers, empty, or only `$(OTHER_VAR)` references.
_HARMLESS = re.compile(r"^(true|false|yes|no|on|off|[0-9]+(\.[0-9]+)?|)$|^(\$\([A-Za-z_][A-Za-z0-9_]*\))+$",
                       re.IGNORECASE)
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a JSON Web Token", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    ("an AWS access key", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY")),
    # `$(DB_PASSWORD)` in a URL is a reference the kubelet expands from a Secret, not a password.
    ("a URL with a password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:(?!\$\()[^/\s@]+@", re.IGNORECASE)),
    ("a provider token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-"
                                    r"[A-Za-z0-9-]{10,}|sk_(live|test)_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{20,}|"
                                    r"AIza[A-Za-z0-9_-]{30,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})")),
)
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{24,}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")


def credential_shape(value: str) -> str | None:
    """What a literal looks like if it looks like a credential (by its shape alone), else None."""
    for what, shape in _SHAPES:
        if shape.search(value):
            return what
    for word in value.split():
        if _HEX.fullmatch(word):
            return "a long hex key"
        if _TOKEN.fullmatch(word) and _random_looking(word):
            return "a random key"
    return None


def _random_looking(word: str) -> bool:
    """How generated keys look and names do not: upper and lower case and several digits, mixed
    with high entropy (a bucket name such as acme-prod-eu-west-1 has no capitals)."""
    counts = Counter(word)
    entropy = -sum(n / len(word) * math.log2(n / len(word)) for n in counts.values())
    digits, upper = sum(c.isdigit() for c in word), sum(c.isupper() for c in word)
    return digits >= 2 and upper >= 2 and any(c.islower() for c in word) and entropy >= 4.0


def credential_problem(name: str, value: str) -> str | None:
    """Why a literal `name=value` must be a secret reference instead, or None when it may stay literal."""
    if _SECRET_NAME.search(name.upper()) and not _HARMLESS.match(value):
        return f"{name} sounds like a credential but has a literal value"
    shape = credential_shape(value)
    if shape is not None:
        return f"the value of {name} looks like {shape}"
    return None


# --- the names the engine sets ---------------------------------------------------------------------

_SET = None  # set by the engine from its own facts, not by a config key
_DB = "the database endpoint and the component's login role (not configurable)"
_JWT = "the JWT secret (rotate it with `supa-engine secrets rotate`)"
_KEYS = "the API keys (rotate them with `supa-engine secrets rotate`)"

# Per component: env name (or a prefix ending in `*`) -> the config key that sets it.
#: Variables the chart sets in any component for the engine's own wiring.
ENGINE_PREFIX = "SUPA_"
OWNED: Mapping[str, Mapping[str, str | None]] = {
    "kong": {"KONG_*": _SET, "SUPABASE_ANON_KEY": _KEYS, "SUPABASE_SERVICE_KEY": _KEYS,
             "DASHBOARD_PASSWORD": "security.studio.allowed_cidrs (the password is generated)"},
    "auth": {
        "API_EXTERNAL_URL": "supabase.domain", "GOTRUE_API_*": _SET, "DB_PASSWORD": _DB, "GOTRUE_DB_*": _DB,
        "GOTRUE_SITE_URL": "supabase.site_url", "GOTRUE_URI_ALLOW_LIST": "supabase.redirect_urls",
        "GOTRUE_DISABLE_SIGNUP": "supabase.auth.signup_enabled", "GOTRUE_JWT_EXP": "supabase.auth.jwt_expiry_seconds",
        "GOTRUE_JWT_SECRET": _JWT, "GOTRUE_JWT_*": _SET,
        "GOTRUE_EXTERNAL_EMAIL_ENABLED": _SET, "GOTRUE_EXTERNAL_PHONE_ENABLED": "supabase.auth.sms",
        "GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED": "supabase.auth.anonymous_sign_ins",
        "GOTRUE_EXTERNAL_*": "supabase.auth.providers",
        "GOTRUE_MAILER_AUTOCONFIRM": "supabase.auth.email_autoconfirm", "GOTRUE_MAILER_URLPATHS_*": _SET,
        "GOTRUE_MAILER_TEMPLATES_*": "supabase.auth.email_templates", "GOTRUE_SMTP_*": "supabase.auth.smtp",
        "GOTRUE_MFA_*": "supabase.auth.mfa", "GOTRUE_RATE_LIMIT_*": "supabase.auth.rate_limits",
        "GOTRUE_SESSIONS_*": "supabase.auth.sessions", "GOTRUE_SECURITY_REFRESH_TOKEN_*": "supabase.auth.sessions",
        "GOTRUE_SMS_*": "supabase.auth.sms",
    },
    "rest": {"DB_PASSWORD": _DB, "PGRST_DB_URI": _DB, "PGRST_DB_SCHEMAS": _SET, "PGRST_DB_ANON_ROLE": _SET,
             "PGRST_DB_USE_LEGACY_GUCS": _SET, "PGRST_DB_MAX_ROWS": _SET, "PGRST_DB_EXTRA_SEARCH_PATH": _SET,
             "PGRST_SERVER_PORT": _SET, "PGRST_ADMIN_SERVER_PORT": _SET, "PGRST_JWT_SECRET": _JWT,
             "PGRST_APP_SETTINGS_JWT_SECRET": _JWT, "PGRST_APP_SETTINGS_JWT_EXP": "supabase.auth.jwt_expiry_seconds"},
    "realtime": {"PORT": _SET, "DB_*": _DB, "API_JWT_SECRET": _JWT, "METRICS_JWT_SECRET": _JWT,
                 "SECRET_KEY_BASE": _SET, "RELEASE_COOKIE": _SET, "APP_NAME": _SET, "POD_IP": _SET,
                 "RUN_JANITOR": _SET, "ERL_AFLAGS": _SET, "CLUSTER_STRATEGIES": _SET, "DNS_NODES": _SET,
                 "RELEASE_TMP": _SET, "ERL_CRASH_DUMP": _SET},
    "storage": {"PORT": _SET, "ANON_KEY": _KEYS, "SERVICE_KEY": _KEYS, "PGRST_JWT_SECRET": _JWT,
                "AUTH_JWT_SECRET": _JWT, "DB_PASSWORD": _DB, "DATABASE_URL": _DB, "STORAGE_BACKEND": _SET,
                "GLOBAL_S3_BUCKET": "storage.bucket_name", "REGION": "project.region", "AWS_*": _SET,
                "TENANT_ID": _SET, "FILE_SIZE_LIMIT": "storage.upload_size_limit_mb", "S3_PROTOCOL_ENABLED": _SET,
                "REQUEST_ALLOW_X_FORWARDED_PATH": _SET,
                "ENABLE_IMAGE_TRANSFORMATION": "supabase.components.imgproxy.enabled",
                "IMGPROXY_URL": "supabase.components.imgproxy.enabled"},
    "imgproxy": {"IMGPROXY_BIND": _SET, "IMGPROXY_USE_ETAG": _SET, "IMGPROXY_ENABLE_WEBP_DETECTION": _SET,
                 "IMGPROXY_MAX_SRC_RESOLUTION": _SET},
    "meta": {"PG_META_PORT": _SET, "PG_META_DB_*": _DB, "CRYPTO_KEY": _SET},
    "studio": {"HOSTNAME": _SET, "PORT": _SET, "STUDIO_PG_META_URL": _SET, "SUPABASE_URL": _SET,
               "SUPABASE_PUBLIC_URL": "supabase.domain", "POSTGRES_*": _DB, "PG_META_CRYPTO_KEY": _SET,
               "SUPABASE_ANON_KEY": _KEYS, "SUPABASE_SERVICE_KEY": _KEYS, "AUTH_JWT_SECRET": _JWT,
               "DEFAULT_ORGANIZATION_NAME": "project.name", "DEFAULT_PROJECT_NAME": "project.name",
               "NEXT_TELEMETRY_DISABLED": _SET, "NEXT_PUBLIC_ENABLE_LOGS": "supabase.components.analytics.enabled",
               "NEXT_ANALYTICS_BACKEND_PROVIDER": "supabase.components.analytics.enabled",
               "LOGFLARE_URL": "supabase.components.analytics.enabled", "LOGFLARE_API_KEY": _SET},
    "functions": {"JWT_SECRET": _JWT, "SUPABASE_ANON_KEY": _KEYS, "SUPABASE_SERVICE_ROLE_KEY": _KEYS,
                  "DB_PASSWORD": _DB, "SUPABASE_DB_URL": _DB, "SUPABASE_URL": _SET,
                  "SUPABASE_PUBLIC_URL": "supabase.domain", "VERIFY_JWT": _SET, "DENO_DIR": _SET},
    "analytics": {"LOGFLARE_*": _SET, "PORT": _SET, "DB_*": _DB, "POSTGRES_BACKEND_*": _DB, "RELEASE_TMP": _SET},
}


def owner(component: str, name: str) -> tuple[bool, str | None]:
    """Whether the engine sets `name` for `component`, and the config key that does (None: nothing)."""
    if name.startswith(ENGINE_PREFIX):  # the engine's own variables, such as SUPA_DB_HOST from SSM
        return True, None
    for pattern, key in OWNED[component].items():
        if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1])):
            return True, key
    return False, None


def owned_hint(key: str | None) -> str:
    if key is None:
        return "the engine sets it from its own facts; it cannot be overridden"
    if key.startswith(("the ", "security.")) and " " in key:
        return f"it is set from {key}"
    return f"set `{key}` instead"
