"""What the rendered chart must say for the services to actually start and behave: realtime's
start-up without the image's sudo entrypoint, its tenant set up once with TLS, the realtime
tenant API closed at kong, integers rendered as integers, and only env names each pinned tag reads.

Facts are from the upstream sources at the tags the catalog pins; each test names the file.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from engine.catalog import REALTIME_TENANT, REALTIME_TENANT_JOB
from engine.render import render_manifests
from engine.targets.policies import policy_name
from tests.support import documents as parse
from tests.support import kong_config
from tests.support import rendered_chart as rendered

SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")


def objects(env: str = "prod") -> list[dict[str, Any]]:
    return parse(rendered(env)[2])


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(workload: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(workload).get("env", [])}


def shell_line(workload: dict[str, Any]) -> str:
    c = container(workload)
    return " ".join([*c.get("command", []), *c.get("args", [])])


# ------------------------------------------------------------------------------ realtime start-up


def test_realtime_runs_its_release_directly_without_sudo() -> None:
    """supabase/realtime v2.51.11 `run.sh` runs migrate and seed through `sudo -E -u nobody`, which a
    non-root pod without privilege escalation cannot do: the chart runs `rel/overlays/bin/migrate`,
    then execs `rel/overlays/bin/server`, under tini, never the image's entrypoint."""
    realtime = by_kind(objects(), "Deployment")["realtime"]
    c = container(realtime)
    line = shell_line(realtime)
    assert c["command"][0] == "/usr/bin/tini", "tini stays PID 1 and reaps the release's children"
    assert "run.sh" not in line and "sudo" not in line
    assert re.search(r"/app/bin/migrate && exec /app/bin/server\b", line), line
    assert "seeds" not in line and "eval" not in line, "no tenant work in the pods"
    assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_realtime_names_its_node_from_the_pod_ip() -> None:
    """`rel/env.sh.eex` at v2.51.11 takes the node's address from POD_IP (Kubernetes) and its name
    from NODE_NAME or APP_NAME; libcluster's DNS strategy (`config/runtime.exs`) polls DNS_NODES and
    expects `<APP_NAME>@<ip>`. The Fly.io host-name trick is gone."""
    realtime = by_kind(objects(), "Deployment")["realtime"]
    pod = realtime["spec"]["template"]["spec"]
    env = env_of(realtime)
    assert "hostname" not in pod
    assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["APP_NAME"] == "realtime" and "NODE_NAME" not in env
    assert env["CLUSTER_STRATEGIES"] == "DNS"
    assert env["DNS_NODES"] == "realtime-headless.supabase.svc.cluster.local"


def test_no_realtime_pod_seeds_the_tenant() -> None:
    """`run.sh` reseeds (delete + insert) when SEED_SELF_HOST is true, on every replica's boot."""
    for deployment in by_kind(objects(), "Deployment").values():
        env = env_of(deployment)
        assert "SEED_SELF_HOST" not in env, deployment["metadata"]["name"]
        assert "seeds" not in shell_line(deployment)


# ------------------------------------------------------------------------------ realtime tenant


def tenant_job(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return by_kind(objs, "Job")[REALTIME_TENANT_JOB]


def tenant_script(objs: list[dict[str, Any]]) -> str:
    script: str = by_kind(objs, "ConfigMap")[REALTIME_TENANT_JOB]["data"]["tenant.exs"]
    return script


def test_the_tenant_is_set_up_once_per_release_by_a_hook_job() -> None:
    """One Job per install and upgrade (after the release's Secrets and ConfigMap exist) upserts the
    tenant with realtime's own schema code (`lib/realtime/api/tenant.ex`): insert when missing,
    update when present, never delete."""
    objs = objects()
    job = tenant_job(objs)
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert container(job)["image"] == container(by_kind(objs, "Deployment")["realtime"])["image"]
    line = shell_line(job)
    assert "/app/bin/realtime eval" in line and "File.read!" in line and "sudo" not in line
    assert "/app/bin/migrate" in line, "the control-plane tables exist before the upsert"
    script = tenant_script(objs)
    assert "Repo.insert" in script and "Repo.update" in script
    assert "delete" not in script.lower()
    assert env_of(job)["SELF_HOST_TENANT_NAME"] == REALTIME_TENANT


def test_the_database_bootstrap_runs_again_after_the_tenant_job() -> None:
    """What needs the services' own tables (engine/deploy/services.py: service_role policies where
    no event trigger may add them, realtime.list_changes, the tenant's TLS) is done by a second
    bootstrap run after each install and upgrade, later than the tenant Job."""
    objs = objects()
    jobs = by_kind(objs, "Job")
    bootstrap, tenant = jobs["db-bootstrap"]["metadata"]["annotations"], tenant_job(objs)["metadata"]["annotations"]
    assert set(bootstrap["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade", "post-install", "post-upgrade"}
    assert int(bootstrap["helm.sh/hook-weight"]) > int(tenant["helm.sh/hook-weight"])
    for kind in ("ServiceAccount", "ExternalSecret"):
        hooks = by_kind(objs, kind)["db-bootstrap"]["metadata"]["annotations"]["helm.sh/hook"]
        assert set(hooks.split(",")) >= {"post-install", "post-upgrade"}, kind


def test_the_tenant_connects_over_tls() -> None:
    """The upstream seed (`priv/repo/seeds.exs`) hard-codes `ssl_enforced` false; RDS with
    rds.force_ssl=1 refuses that. `lib/realtime/database.ex` reads the flag per tenant."""
    script = tenant_script(objects())
    assert re.search(r'"ssl_enforced"\s*=>\s*true', script)
    assert not re.search(r'"ssl_enforced"\s*=>\s*false', script)


def test_the_tenant_is_the_one_kong_resolves() -> None:
    """Realtime finds its tenant from the first label of the Host header; kong forwards to
    `realtime.<namespace>.svc...`, so the tenant's external id is `realtime`."""
    objs = objects()
    assert REALTIME_TENANT == "realtime"
    services = {s["name"]: s for s in yaml.safe_load(kong_config(rendered("prod")[2]))["services"]}
    assert services["realtime-v1-ws"]["url"].startswith(f"http://{REALTIME_TENANT}.")
    assert env_of(tenant_job(objs))["SELF_HOST_TENANT_NAME"] == REALTIME_TENANT


def test_the_tenant_job_runs_like_the_pods_and_reaches_only_the_database() -> None:
    objs = objects()
    job, realtime = tenant_job(objs), by_kind(objs, "Deployment")["realtime"]
    assert container(job)["securityContext"] == container(realtime)["securityContext"]
    assert job["spec"]["template"]["spec"]["securityContext"] == realtime["spec"]["template"]["spec"]["securityContext"]
    db = {k: v for k, v in env_of(realtime).items() if k.startswith("DB_")}
    assert {k: v for k, v in env_of(job).items() if k.startswith("DB_")} == db, "same role, same database"
    policy = by_kind(objs, "NetworkPolicy")[policy_name(REALTIME_TENANT_JOB)]
    assert "ingress" not in policy["spec"]
    ports = sorted(p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"])
    assert ports == [53, 53, 5432]


def test_no_tenant_job_without_realtime() -> None:
    resolved, values, _ = rendered("prod")
    off = {**values, "components": {**values["components"],
                                    "realtime": {**values["components"]["realtime"], "enabled": False}}}
    objs = render_manifests(off, kube_version=resolved.config.cluster.kubernetes_version)
    assert REALTIME_TENANT_JOB not in by_kind(objs, "Job") | by_kind(objs, "ConfigMap")


# ------------------------------------------------------------------------------ kong


def kong_routes(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(path, service) for every route path of the declarative config."""
    config = yaml.safe_load(kong_config(text))
    return [(path, service) for service in config["services"] for route in service["routes"]
            for path in route["paths"]]


def kong_pick(routes: list[tuple[str, dict[str, Any]]], path: str) -> dict[str, Any]:
    """The service kong serves `path` with: the longest matching prefix route."""
    matches = [(p, s) for p, s in routes if path.startswith(p)]
    return max(matches, key=lambda m: len(m[0]))[1]


def test_kong_refuses_the_realtime_tenant_api() -> None:
    """realtime's `/api/tenants` accepts any JWT signed with the project secret (the anon key too)
    and `/api/openapi` needs none (`lib/realtime_web/router.ex` v2.51.11): kong answers 403."""
    routes = kong_routes(rendered("prod")[2])
    for path in ("/realtime/v1/api/tenants", "/realtime/v1/api/tenants/realtime/health",
                 "/realtime/v1/api/tenants/x/reload", "/realtime/v1/api/openapi"):
        plugins = {p["name"]: p.get("config", {}) for p in kong_pick(routes, path)["plugins"]}
        assert plugins.get("request-termination", {}).get("status_code") == 403, path
    # The rest of the realtime API still goes through.
    assert "request-termination" not in {p["name"] for p in kong_pick(routes, "/realtime/v1/api/broadcast")["plugins"]}


def test_graphql_is_not_routed() -> None:
    """pg_graphql is not available on RDS: /graphql/v1 would only ever answer 404."""
    text = rendered("prod")[2]
    assert not any(path.startswith("/graphql") for path, _ in kong_routes(text))
    ingress_paths = [p["path"] for o in parse(text) if o["kind"] == "Ingress"
                     for rule in o["spec"]["rules"] for p in rule["http"]["paths"]]
    assert "/graphql/v1" not in ingress_paths


# ------------------------------------------------------------------------------ values


def all_env_values(objs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(o["metadata"]["name"], e["name"], e["value"]) for o in objs if o["kind"] in ("Deployment", "Job")
            for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", []) if "value" in e]


def test_integers_render_as_integers() -> None:
    """Helm reads JSON numbers as floats and `quote` prints 52428800 as 5.24288e+07; storage
    parses some limits with parseInt, which would read 5."""
    resolved, values, _ = rendered("prod")
    big = {**values, "storage": {**values["storage"], "fileSizeLimitBytes": 5 * 1024 ** 3},
           "auth": {**values["auth"], "jwtExpirySeconds": 604800}}
    objs = render_manifests(big, kube_version=resolved.config.cluster.kubernetes_version)
    scientific = [v for v in all_env_values(objs) if SCIENTIFIC.match(v[2])]
    assert scientific == []
    env = env_of(by_kind(objs, "Deployment")["storage"])
    assert env["FILE_SIZE_LIMIT"] == str(5 * 1024 ** 3)
    assert env_of(by_kind(objs, "Deployment")["auth"])["GOTRUE_JWT_EXP"] == "604800"
    assert env_of(by_kind(objects(), "Deployment")["storage"])["FILE_SIZE_LIMIT"] == \
        str(values["storage"]["fileSizeLimitBytes"])
    # Every integer the chart prints (ports, limits) reads as one; the only decimal is imgproxy's.
    decimals = {(w, n) for w, n, v in all_env_values(objs) if re.fullmatch(r"\d+\.\d+", v)}
    assert decimals == {("imgproxy", "IMGPROXY_MAX_SRC_RESOLUTION")}


def test_postgrest_finds_extensions() -> None:
    """Extensions live in schema `extensions` (engine/deploy/sql/0003_extensions.sql)."""
    env = env_of(by_kind(objects(), "Deployment")["rest"])
    assert env["PGRST_DB_EXTRA_SEARCH_PATH"] == "public,extensions"


def test_functions_database_url_acts_as_service_role() -> None:
    """User code gets a URL whose login role can do nothing by itself; the session starts as
    service_role through libpq's `options` (proven on PostgreSQL in tests/deploy/test_service_database.py)."""
    _, values, text = rendered("prod")
    assert values["components"]["functions"]["enabled"]
    url = urlsplit(env_of(by_kind(parse(text), "Deployment")["functions"])["SUPABASE_DB_URL"])
    assert url.username == "authenticator"
    assert parse_qs(url.query)["options"] == ["-c role=service_role"]
    assert parse_qs(url.query)["sslmode"] == ["verify-full"]


def test_storage_s3_protocol_is_off() -> None:
    """storage-api v1.28.0 serves the S3 protocol unless S3_PROTOCOL_ENABLED is `false`
    (`src/config.ts`); without keys it would answer every signed request AccessDenied."""
    env = env_of(by_kind(objects(), "Deployment")["storage"])
    assert env["S3_PROTOCOL_ENABLED"] == "false"
    assert not {"S3_PROTOCOL_ACCESS_KEY_ID", "S3_PROTOCOL_ACCESS_KEY_SECRET"} & set(env)


# Names each pinned tag reads (files at the tag), beyond what a runtime reads for itself
# (Erlang/Elixir release: RELEASE_*, ERL_*; AWS SDK: AWS_*).
READ_BY_TAG: dict[str, set[str]] = {
    # supabase/realtime v2.51.11: config/runtime.exs, rel/env.sh.eex
    "realtime": {"PORT", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSL", "DB_SSL_CA_CERT",
                 "DB_IP_VERSION", "DB_AFTER_CONNECT_QUERY", "DB_ENC_KEY", "API_JWT_SECRET", "METRICS_JWT_SECRET",
                 "SECRET_KEY_BASE", "APP_NAME", "RUN_JANITOR", "CLUSTER_STRATEGIES", "DNS_NODES", "POD_IP",
                 "REGION"},
    # supabase/storage v1.28.0: src/config.ts
    "storage": {"PORT", "ANON_KEY", "SERVICE_KEY", "PGRST_JWT_SECRET", "AUTH_JWT_SECRET", "DB_PASSWORD",
                "DATABASE_URL", "STORAGE_BACKEND", "GLOBAL_S3_BUCKET", "REGION", "TENANT_ID", "FILE_SIZE_LIMIT",
                "REQUEST_ALLOW_X_FORWARDED_PATH", "ENABLE_IMAGE_TRANSFORMATION", "IMGPROXY_URL",
                "S3_PROTOCOL_ENABLED"},
    # supabase/postgres-meta v0.91.6: src/server/constants.ts
    "meta": {"PG_META_PORT", "PG_META_DB_HOST", "PG_META_DB_PORT", "PG_META_DB_NAME", "PG_META_DB_USER",
             "PG_META_DB_PASSWORD", "PG_META_DB_SSL_MODE", "PG_META_DB_SSL_ROOT_CERT", "CRYPTO_KEY"},
}
RUNTIME_PREFIXES = ("RELEASE_", "ERL_", "AWS_")
# Read by the kubelet, not the app: $(SUPA_DB_HOST) expands the database URLs (charts/supabase _helpers.tpl).
EXPANSION_ONLY = {"SUPA_DB_HOST"}


def test_env_names_are_read_by_the_pinned_tags() -> None:
    objs = objects()
    workloads = {**by_kind(objs, "Deployment"), REALTIME_TENANT_JOB: tenant_job(objs)}
    for name, known in READ_BY_TAG.items():
        unknown = {e for e in env_of(workloads[name])
                   if e not in known | EXPANSION_ONLY and not e.startswith(RUNTIME_PREFIXES)}
        assert unknown == set(), name
    tenant = set(env_of(workloads[REALTIME_TENANT_JOB])) - READ_BY_TAG["realtime"] - {"SELF_HOST_TENANT_NAME"}
    assert {e for e in tenant if not e.startswith(RUNTIME_PREFIXES)} == set()

