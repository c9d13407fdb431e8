"""`supabase.auth` beyond the basics: sign-in providers, MFA, email templates, rate limits,
sessions, anonymous sign-ins and SMS. Secrets (client secrets, the SMS token) are never here:
each has a Secrets Manager container that `apply` asks the operator to fill."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from engine.config.model.base import HttpsUrl, Pattern, Section


@dataclass(frozen=True)
class ProviderFacts:
    """What GoTrue (v2.180.0, internal/conf) knows of one external provider.

    `env` is the part after GOTRUE_EXTERNAL_ (`GOTRUE_EXTERNAL_<env>_CLIENT_ID` ...); `url` says
    what GOTRUE_EXTERNAL_<env>_URL means for it (None: the engine does not let it be set), and
    `url_required` whether the provider cannot work without it.
    """

    env: str
    url: str | None = None
    url_required: bool = False


PROVIDERS: Mapping[str, ProviderFacts] = {
    "apple": ProviderFacts("APPLE"),
    "azure": ProviderFacts("AZURE", "tenant URL, e.g. https://login.microsoftonline.com/<tenant-id>"),
    "bitbucket": ProviderFacts("BITBUCKET"),
    "discord": ProviderFacts("DISCORD"),
    "facebook": ProviderFacts("FACEBOOK"),
    "figma": ProviderFacts("FIGMA"),
    "fly": ProviderFacts("FLY"),
    "github": ProviderFacts("GITHUB", "GitHub Enterprise host, e.g. https://github.example.com"),
    "gitlab": ProviderFacts("GITLAB", "self-managed GitLab host, e.g. https://gitlab.example.com"),
    "google": ProviderFacts("GOOGLE"),
    "kakao": ProviderFacts("KAKAO"),
    "keycloak": ProviderFacts("KEYCLOAK", "realm URL, e.g. https://sso.example.com/realms/acme", url_required=True),
    "linkedin_oidc": ProviderFacts("LINKEDIN_OIDC"),
    "notion": ProviderFacts("NOTION"),
    "slack_oidc": ProviderFacts("SLACK_OIDC"),
    "spotify": ProviderFacts("SPOTIFY"),
    "twitch": ProviderFacts("TWITCH"),
    "twitter": ProviderFacts("TWITTER"),
    "workos": ProviderFacts("WORKOS", "WorkOS API host, e.g. https://api.workos.com"),
    "zoom": ProviderFacts("ZOOM"),
}
ProviderName = Literal["apple", "azure", "bitbucket", "discord", "facebook", "figma", "fly", "github", "gitlab",
                       "google", "kakao", "keycloak", "linkedin_oidc", "notion", "slack_oidc", "spotify", "twitch",
                       "twitter", "workos", "zoom"]

ClientId = Annotated[str, Pattern(
    r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,255}(,[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,255}){0,9}",
    "an OAuth client ID",
    "the public client (application) ID the provider shows, or several separated by commas (apple: the "
    "services ID, then bundle IDs); its secret goes into Secrets Manager",
)]
SmsIdentifier = Annotated[str, Pattern(
    r"[A-Za-z0-9+][A-Za-z0-9 ._+-]{0,63}",
    "an SMS account identifier or sender",
    "letters, digits, spaces, '.', '_', '+' and '-' (never the auth token: that lives in Secrets Manager)",
)]


def callback_url(domain: str) -> str:
    """Where every provider sends users back to: GoTrue's callback behind kong."""
    return f"https://{domain}/auth/v1/callback"


class Provider(Section):
    enabled: bool = Field(True, description="Offer this sign-in provider.", examples=[True])
    client_id: ClientId = Field(description="OAuth client ID (several separated by commas where GoTrue takes "
                                "more, such as apple's services and bundle IDs). The client secret lives in "
                                "Secrets Manager (`<prefix>/auth-<provider>-secret`); `apply` asks for it.",
                                examples=["Iv1.0123456789abcdef"])
    url: HttpsUrl | None = Field(None, description="Provider host or tenant URL, for the providers that have one "
                                 "(azure, github, gitlab, keycloak (required), workos).",
                                 examples=["https://login.microsoftonline.com/0f2b6c1e-2a6d-4b8a-9d3e-5c7f1a2b3c4d"])


class Mfa(Section):
    totp: bool = Field(True, description="Let users enrol and verify TOTP (authenticator app) factors.",
                       examples=[True])
    max_enrolled_factors: int = Field(10, ge=1, le=100, description="Most factors one user may enrol.",
                                      examples=[10])


class EmailTemplates(Section):
    """URLs GoTrue fetches each email's HTML body from (over https, at send time)."""

    invite: HttpsUrl | None = Field(None, description="Invitation email.",
                                    examples=["https://app.example.com/email/invite.html"])
    confirmation: HttpsUrl | None = Field(None, description="Sign-up confirmation email.",
                                          examples=["https://app.example.com/email/confirm.html"])
    recovery: HttpsUrl | None = Field(None, description="Password recovery email.",
                                      examples=["https://app.example.com/email/recovery.html"])
    email_change: HttpsUrl | None = Field(None, description="Email change confirmation.",
                                          examples=["https://app.example.com/email/change.html"])
    magic_link: HttpsUrl | None = Field(None, description="Magic link email.",
                                        examples=["https://app.example.com/email/magic.html"])
    reauthentication: HttpsUrl | None = Field(None, description="Reauthentication code email.",
                                              examples=["https://app.example.com/email/reauth.html"])


class RateLimits(Section):
    """GoTrue's per-IP limits, in the units GoTrue counts them."""

    email_sent_per_hour: int = Field(30, ge=1, le=100_000, description="Emails sent per hour.", examples=[30])
    sms_sent_per_hour: int = Field(30, ge=1, le=100_000, description="SMS sent per hour.", examples=[30])
    verify_per_5_minutes: int = Field(30, ge=1, le=100_000, description="Verification requests per 5 minutes.",
                                      examples=[30])
    token_refresh_per_5_minutes: int = Field(150, ge=1, le=100_000, description="Token refreshes per 5 minutes.",
                                             examples=[150])
    otp_per_5_minutes: int = Field(30, ge=1, le=100_000,
                                   description="Sign-ups, OTP, magic link and recovery requests per 5 minutes.",
                                   examples=[30])
    anonymous_sign_ins_per_hour: int = Field(30, ge=1, le=100_000, description="Anonymous sign-ins per hour.",
                                             examples=[30])


class Sessions(Section):
    timebox_seconds: int | None = Field(None, ge=300, le=31_536_000,
                                        description="End every session this long after sign-in; never when omitted.",
                                        examples=[604800])
    inactivity_timeout_seconds: int | None = Field(
        None, ge=300, le=31_536_000, description="End a session not refreshed for this long; never when omitted.",
        examples=[86400])
    refresh_token_rotation: bool = Field(True, description="Issue a new refresh token on every refresh and revoke "
                                         "the family when an old one is reused.", examples=[True])
    refresh_token_reuse_seconds: int = Field(10, ge=0, le=3600, description="Grace period in which a just-rotated "
                                             "refresh token may be used again (concurrent tabs).", examples=[10])


SmsProviderName = Literal["twilio", "twilio_verify", "messagebird", "textlocal"]


class Sms(Section):
    """Phone sign-in through an SMS provider; its token or key lives in `<prefix>/auth-sms-secret`."""

    provider: SmsProviderName = Field(description="SMS provider.", examples=["twilio"])
    account_sid: SmsIdentifier | None = Field(None, description="Twilio account SID (twilio, twilio_verify).",
                                              examples=["AC0123456789abcdef0123456789abcdef"])
    message_service_sid: SmsIdentifier | None = Field(
        None, description="Twilio messaging service SID (twilio) or Verify service SID (twilio_verify).",
        examples=["MG0123456789abcdef0123456789abcdef"])
    sender: SmsIdentifier | None = Field(None, description="Sender name or number (messagebird, textlocal).",
                                         examples=["Acme"])
    otp_length: int = Field(6, ge=6, le=10, description="Digits of the one-time code.", examples=[6])
    otp_expiry_seconds: int = Field(300, ge=30, le=3600, description="Validity of the one-time code.",
                                    examples=[300])


# GoTrue's names (GOTRUE_SMS_<PROVIDER>_<name>): the secret, and each Sms field's.
SMS_SECRET_SETTING: Mapping[str, str] = {
    "twilio": "AUTH_TOKEN", "twilio_verify": "AUTH_TOKEN", "messagebird": "ACCESS_KEY", "textlocal": "API_KEY",
}
SMS_SETTINGS: Mapping[str, Mapping[str, str]] = {
    "twilio": {"account_sid": "ACCOUNT_SID", "message_service_sid": "MESSAGE_SERVICE_SID"},
    "twilio_verify": {"account_sid": "ACCOUNT_SID", "message_service_sid": "MESSAGE_SERVICE_SID"},
    "messagebird": {"sender": "ORIGINATOR"},
    "textlocal": {"sender": "SENDER"},
}
