"""A test double of a deployed Supabase behind kong: NOT Supabase, only the subset verify uses.

HTTPS (a throwaway CA made here) and a websocket speaking the Phoenix channels protocol on one
port, plain HTTP on another. ``faults`` injects a failure per route, so each check of
`supa-engine verify` can be shown to fail: a 500, a hang, a wrong body, an open admin route.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import secrets
import socket
import ssl
import struct
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Fault kinds: "500", "hang" (answers after the client gave up), "wrong-body", "open" (an admin
# or private route answers 200), "stale" (404 PGRST205 twice, then fine), "refuse" (realtime
# join refused), "no-echo" (broadcast not sent back), "late-tenant" (two joins refused first),
# "noop" (the storage policy function makes nothing), "lost" (storage records no owner).
#
# Storage follows storage-api's rule: a user's token reads or writes an object only where a policy
# allows it. The only policies are those storage.supa_engine_verify_policies() makes (the RPC,
# service_role only): own objects (owner = the token's user) in supa-engine-verify-* buckets.
VERIFY_POLICIES = ("supa_engine_verify_own_insert", "supa_engine_verify_own_select")


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_pki(directory: Path) -> Pki:
    """A CA and a certificate for localhost/127.0.0.1 signed by it (PEM files in ``directory``)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "verify double CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki = Pki(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return pki


@dataclass
class State:
    anon_key: str
    service_key: str
    faults: dict[str, str] = field(default_factory=dict)
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {email, password}
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> user id
    rows: dict[int, str] = field(default_factory=dict)
    buckets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # "bucket/name" -> user id (upload's token)
    policies: set[str] = field(default_factory=set)  # on storage.objects
    counts: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, route: str) -> str | None:
        with self.lock:
            self.counts[route] = self.counts.get(route, 0) + 1
            kind = self.faults.get(route)
            if kind in ("stale", "late-tenant") and self.counts[route] > 2:
                return None
            return kind


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.server.state

    def send(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def json_body(self) -> Any:
        return json.loads(self.body() or b"null")

    def role(self) -> str | None:
        """Kong's key-auth, then the service's own view of the bearer token."""
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer == self.state.service_key:
            return "service_role"
        if bearer in self.state.tokens:
            return "authenticated"
        if bearer == self.state.anon_key or self.headers.get("apikey") == self.state.anon_key:
            return "anon"
        return None

    def user(self) -> str | None:
        """The user id of a signed-in user's bearer token."""
        return self.state.tokens.get((self.headers.get("Authorization") or "").removeprefix("Bearer "))

    def policy_allows(self, policy: str, bucket: str, owner: str | None) -> bool:
        user = self.user()
        return (policy in self.state.policies and user is not None and owner == user
                and bucket.startswith("supa-engine-verify-"))

    def faulted(self, route: str, good: Any, status: int = 200) -> bool:
        """Answer with the injected fault of ``route`` (True), or let the caller answer (False)."""
        kind = self.state.fault(route)
        if kind is None:
            return False
        if kind == "500":
            self.send(500, {"message": "An unexpected error occurred"})
        elif kind == "hang":
            self.state.stop.wait(30)  # until the double stops: the client gives up first
            self.send(status, good)
        elif kind == "wrong-body":
            self.send(status, b"<html>it works</html>", {"Content-Type": "text/html"})
        elif kind == "open":
            self.send(200, good)
        elif kind == "stale":
            self.send(404, {"code": "PGRST205", "message": "Could not find the table in the schema cache"})
        else:
            return False
        return True

    # --- verbs -----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PATCH(self) -> None:
        self.route("PATCH")

    def do_DELETE(self) -> None:
        self.route("DELETE")

    def route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        if self.headers.get("Upgrade", "").lower() == "websocket" and path == "/realtime/v1/websocket":
            self.websocket(query)
            return
        for prefix, handler in ((("/auth/v1/"), self.auth), ("/rest/v1/", self.rest), ("/storage/v1/", self.storage),
                                ("/functions/v1/", self.functions), ("/pg/", self.pg),
                                ("/realtime/v1/api/tenants", self.tenants)):
            if path.startswith(prefix):
                handler(method, path.removeprefix(prefix), query)
                return
        if not self.faulted("studio", {"studio": True}):
            self.send(404, b"", {"Content-Type": "text/plain"})  # the load balancer's default rule

    # --- services --------------------------------------------------------------------------------

    def keyed(self) -> str | None:
        """Kong's key-auth on /auth, /rest, /realtime and /pg: a known apikey or 401."""
        if self.headers.get("apikey") not in (self.state.anon_key, self.state.service_key):
            self.send(401, {"message": "No API key found in request"})
            return None
        return self.role() or "anon"

    def auth(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if (role := self.keyed()) is None:
            return
        if path == "health" and not self.faulted("auth-health", {"version": "v2.180.0"}):
            self.send(200, {"version": "v2.180.0", "name": "GoTrue", "description": "double"})
        elif path == "signup" and method == "POST":
            data = self.json_body()
            user_id = self.new_user(data["email"], data["password"])
            self.send(200, {"id": user_id, "email": data["email"], "role": "authenticated"})
        elif path == "token" and method == "POST":
            data = self.json_body()
            given = {"email": data["email"], "password": data["password"]}
            match = [i for i, u in self.state.users.items() if u == given]
            if not match or self.faulted("auth-token", {}):
                if not match:
                    self.send(400, {"error": "invalid_grant"})
                return
            token = secrets.token_urlsafe(24)
            self.state.tokens[token] = match[0]
            self.send(200, {"access_token": token, "token_type": "bearer", "user": {"id": match[0]}})
        elif path.startswith("admin/users"):
            listing = {"users": [{"id": i, "email": u["email"]} for i, u in self.state.users.items()]}
            if role != "service_role":
                if not self.faulted("auth-admin-anon", listing):
                    self.send(403, {"msg": "User not allowed"})
            elif method == "POST":
                data = self.json_body()
                self.send(200, {"id": self.new_user(data["email"], data["password"]), "email": data["email"]})
            elif method == "GET" and path == "admin/users":
                page = int(query.get("page", ["1"])[0])
                if self.faulted("auth-list", listing):
                    return
                self.send(200, listing if page == 1 else {"users": []})
            elif method == "DELETE":
                self.state.users.pop(path.removeprefix("admin/users/"), None)
                self.send(200, {})
        else:
            self.send(404, {"msg": "not found"})

    def new_user(self, email: str, password: str) -> str:
        user_id = str(uuid.uuid4())
        if self.state.faults.get("auth-users") == "lost":
            return user_id  # created, yet never listed
        self.state.users[user_id] = {"email": email, "password": password}
        return user_id

    def rest(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if (role := self.keyed()) is None:
            return
        if path == "":
            if not self.faulted("rest-root", {"swagger": "2.0"}):
                self.send(200, {"swagger": "2.0", "info": {"title": "PostgREST double"}, "paths": {}})
            return
        if path == "rpc/supa_engine_verify_policies" and method == "POST":
            self.policies_function(role)
            return
        if path != "supa_engine_verify":
            self.send(404, {"code": "PGRST205"})
            return
        if role != "service_role":
            rows = [{"id": i, "note": n} for i, n in self.state.rows.items()]
            if not self.faulted("rest-anon", rows):
                self.send(401, {"code": "42501", "message": "permission denied for table supa_engine_verify"})
            return
        if self.faulted(f"rest-{method.lower()}", []):
            return
        wanted = int(query["id"][0].removeprefix("eq.")) if "id" in query else None
        if method == "POST":
            row_id = max(self.state.rows, default=0) + 1
            self.state.rows[row_id] = self.json_body()["note"]
            self.send(201, [{"id": row_id, "note": self.state.rows[row_id]}])
            return
        matched = [i for i in self.state.rows if wanted is None or i == wanted]
        if method == "PATCH":
            note = self.json_body()["note"]
            for i in matched:
                self.state.rows[i] = note
        result = [{"id": i, "note": self.state.rows[i]} for i in matched]
        if method == "DELETE" and self.state.faults.get("rest-delete-noop") is None:
            for i in matched:
                del self.state.rows[i]
        self.send(200, result)

    def policies_function(self, role: str) -> None:
        """storage.supa_engine_verify_policies() through PostgREST (the schema named in Content-Profile)."""
        if self.headers.get("Content-Profile") != "storage":
            self.send(404, {"code": "PGRST202", "message": "Could not find the function in the schema cache"})
        elif role != "service_role":
            self.send(401, {"code": "42501", "message": "permission denied for function supa_engine_verify_policies"})
        elif (kind := self.state.fault("rest-rpc")) == "stale":
            self.send(404, {"code": "PGRST202", "message": "Could not find the function in the schema cache"})
        elif kind == "500":
            self.send(500, {"message": "An unexpected error occurred"})
        elif kind == "noop":
            self.send(200, [])
        else:
            made = [p for p in VERIFY_POLICIES if p not in self.state.policies]
            self.state.policies.update(made)
            self.send(200, made)

    def storage(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        role, buckets = self.role(), self.state.buckets
        if path == "status":
            if not self.faulted("storage-status", b""):
                self.send(200, b"")
            return
        not_found = {"statusCode": "404", "error": "not_found", "message": "Object not found"}
        if path == "bucket" and method == "POST" and role == "service_role":
            buckets[self.json_body()["id"]] = {}
            self.send(200, {"name": "created"})
        elif path.startswith("bucket/") and method == "DELETE" and role == "service_role":
            gone = path.removeprefix("bucket/")
            buckets.pop(gone, None)
            self.state.owners = {k: v for k, v in self.state.owners.items() if not k.startswith(f"{gone}/")}
            self.send(200, {"message": "Successfully deleted"})
        elif path.startswith("object/list/") and role == "service_role":
            if not self.faulted("storage-list", []):
                self.send(200, [{"name": n} for n in buckets.get(path.removeprefix("object/list/"), {})])
        elif path.startswith(("object/public/", "object/authenticated/")):
            kind, _, rest = path.removeprefix("object/").partition("/")
            bucket, _, name = rest.partition("/")
            content = buckets.get(bucket, {}).get(name)
            if kind == "authenticated" and content is not None and self.policy_allows(
                    VERIFY_POLICIES[1], bucket, self.state.owners.get(f"{bucket}/{name}")):
                if not self.faulted("storage-own-download", content):
                    self.send(200, content, {"Content-Type": "text/plain"})
            elif not self.faulted(f"storage-{kind}", content or b""):
                self.send(400, not_found)
        elif path.startswith("object/"):
            bucket, _, name = path.removeprefix("object/").partition("/")
            if method == "DELETE" and role == "service_role":
                for prefix in self.json_body()["prefixes"]:
                    buckets.get(bucket, {}).pop(prefix, None)
                    self.state.owners.pop(f"{bucket}/{prefix}", None)
                self.send(200, [])
            elif method == "POST" and (role == "service_role" or self.policy_allows(VERIFY_POLICIES[0], bucket,
                                                                                     self.user())):
                data, owner = self.body(), self.user()
                if self.faulted("storage-upload", {"Key": f"{bucket}/{name}"}):
                    return
                buckets.setdefault(bucket, {})[name] = data
                if owner is not None and self.state.faults.get("storage-owner") != "lost":
                    self.state.owners[f"{bucket}/{name}"] = owner
                self.send(200, {"Key": f"{bucket}/{name}"})
            elif method == "POST":
                self.body()
                self.send(400, {"statusCode": "403", "error": "Unauthorized",
                                "message": "new row violates row-level security policy"})
            elif method == "GET":
                stored = buckets.get(bucket, {}).get(name)
                if role == "service_role" and stored is not None:
                    if not self.faulted("storage-download", stored):
                        self.send(200, stored, {"Content-Type": "text/plain"})
                elif not (stored is not None and self.faulted("storage-anon", stored)):
                    self.send(400, not_found)
        else:
            self.send(403 if role != "service_role" else 400, {"error": "refused"})

    def functions(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if not self.faulted("functions", {}, 404):
            self.send(404, {"msg": "no functions are deployed"})

    def pg(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if (role := self.keyed()) is None:
            return
        if role != "service_role" and not self.faulted("pg", [{"name": "users"}]):
            self.send(403, {"message": "You cannot consume this service"})
        elif role == "service_role":
            self.send(200, [])

    def tenants(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if not self.faulted("realtime-tenants", [{"external_id": "realtime"}]):
            self.send(403, {"message": "Access is forbidden."})

    # --- realtime websocket (Phoenix channels v1) ------------------------------------------------

    def websocket(self, query: dict[str, list[str]]) -> None:
        if query.get("apikey", [""])[0] not in (self.state.anon_key, self.state.service_key):
            self.send(401, {"message": "No API key found in request"})
            return
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while (message := self.read_frame()) is not None:
            event, topic, ref = message.get("event"), message.get("topic"), message.get("ref")
            if event == "phx_join":
                self.send_frame({"event": "presence_state", "topic": topic, "payload": {}, "ref": None})
                kind = self.state.fault("realtime-join")
                if kind in ("refuse", "late-tenant"):
                    reason = "Tenant not found: realtime" if kind == "late-tenant" else "Unauthorized"
                    self.send_frame({"event": "phx_reply", "topic": topic, "ref": ref,
                                     "payload": {"status": "error", "response": {"reason": reason}}})
                    continue
                self.send_frame({"event": "phx_reply", "topic": topic, "ref": ref,
                                 "payload": {"status": "ok", "response": {"postgres_changes": []}}})
            elif event == "broadcast" and self.state.fault("realtime-broadcast") != "no-echo":
                self.send_frame({"event": "broadcast", "topic": topic, "payload": message["payload"], "ref": None})

    def read_frame(self) -> dict[str, Any] | None:
        """One client frame (masked, unfragmented); None on close or end of stream."""
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self.rfile.read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self.rfile.read(8))[0]
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
        if opcode == 0x8:
            self.write_frame(0x8, data[:2])
            return None
        if opcode == 0x9:
            self.write_frame(0xA, data)
            return self.read_frame()
        result: dict[str, Any] = json.loads(data)
        return result

    def send_frame(self, message: dict[str, Any]) -> None:
        self.write_frame(0x1, json.dumps(message).encode())

    def write_frame(self, opcode: int, data: bytes) -> None:
        size = len(data)
        head = bytes([0x80 | opcode]) + (bytes([size]) if size < 126 else
                                         bytes([126]) + struct.pack("!H", size) if size < 65536 else
                                         bytes([127]) + struct.pack("!Q", size))
        self.wfile.write(head + data)
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state, self.context = state, context

    def get_request(self) -> tuple[Any, Any]:
        conn, address = self.socket.accept()
        if self.context is not None:  # the handshake happens in the handler's thread
            conn = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed handshakes (the legacy-TLS probe) are expected


class _Redirect(BaseHTTPRequestHandler):
    server: _PlainServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.server.mode == "redirect-elsewhere":
            self.send_response(301)
            self.send_header("Location", f"http://localhost:1{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.mode == "serve":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        self.send_response(301)
        self.send_header("Location", f"{self.server.https}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()


class _PlainServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, https: str, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Redirect)
        self.https, self.mode = https, mode


@dataclass
class SupabaseDouble:
    """The running double; ``url`` for --url, ``http_url`` for --http-url, ``pki.ca_file`` for --ca-bundle."""

    state: State
    pki: Pki
    https: _Server
    plain: _PlainServer | None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https.server_address[1]}"

    @property
    def http_url(self) -> str:
        if self.plain is None:  # nothing listens there
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return f"http://localhost:{s.getsockname()[1]}"
        return f"http://localhost:{self.plain.server_address[1]}"

    def stop(self) -> None:
        self.state.stop.set()
        for server in (self.https, self.plain):
            if server is not None:
                server.shutdown()
                server.server_close()


def start_double(pki: Pki, anon_key: str, service_key: str, *, faults: dict[str, str] | None = None,
                 legacy_tls: bool = False, plain: str = "redirect") -> SupabaseDouble:
    """Start the double; ``plain`` is "redirect", "redirect-elsewhere", "serve" or "closed";
    ``legacy_tls`` accepts TLS 1.0/1.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    if legacy_tls:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # deprecated on purpose: this is the fault
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    state = State(anon_key, service_key, dict(faults or {}))
    https = _Server(state, context)
    threading.Thread(target=https.serve_forever, args=(0.05,), daemon=True).start()
    plain_server = None
    if plain != "closed":
        plain_server = _PlainServer(f"https://localhost:{https.server_address[1]}", plain)
        threading.Thread(target=plain_server.serve_forever, args=(0.05,), daemon=True).start()
    return SupabaseDouble(state, pki, https, plain_server)
