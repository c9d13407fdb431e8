"""Studio's calls through the real postgres-meta (npm @supabase/postgres-meta at the chart's tag).

postgres-meta runs with the environment the chart renders for the meta Deployment (prod), the
Secret and ConfigMap references filled with the test database's values and only the address
pointed at the test server, over TLS verified against the server's CA (verify-full).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from engine.catalog import BY_NAME
from engine.render import render_manifests
from engine.targets.helm import compile_values, derived_outputs
from tests.deploy.conftest import FreshDatabase
from tests.deploy.database_support import run
from tests.postgres import NPM_CACHE
from tests.support import resolved_env
from tests.tools import tool_missing

pytestmark = pytest.mark.slow

META_VERSION = BY_NAME["meta"].tag.removeprefix("v")
META_DEFAULT = NPM_CACHE / "node_modules/@supabase/postgres-meta"
# The env entries that name where the database is: the only ones the test changes.
ADDRESS = ("PG_META_DB_HOST", "PG_META_DB_PORT", "PG_META_DB_NAME", "PG_META_PORT")


@functools.cache
def chart_env() -> tuple[dict[str, Any], ...]:
    """The meta container's env as the chart renders it for prod."""
    resolved = resolved_env("prod")
    values = compile_values(resolved, derived_outputs(resolved))
    objects = render_manifests(values, kube_version=resolved.config.cluster.kubernetes_version)
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("meta"):
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            return tuple(container["env"])
    raise AssertionError("the chart renders no meta Deployment")


def meta_env(db: FreshDatabase, port: int) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in chart_env():
        name = item["name"]
        if "value" in item:
            env[name] = str(item["value"])
        elif "secretKeyRef" in item.get("valueFrom", {}):
            env[name] = db.passwords["supabase_admin"] if name == "PG_META_DB_PASSWORD" else secrets.token_hex(16)
        elif "configMapKeyRef" in item.get("valueFrom", {}):
            env[name] = db.server.ca_file.read_text()  # the RDS CA bundle's place
        else:
            raise AssertionError(f"meta env {name}: unexpected source {item}")
    missing = [n for n in ADDRESS if n not in env]
    assert not missing, f"the chart no longer renders {missing} for meta"
    assert env["PG_META_DB_USER"] == "supabase_admin"
    env.update(PG_META_DB_HOST="localhost", PG_META_DB_PORT=str(db.server.port), PG_META_DB_NAME=db.name,
               PG_META_PORT=str(port))
    return env


def _free_pair() -> int:
    """A port p with p+1 free too (postgres-meta serves its admin app on PG_META_PORT + 1)."""
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = int(a.getsockname()[1])
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no two consecutive free ports")


class Meta:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode()}") from None


@pytest.fixture
def meta(database: FreshDatabase) -> Iterator[Meta]:
    package = Path(os.environ.get("SUPA_ENGINE_POSTGRES_META", str(META_DEFAULT)))
    server_js = package / "dist/server/server.js"
    node = shutil.which("node")
    if node is None or not server_js.is_file():
        tool_missing(f"postgres-meta {META_VERSION} not found at {package} (or no node): install it with npm "
                     "(see README) or set SUPA_ENGINE_POSTGRES_META")
    version = json.loads((package / "package.json").read_text())["version"]
    assert version == META_VERSION, f"postgres-meta {version} installed, the chart pins {META_VERSION}"
    run(database)
    port = _free_pair()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **meta_env(database, port)}
    log = database.server.root / f"meta-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(node), str(server_js)], cwd=package, env=env, stdout=out, stderr=subprocess.STDOUT)
    client = Meta(port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.call("GET", "/health")
                break
            except (urllib.error.URLError, ConnectionError, AssertionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"postgres-meta did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield client
    finally:
        proc.kill()  # stateless; a graceful stop waits 10 s for idle connections
        proc.wait(timeout=10)


def test_studio_calls_through_postgres_meta(database: FreshDatabase, meta: Meta) -> None:
    """Studio's table editor, Authentication page, storage policies and realtime toggle
    (postgres-meta v0.91.6 src/server/routes: /tables, /query, /policies, /publications)."""
    # Services' tables exist as their own roles made them (see test_service_database).
    with psycopg.connect(database.dsn_as("supabase_auth_admin"), autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id uuid PRIMARY KEY, email text)")
        conn.execute("INSERT INTO users VALUES (gen_random_uuid(), 'a@example.com')")
    with psycopg.connect(database.dsn_as("supabase_storage_admin"), autocommit=True) as conn:
        conn.execute("CREATE TABLE storage.objects (id uuid PRIMARY KEY, owner uuid, name text)")
        conn.execute("ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY")
    with psycopg.connect(database.master_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.by_master (id int PRIMARY KEY)")
        # Tables the master makes are handed to supabase_admin to be managed from Studio.
        conn.execute("ALTER TABLE public.by_master OWNER TO supabase_admin")

    created = meta.call("POST", "/tables", {"name": "todos", "schema": "public"})
    assert created["name"] == "todos"
    tables = {t["name"] for t in meta.call("GET", "/tables?included_schemas=public&include_columns=false")}
    assert {"todos", "by_master"} <= tables
    users = meta.call("POST", "/query", {"query": "SELECT email FROM auth.users"})
    assert users == [{"email": "a@example.com"}]
    policy = meta.call("POST", "/policies", {
        "name": "own objects", "schema": "storage", "table": "objects", "command": "SELECT",
        "roles": ["authenticated"],
        "definition": "owner = (current_setting('request.jwt.claims', true)::jsonb->>'sub')::uuid",
    })
    assert (policy["schema"], policy["table"], policy["roles"]) == ("storage", "objects", ["authenticated"])
    (publication,) = [p for p in meta.call("GET", "/publications") if p["name"] == "supabase_realtime"]
    wanted = ["public.todos", "public.by_master", "storage.objects"]
    updated = meta.call("PATCH", f"/publications/{publication['id']}", {"tables": wanted})
    assert sorted(f"{t['schema']}.{t['name']}" for t in updated["tables"]) == sorted(wanted)
    assert meta.call("POST", "/query", {"query": "SELECT 40 + 2 AS answer"}) == [{"answer": 42}]
