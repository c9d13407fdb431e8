"""The wire side of `supa-engine verify`: HTTPS requests and a websocket through the public URL.

Every call takes its timeout from the running check's deadline, so one hung service fails one
check in bounded time; network failures become :class:`CheckFailed` with a short reason.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect


class CheckFailed(Exception):
    """A check's failure; the message is the short reason printed on its line."""


class CheckSkipped(Exception):
    """The check does not apply to this environment; the message says why."""


@dataclass
class Deadline:
    """The time one check may still take."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        left = self.seconds - (time.monotonic() - self.started)
        if left <= 0:
            raise CheckFailed(f"timed out after {self.seconds:g}s")
        return left

    def expired(self) -> bool:
        return time.monotonic() - self.started >= self.seconds


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(f"expected JSON, got {self.excerpt()!r}") from None

    def excerpt(self, limit: int = 120) -> str:
        text = self.body.decode("utf-8", "replace").strip().replace("\n", " ")
        return text if len(text) <= limit else text[:limit] + "..."

    def describe(self) -> str:
        return f"HTTP {self.status}" + (f": {self.excerpt()}" if self.body else "")


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The client context of every HTTPS call: certificate and host name verified, TLS 1.2+."""
    context = ssl.create_default_context(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(frozen=True)
class Target:
    """The environment's public base URL and how to reach it."""

    url: SplitResult
    context: ssl.SSLContext

    @classmethod
    def of(cls, url: str, ca_bundle: str | None) -> Target:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"the public URL must be https://HOST[:PORT], got {url!r}")
        return cls(parts, tls_context(ca_bundle))

    @property
    def host(self) -> str:
        return self.url.hostname or ""

    @property
    def port(self) -> int:
        return self.url.port or 443

    def request(
        self,
        deadline: Deadline,
        method: str,
        path: str,
        *,
        key: str | None = None,
        token: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One HTTPS request; ``key`` goes in `apikey` and, unless ``token`` is given, in Authorization."""
        sent: dict[str, str] = {"Accept": "application/json", "User-Agent": "supa-engine-verify"}
        if key is not None:
            sent["apikey"] = key
        bearer = token if token is not None else key
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        payload: bytes | None = None
        if isinstance(body, bytes):
            payload = body
        elif body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        timeout = deadline.remaining()
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)
        return exchange(connection, method, self.url.path + path, payload=payload, headers=sent, timeout=timeout)


def exchange(connection: http.client.HTTPConnection, method: str, path: str, *, payload: bytes | None,
             headers: Mapping[str, str], timeout: float) -> Response:
    """Send one request on a fresh connection and read the whole answer."""
    try:
        connection.request(method, path, body=payload, headers=dict(headers))
        answer = connection.getresponse()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    except TimeoutError:
        raise CheckFailed(f"{method} {path.partition('?')[0]}: no answer within {timeout:.0f}s") from None
    except ssl.SSLCertVerificationError as exc:
        raise CheckFailed(f"TLS certificate not trusted: {exc.verify_message}") from None
    except (ssl.SSLError, OSError, http.client.HTTPException) as exc:
        raise CheckFailed(f"{method} {path.partition('?')[0]}: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()


def websocket_url(target: Target, path: str, key: str) -> str:
    netloc = target.url.netloc
    return f"wss://{netloc}{target.url.path}{path}?apikey={quote(key)}&vsn=1.0.0"


def phoenix_broadcast(target: Target, deadline: Deadline, key: str, topic: str, nonce: str) -> str:
    """Join ``realtime:<topic>`` with broadcast-to-self on and get one broadcast back.

    Realtime speaks the Phoenix channels protocol (v1: JSON objects with topic, event, payload,
    ref). Returns a short description of what came back; raises CheckFailed otherwise.
    """
    channel = f"realtime:{topic}"
    try:
        with connect(websocket_url(target, "/realtime/v1/websocket", key), ssl=target.context,
                     open_timeout=deadline.remaining(), close_timeout=2,
                     user_agent_header="supa-engine-verify") as ws:
            ws.send(json.dumps({"topic": channel, "event": "phx_join", "ref": "1", "payload": {
                "config": {"broadcast": {"self": True, "ack": False}, "presence": {"key": ""},
                           "postgres_changes": []},
                "access_token": key}}))
            reply = _receive(ws, deadline, lambda m: m.get("event") == "phx_reply" and m.get("ref") == "1")
            payload = reply.get("payload") or {}
            if payload.get("status") != "ok":
                raise CheckFailed(f"join refused: {json.dumps(payload.get('response'))[:160]}")
            ws.send(json.dumps({"topic": channel, "event": "broadcast", "ref": "2", "payload": {
                "type": "broadcast", "event": "supa-engine-verify", "payload": {"nonce": nonce}}}))
            _receive(ws, deadline, lambda m: m.get("event") == "broadcast"
                     and ((m.get("payload") or {}).get("payload") or {}).get("nonce") == nonce)
            ws.send(json.dumps({"topic": channel, "event": "phx_leave", "ref": "3", "payload": {}}))
    except InvalidStatus as exc:
        raise CheckFailed(f"websocket upgrade refused: HTTP {exc.response.status_code}") from None
    except ssl.SSLCertVerificationError as exc:
        raise CheckFailed(f"TLS certificate not trusted: {exc.verify_message}") from None
    except TimeoutError:
        raise CheckFailed("websocket: no answer in time") from None
    except (WebSocketException, OSError) as exc:
        raise CheckFailed(f"websocket: {type(exc).__name__}: {exc}") from None
    return f"joined {channel} and received the broadcast back"


def _receive(ws: Any, deadline: Deadline, wanted: Any) -> dict[str, Any]:
    """Read messages until one satisfies ``wanted`` (others: presence, system, heartbeats)."""
    while True:
        try:
            raw = ws.recv(timeout=deadline.remaining())
        except TimeoutError:
            raise CheckFailed("websocket: the expected message did not arrive in time") from None
        try:
            message = json.loads(raw)
        except ValueError:
            raise CheckFailed(f"websocket: not a JSON message: {str(raw)[:80]!r}") from None
        if isinstance(message, dict) and wanted(message):
            return message
        if isinstance(message, dict) and message.get("event") == "phx_error":
            raise CheckFailed(f"channel error: {json.dumps(message.get('payload'))[:160]}")


def plain_http(host: str, port: int, path: str, timeout: float) -> Response | None:
    """GET over plain HTTP; None when nothing accepts the connection (refused or filtered)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.connect()
    except (TimeoutError, ConnectionRefusedError):
        connection.close()
        return None
    except OSError as exc:
        connection.close()
        raise CheckFailed(f"plain HTTP to {host}:{port}: {exc}") from None
    return exchange(connection, "GET", path, payload=None, headers={"User-Agent": "supa-engine-verify"},
                    timeout=timeout)


def tls_handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> tuple[str, dict[str, Any]]:
    """Complete a TLS handshake; the negotiated version and the peer certificate (empty unverified)."""
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        return tls.version() or "?", dict(tls.getpeercert() or {})
