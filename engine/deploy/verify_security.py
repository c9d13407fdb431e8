"""The security checks of `supa-engine verify`: what must be closed from the internet is closed.

Each one looks from outside, as an attacker would: admin routes with the public anon key,
Studio without an allowed address, plain HTTP, old TLS, and the database's DNS name.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import warnings
from datetime import UTC, datetime
from urllib.parse import urlsplit

from engine.deploy.verify_checks import Context
from engine.deploy.verify_http import CheckFailed, CheckSkipped, plain_http, tls_handshake

# Answers that mean "not for you": refused, or no such route at the load balancer.
CLOSED = (401, 403, 404)


def _closed(ctx: Context, path: str, statuses: tuple[int, ...] = CLOSED) -> str:
    """``path`` refuses both the anon key and no key at all."""
    seen = []
    for label, key in (("anon key", ctx.anon_key), ("no key", None)):
        response = ctx.call("GET", path, key=key)
        if response.status not in statuses:
            expected = "/".join(map(str, statuses))
            raise CheckFailed(f"GET {path} with {label}: {response.describe()} (expected {expected})")
        seen.append(str(response.status))
    return f"{path} refuses anon ({'/'.join(seen)})"


def pg_closed(ctx: Context) -> str:
    return _closed(ctx, "/pg/tables")


def auth_admin_closed(ctx: Context) -> str:
    return _closed(ctx, "/auth/v1/admin/users", (401, 403))


def realtime_tenants_closed(ctx: Context) -> str:
    return _closed(ctx, "/realtime/v1/api/tenants")


def studio_closed(ctx: Context) -> str:
    if ctx.studio_cidrs:
        raise CheckSkipped(f"Studio is open to security.studio.allowed_cidrs ({', '.join(ctx.studio_cidrs)})")
    for path in ("/", "/project/default"):
        response = ctx.call("GET", path)
        if response.status not in (403, 404):
            raise CheckFailed(f"GET {path}: {response.describe()} (Studio must not answer from here)")
    return "no Studio at / (load balancer 404)"


def plain_http_closed(ctx: Context) -> str:
    host, port = ctx.http_url.hostname or ctx.target.host, ctx.http_url.port or 80
    response = plain_http(host, port, "/auth/v1/health", min(ctx.deadline.remaining(), 10.0))
    if response is None:
        return f"nothing accepts plain HTTP on {host}:{port}"
    location = response.headers.get("location", "")
    if response.status not in (301, 302, 307, 308):
        raise CheckFailed(f"plain HTTP is served: HTTP {response.status}")
    # The ALB writes the port out (https://host:443/path); any spelling of the same origin will do.
    to = urlsplit(location)
    if to.scheme == "https" and to.hostname == ctx.target.host and (to.port or 443) == ctx.target.port:
        return f"plain HTTP redirects to https (HTTP {response.status})"
    raise CheckFailed(f"plain HTTP redirects elsewhere than https://{ctx.target.url.netloc}: {location!r}")


def tls_certificate(ctx: Context) -> str:
    target = ctx.target
    try:
        version, cert = tls_handshake(target.host, target.port, target.context, ctx.deadline.remaining())
    except ssl.SSLCertVerificationError as exc:
        raise CheckFailed(f"certificate not trusted: {exc.verify_message}") from None
    except (ssl.SSLError, OSError) as exc:
        raise CheckFailed(f"TLS handshake failed: {exc}") from None
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    days = (expires - datetime.now(UTC)).days
    return f"{version}, certificate valid for {target.host}, expires in {days} days"


def tls_legacy_refused(ctx: Context) -> str:
    """A client that offers only TLS 1.0/1.1 must not complete a handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the version is the question here, not the certificate
    try:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer what old clients offer
        with warnings.catch_warnings():  # deprecated versions are the point of this probe
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ssl.SSLError, ValueError) as exc:
        raise CheckSkipped(f"this machine's OpenSSL cannot offer TLS 1.1: {exc}") from None
    try:
        version, _ = tls_handshake(ctx.target.host, ctx.target.port, context, ctx.deadline.remaining())
    except ssl.SSLError as exc:
        if "NO_PROTOCOLS_AVAILABLE" in str(exc) or "no protocols available" in str(exc):
            raise CheckSkipped("this machine's OpenSSL cannot offer TLS 1.1") from None
        return f"a TLS 1.1 handshake is refused ({exc.reason or 'handshake failure'})"
    except ConnectionResetError:
        return "a TLS 1.1 handshake is refused (connection reset)"
    except OSError as exc:
        raise CheckFailed(f"cannot connect: {exc}") from None
    raise CheckFailed(f"the server accepted {version}; the listener's TLS policy must require 1.2+")


def database_private(ctx: Context) -> str:
    endpoint = ctx.database()
    if endpoint.publicly_accessible:
        raise CheckFailed("RDS reports the instance as publicly accessible")
    if not endpoint.address:
        raise CheckFailed("RDS reports no endpoint address for the instance (is the data stack applied?)")
    addresses = ctx.resolve_host(endpoint.address)
    public = [a for a in addresses if ipaddress.ip_address(a).is_global]
    if public:
        raise CheckFailed(f"{endpoint.address} resolves to public address {', '.join(public)}")
    if not addresses:
        return f"{endpoint.address} does not resolve from here"
    return f"{endpoint.address} resolves only to private addresses"


def system_resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to here; none when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []
    return sorted({str(info[4][0]) for info in infos})

