"""Sign-in providers, auth settings and the env escape hatch, from config to rendered pods.

GoTrue's env names are checked against v2.180.0's internal/conf; the escape hatch's table of
engine-owned names is checked against every env name the chart actually renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import load_config
from engine.config.model.env import OWNED, credential_problem, credential_shape, owner
from engine.resolve import Resolved, resolve
from tests.support import render_objects, resolved_env

BASE = """
extends: {root}/environments/dev.yaml
supabase:
  auth:
    providers:
      github: {{client_id: Iv1.0123456789abcdef}}
      keycloak: {{client_id: supabase, url: "https://sso.example.com/realms/acme"}}
      apple: {{client_id: com.example.app, enabled: false}}
    mfa: {{totp: false, max_enrolled_factors: 3}}
    sms: {{provider: twilio_verify, account_sid: AC0123, message_service_sid: VA0123}}
    sessions: {{timebox_seconds: 86400, inactivity_timeout_seconds: 3600, refresh_token_reuse_seconds: 5}}
    rate_limits: {{email_sent_per_hour: 7, token_refresh_per_5_minutes: 99}}
    email_templates: {{recovery: "https://app.example.com/recovery.html"}}
    anonymous_sign_ins: true
  components:
    analytics: {{enabled: true}}
    auth:
      env:
        LOG_LEVEL: debug
        GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_SECRETS: {{secret: token-hook}}
    functions:
      enabled: true
      env:
        HOOK_SECRET: {{secret: token-hook}}
"""


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Resolved:
    path = tmp_path_factory.mktemp("auth") / "all.yaml"
    root = Path(__file__).resolve().parents[2]
    path.write_text(BASE.format(root=root))
    return resolve(load_config(path).config)


@pytest.fixture(scope="module")
def pods(everything: Resolved) -> dict[str, list[dict[str, Any]]]:
    return {obj["metadata"]["name"]: obj["spec"]["template"]["spec"]["containers"][0]["env"]
            for obj in render_objects(everything) if obj["kind"] == "Deployment"}


def env_of(pods: dict[str, list[dict[str, Any]]], component: str) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pods[component]}


def test_providers_reach_gotrue_by_its_names(pods: dict[str, list[dict[str, Any]]]) -> None:
    env = env_of(pods, "auth")
    callback = "https://api.dev.acme.example/auth/v1/callback"
    assert env["GOTRUE_EXTERNAL_GITHUB_ENABLED"] == "true"
    assert env["GOTRUE_EXTERNAL_GITHUB_CLIENT_ID"] == "Iv1.0123456789abcdef"
    assert env["GOTRUE_EXTERNAL_GITHUB_REDIRECT_URI"] == callback
    assert "GOTRUE_EXTERNAL_GITHUB_URL" not in env
    assert env["GOTRUE_EXTERNAL_KEYCLOAK_URL"] == "https://sso.example.com/realms/acme"
    assert env["GOTRUE_EXTERNAL_GITHUB_SECRET"]["secretKeyRef"]["name"].startswith("auth-github-secret-")
    assert env["GOTRUE_EXTERNAL_KEYCLOAK_SECRET"]["secretKeyRef"]["name"].startswith("auth-keycloak-secret-")
    assert not any(name.startswith("GOTRUE_EXTERNAL_APPLE") for name in env), "disabled provider rendered"


def test_auth_settings_reach_gotrue(pods: dict[str, list[dict[str, Any]]]) -> None:
    env = env_of(pods, "auth")
    assert env["GOTRUE_MFA_TOTP_ENROLL_ENABLED"] == env["GOTRUE_MFA_TOTP_VERIFY_ENABLED"] == "false"
    assert env["GOTRUE_MFA_MAX_ENROLLED_FACTORS"] == "3"
    assert env["GOTRUE_SESSIONS_TIMEBOX"] == "86400s"
    assert env["GOTRUE_SESSIONS_INACTIVITY_TIMEOUT"] == "3600s"
    assert env["GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED"] == "true"
    assert env["GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL"] == "5"
    assert env["GOTRUE_RATE_LIMIT_EMAIL_SENT"] == "7"
    assert env["GOTRUE_RATE_LIMIT_TOKEN_REFRESH"] == "99"
    assert env["GOTRUE_MAILER_TEMPLATES_RECOVERY"] == "https://app.example.com/recovery.html"
    assert env["GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED"] == "true"
    assert env["GOTRUE_EXTERNAL_PHONE_ENABLED"] == "true"
    assert env["GOTRUE_SMS_PROVIDER"] == "twilio_verify"
    assert env["GOTRUE_SMS_TWILIO_VERIFY_ACCOUNT_SID"] == "AC0123"
    assert env["GOTRUE_SMS_TWILIO_VERIFY_MESSAGE_SERVICE_SID"] == "VA0123"
    assert env["GOTRUE_SMS_TWILIO_VERIFY_AUTH_TOKEN"]["secretKeyRef"]["name"].startswith("auth-sms-secret-")


def test_defaults_render_phone_off_and_gotrue_defaults() -> None:
    objs = render_objects(resolved_env("prod"))
    env = next({e["name"]: e.get("value") for e in o["spec"]["template"]["spec"]["containers"][0]["env"]}
               for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "auth")
    assert env["GOTRUE_EXTERNAL_PHONE_ENABLED"] == "false"
    assert env["GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED"] == "false"
    assert env["GOTRUE_RATE_LIMIT_TOKEN_REFRESH"] == "150"
    assert not any(n.startswith(("GOTRUE_SESSIONS_", "GOTRUE_SMS_", "GOTRUE_MAILER_TEMPLATES_")) for n in env)


def test_escape_hatch_entries_render_after_the_charts(pods: dict[str, list[dict[str, Any]]]) -> None:
    auth = env_of(pods, "auth")
    assert auth["LOG_LEVEL"] == "debug"
    assert auth["GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_SECRETS"]["secretKeyRef"]["name"].startswith("env-token-hook-")
    assert env_of(pods, "functions")["HOOK_SECRET"]["secretKeyRef"]["name"].startswith("env-token-hook-")


def test_every_referenced_secret_has_one_container_and_one_sync(everything: Resolved) -> None:
    names = [s.name for s in everything.secrets]
    assert len(names) == len(set(names))
    assert {"auth-github-secret", "auth-keycloak-secret", "auth-sms-secret", "env-token-hook"} <= set(names)
    assert "auth-apple-secret" not in names  # disabled
    token_hook = next(s for s in everything.secrets if s.name == "env-token-hook")
    assert token_hook.kind == "external" and "auth" in token_hook.purpose and "functions" in token_hook.purpose
    synced = {item["remoteRef"]["key"] for o in render_objects(everything) if o["kind"] == "ExternalSecret"
              for item in o["spec"].get("data", [])}
    # Not ours to create: the RDS-managed master secret (found by tag) and the endpoint parameter in SSM.
    synced = {key for key in synced if not key.startswith(("arn:", "/"))}
    assert synced == {everything.secret_name(s) for s in everything.secrets}


def test_engine_owned_names_cover_everything_the_chart_sets(pods: dict[str, list[dict[str, Any]]]) -> None:
    """The escape hatch refuses exactly what the chart sets: a new chart env name must be listed."""
    extra = {"LOG_LEVEL", "GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_SECRETS", "HOOK_SECRET"}
    assert set(pods) == set(OWNED)
    for component, env in pods.items():
        unowned = [e["name"] for e in env if e["name"] not in extra and not owner(component, e["name"])[0]]
        assert not unowned, f"{component} sets {unowned} that supabase.components.{component}.env could override"


@pytest.mark.parametrize("value, shape", [
    ("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLXBhcnQ", "a JSON Web Token"),
    ("AKIAIOSFODNN7EXAMPLE", "an AWS access key"),
    ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
    ("postgres://app:hunter2@db.example.com/app", "a URL with a password"),
    ("ghp_" + "a1B2c3D4e5" * 4, "a provider token"),
    ("sk_live_" + "9xQ2mN7pL4kR8vT3", "a provider token"),
    ("0123456789abcdef0123456789abcdef", "a long hex key"),
    ("q8ZP_x2Lr9VbN4TcW7yHmK3sDfG6jA1e", "a random key"),
])
def test_credential_shapes(value: str, shape: str) -> None:
    assert credential_shape(value) == shape
    assert credential_problem("HARMLESS_NAME", value) is not None


@pytest.mark.parametrize("name, value", [
    ("LOG_LEVEL", "debug"), ("SITE_NAME", "Acme Platform 2026"), ("APP_BUCKET", "acme-prod-uploads-eu-west-1"),
    ("APP_NAME", "MyApplicationNameV2Production"), ("DB_URL", "postgres://app:$(DB_PASSWORD)@db.example.com/app"),
    ("UPSTREAM_URL", "https://api.example.com/v1/items"),
    ("FEATURE_FLAGS", "beta,new-editor,dark_mode"), ("MAX_ROWS", "1000"), ("TOKEN_TTL", "3600"),
    ("USE_AUTH", "true"), ("API_KEY_HEADER", "$(OTHER)"), ("REGION", "eu-west-1"),
])
def test_ordinary_literals_pass(name: str, value: str) -> None:
    assert credential_problem(name, value) is None


@pytest.mark.parametrize("name", ["DB_PASSWORD", "STRIPE_SECRET", "GITHUB_TOKEN", "MY_API_KEY", "SENTRY_DSN",
                                  "SIGNING_KEY", "AWS_CREDENTIALS", "SMTP_PASS", "HOOK_AUTH"])
def test_credential_names_need_a_secret(name: str) -> None:
    assert credential_problem(name, "plain words") is not None


def test_show_prints_the_callback_url(tmp_path: Path) -> None:
    from engine.config.show import render_config

    path = tmp_path / "show.yaml"
    root = Path(__file__).resolve().parents[2]
    path.write_text(BASE.format(root=root))
    text = render_config(load_config(path))
    assert "https://api.dev.acme.example/auth/v1/callback" in text
    assert yaml.safe_load(text)["supabase"]["auth"]["providers"]["github"]["client_id"] == "Iv1.0123456789abcdef"
