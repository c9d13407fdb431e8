"""`supabase`: the public endpoint, which components run, their images and resources, and auth."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from engine.catalog import BY_NAME
from engine.config.model.auth import EmailTemplates, Mfa, Provider, ProviderName, RateLimits, Sessions, Sms
from engine.config.model.base import (
    HTTPS_PATTERN,
    Email,
    Hostname,
    HttpsUrl,
    K8sQuantityCpu,
    K8sQuantityMemory,
    Pattern,
    PlainText,
    Section,
    Unique,
    invalid,
)
from engine.config.model.env import EnvLiteral, EnvName, SecretRef

ImageRepository = Annotated[str, Pattern(
    r"([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*",
    "an image repository",
    "for example public.ecr.aws/supabase/gotrue",
)]
ImageTag = Annotated[str, Pattern(
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
    "an image tag",
    "for example v2.180.0; never latest",
)]
ImageDigest = Annotated[str, Pattern(
    r"sha256:[0-9a-f]{64}",
    "an image digest",
    "sha256: followed by 64 hex digits",
)]

_LOCALHOST = re.compile(r"http://(localhost|127\.0\.0\.1)(:[0-9]+)?(/\S*)?")
_HTTPS = re.compile(HTTPS_PATTERN)


def _redirect_url(value: str) -> str:
    if not (_HTTPS.fullmatch(value) or _LOCALHOST.fullmatch(value)):
        raise invalid(f"{value!r} is not an allowed redirect URL",
                      "use https://..., or http://localhost:<port> for local development")
    # GoTrue splits its allow-list on commas and compiles each entry as a glob (`*`, `**`, `?`,
    # `[...]`, `{a,b}`, `\`): a comma smuggles in a second entry such as `**`, and a glob that
    # does not compile stops GoTrue at start.
    if "," in value:
        raise invalid(f"{value!r} contains a comma, which separates entries of GoTrue's allow-list",
                      "list each redirect URL as its own entry")
    problem = glob_problem(value)
    if problem:
        raise invalid(f"{value!r} is not a valid redirect pattern: {problem}",
                      "escape literal [ ] { } \\ with a backslash, or remove them")
    return value


def glob_problem(pattern: str) -> str | None:
    """Why GoTrue's glob compiler would refuse `pattern`, or None (brackets balanced, escapes complete)."""
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == "\\":
            if index + 1 == size:
                return "it ends with an unfinished escape"
            index += 2
            continue
        if char == "[":
            end = pattern.find("]", index + 2 if pattern[index + 1:index + 2] in ("!", "^") else index + 1)
            if end == -1 or end == index + 1:
                return f"the [ at position {index + 1} is not closed"
            index = end + 1
            continue
        if char == "]":
            return f"the ] at position {index + 1} closes nothing"
        if char in "{}":
            return f"the {char} at position {index + 1} starts or ends alternatives, whose commas GoTrue splits on"
        index += 1
    return None



def _not_latest(value: str) -> str:
    if value == "latest":
        raise invalid("the tag 'latest' is not pinned", "name an exact version such as v2.180.0")
    return value


class Image(Section):
    repository: ImageRepository = Field(
        description="Image repository, with its registry host unless it is Docker Hub.",
        examples=["public.ecr.aws/supabase/gotrue"],
    )
    tag: Annotated[ImageTag, AfterValidator(_not_latest)] = Field(
        description="Exact version tag.", examples=["v2.180.0"],
    )
    digest: ImageDigest | None = Field(
        None, description="Content digest; when given the image is pulled by digest.",
        examples=["sha256:" + "0" * 64],
    )


class Resources(Section):
    cpu: K8sQuantityCpu = Field(description="CPU request.", examples=["250m"])
    memory: K8sQuantityMemory = Field(description="Memory request and limit.", examples=["512Mi"])
    cpu_limit: K8sQuantityCpu = Field("1", description="CPU limit.", examples=["2"])


class ComponentSettings(Section):
    enabled: bool = Field(True, description="Run this component.", examples=[True])
    resources: Resources | None = Field(
        None, description="Requests and limits; the engine's defaults for the component when omitted.",
        examples=[{"cpu": "250m", "memory": "512Mi", "cpu_limit": "1"}],
    )
    image: Image | None = Field(
        None, description="Override the pinned image (must come from `security.image_registries`).",
        examples=[{"repository": "public.ecr.aws/supabase/gotrue", "tag": "v2.180.0"}],
    )
    env: dict[EnvName, EnvLiteral | SecretRef] = Field(
        {}, description="Extra environment variables: a literal, or `{secret: name}` for a Secrets Manager secret "
        "(`<prefix>/env-<name>`, filled by you). Names the engine sets and credential-like literals are refused.",
        examples=[{"LOG_LEVEL": "debug", "SENTRY_DSN": {"secret": "sentry-dsn"}}],
    )


def _component(name: str) -> ComponentSettings:
    component = BY_NAME[name]
    return Field(
        ComponentSettings(enabled=component.enabled_by_default),
        description=f"{component.summary} (port {component.port}).",
    )


class Components(Section):
    kong: ComponentSettings = _component("kong")
    auth: ComponentSettings = _component("auth")
    rest: ComponentSettings = _component("rest")
    realtime: ComponentSettings = _component("realtime")
    storage: ComponentSettings = _component("storage")
    imgproxy: ComponentSettings = _component("imgproxy")
    meta: ComponentSettings = _component("meta")
    studio: ComponentSettings = _component("studio")
    functions: ComponentSettings = _component("functions")
    analytics: ComponentSettings = _component("analytics")


class Smtp(Section):
    host: Hostname = Field(description="SMTP server host.", examples=["email-smtp.eu-west-1.amazonaws.com"])
    port: Literal[465, 587] = Field(587, description="587 (STARTTLS) or 465 (implicit TLS).", examples=[587])
    user: PlainText = Field(min_length=1, max_length=256, description="SMTP user name. The password lives in "
                      "Secrets Manager, never in this file.", examples=["AKIAEXAMPLE"])
    sender: Email = Field(description="From address of auth emails.", examples=["no-reply@example.com"])
    sender_name: PlainText = Field("Supabase", min_length=1, max_length=64, description="From name.",
                             examples=["Acme"])


class Auth(Section):
    signup_enabled: bool = Field(True, description="Allow new users to sign up.", examples=[False])
    email_autoconfirm: bool = Field(False, description="Skip email confirmation (development only).",
                                    examples=[False])
    jwt_expiry_seconds: int = Field(3600, ge=300, le=604800, description="Access token lifetime.",
                                    examples=[3600])
    smtp: Smtp | None = Field(
        None, description="Mail server for confirmations and magic links.",
        examples=[{"host": "email-smtp.eu-west-1.amazonaws.com", "user": "mailer", "sender": "no-reply@example.com"}],
    )
    providers: dict[ProviderName, Provider] = Field(
        {}, description="External sign-in providers by GoTrue's name. Register the callback URL "
        "`https://<domain>/auth/v1/callback` (printed by `show`) with each.",
        examples=[{"github": {"client_id": "Iv1.0123456789abcdef"}}],
    )
    mfa: Mfa = Field(Mfa(), description="Multi-factor authentication.")
    email_templates: EmailTemplates = Field(EmailTemplates(), description="Own email bodies, fetched from URLs.")
    rate_limits: RateLimits = Field(RateLimits(), description="Per-IP rate limits.")
    sessions: Sessions = Field(Sessions(), description="Session lifetime and refresh token rotation.")
    anonymous_sign_ins: bool = Field(False, description="Allow anonymous sign-ins.", examples=[False])
    sms: Sms | None = Field(None, description="Phone sign-in through an SMS provider.",
                            examples=[{"provider": "twilio", "account_sid": "AC0123456789abcdef0123456789abcdef",
                                       "message_service_sid": "MG0123456789abcdef0123456789abcdef"}])
    api_key_lifetime_days: int = Field(
        730, ge=30, le=3650, description="Validity of the anon and service_role keys that `apply` and "
        "`secrets rotate` sign; rotate before they expire.", examples=[730])


class Supabase(Section):
    domain: Hostname = Field(description="Public host name of the API (served by the load balancer).",
                             examples=["api.example.com"])
    site_url: HttpsUrl | None = Field(
        None, description="Default redirect after sign-in; `https://<domain>` when omitted.",
        examples=["https://app.example.com"],
    )
    redirect_urls: Annotated[tuple[Annotated[str, AfterValidator(_redirect_url)], ...], Unique] = Field(
        (), description="Additional allowed redirect URLs (https, or http://localhost for development).",
        examples=[["https://app.example.com/callback"]],
    )
    components: Components = Field(Components(), description="Which components run and how.")
    auth: Auth = Field(Auth(), description="Auth (GoTrue) settings.")
