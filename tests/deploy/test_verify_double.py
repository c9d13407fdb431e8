"""`supa-engine verify` against the Supabase test double (tests/deploy/supabase_double.py, NOT
Supabase), with the API keys in moto's Secrets Manager and the RDS instance in moto's RDS.

Each check is shown to pass against a healthy double and to fail, alone, when the one thing it
guards is broken.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from engine.cli import main
from engine.config import load_config
from engine.deploy.verify import CHECK_NAMES, VerifyOptions, VerifyReport, verify
from engine.errors import EngineError
from engine.resolve import Resolved, resolve
from tests.deploy.moto_server import AwsEnv
from tests.deploy.supabase_double import VERIFY_POLICIES, Pki, SupabaseDouble, make_pki, start_double

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "environments" / "dev.yaml"
RESOLVED = resolve(load_config(DEV).config)
REGION = RESOLVED.config.project.region
PRIVATE = ["10.10.200.17"]

Start = Callable[..., SupabaseDouble]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def keys(aws: AwsEnv) -> tuple[str, str]:
    """The API keys as `apply` leaves them in Secrets Manager."""
    anon, service = f"anon.{secrets.token_urlsafe(24)}", f"service.{secrets.token_urlsafe(24)}"
    client = boto3.client("secretsmanager", region_name=REGION)
    for name, value in (("anon-key", anon), ("service-role-key", service)):
        client.create_secret(Name=RESOLVED.names["secret_prefix"] + name, SecretString=value)
    return anon, service


@pytest.fixture
def rds(aws: AwsEnv) -> None:
    rds_instance(aws, RESOLVED)


def rds_instance(aws: AwsEnv, resolved: Resolved, *, public: bool = False) -> None:
    boto3.client("rds", region_name=resolved.config.project.region).create_db_instance(
        DBInstanceIdentifier=resolved.names["database"], Engine="postgres", DBInstanceClass="db.t4g.small",
        AllocatedStorage=20, MasterUsername="postgres", ManageMasterUserPassword=True, PubliclyAccessible=public)


@pytest.fixture
def start(pki: Pki, keys: tuple[str, str]) -> Iterator[Start]:
    started: list[SupabaseDouble] = []

    def run(**kwargs: object) -> SupabaseDouble:
        double = start_double(pki, *keys, **kwargs)  # type: ignore[arg-type]
        started.append(double)
        return double

    yield run
    for double in started:
        double.stop()


def options(double: SupabaseDouble, **kwargs: object) -> VerifyOptions:
    settings: dict[str, object] = {"url": double.url, "http_url": double.http_url,
                                   "ca_bundle": str(double.pki.ca_file), "timeout": 30.0}
    settings.update(kwargs)
    return VerifyOptions(**settings)  # type: ignore[arg-type]


def run_verify(double: SupabaseDouble, *, resolved: Resolved = RESOLVED, addresses: list[str] | None = None,
               waits: list[float] | None = None, **kwargs: object) -> VerifyReport:
    found = PRIVATE if addresses is None else addresses
    return verify(resolved, options(double, **kwargs), resolve_host=lambda _: found,
                  sleep=(waits if waits is not None else []).append)


def outcome(report: VerifyReport) -> dict[str, str]:
    return {r.name: r.status for r in report.results}


def only_failure(report: VerifyReport, name: str) -> str:
    """The detail of ``name``, which must be the one failed check."""
    failed = {r.name: r.detail for r in report.results if r.status == "fail"}
    assert list(failed) == [name], failed
    return failed[name]


# --- a healthy environment -------------------------------------------------------------------------


def test_double_every_check_passes(start: Start, keys: tuple[str, str], rds: None) -> None:
    double = start()
    report = run_verify(double)
    assert outcome(report) == dict.fromkeys(CHECK_NAMES, "pass"), report.render()
    assert report.ok and report.summary() == f"{len(CHECK_NAMES)} passed, 0 failed"
    # everything made during the run is gone again
    assert double.state.rows == {} and double.state.users == {} and double.state.buckets == {}
    assert all(key not in report.render() for key in keys)


def copy_keys(resolved: Resolved) -> None:
    """The dev keys stored under another environment's secret names too."""
    client = boto3.client("secretsmanager", region_name=REGION)
    for name in ("anon-key", "service-role-key"):
        value = client.get_secret_value(SecretId=RESOLVED.names["secret_prefix"] + name)["SecretString"]
        client.create_secret(Name=resolved.names["secret_prefix"] + name, SecretString=value)


def test_double_signup_when_autoconfirm_is_on_the_admin_api_otherwise(start: Start) -> None:
    double = start()
    assert "signed up, listed" in run_verify(double, only=("auth-users",)).results[0].detail  # dev: autoconfirm
    prod = resolve(load_config(ROOT / "environments" / "prod.yaml").config)
    assert not prod.config.supabase.auth.email_autoconfirm
    copy_keys(prod)
    before = double.state.counts.get("auth-admin-anon", 0)
    report = run_verify(double, resolved=prod, only=("auth-users",))
    assert "created through the admin API, listed" in report.results[0].detail
    assert double.state.counts.get("auth-admin-anon", 0) == before  # no anon call on an admin route
    double.state.faults["auth-users"] = "lost"
    assert "not in the admin API's user list" in only_failure(run_verify(double, only=("auth-users",)), "auth-users")


# --- each check can fail ---------------------------------------------------------------------------

FAULTS = [
    ("auth-health", {"auth-health": "500"}, "HTTP 500"),
    ("auth-health", {"auth-health": "wrong-body"}, "expected JSON"),
    ("auth-health", {"auth-health": "hang"}, "no answer within"),
    ("rest-root", {"rest-root": "wrong-body"}, "expected JSON"),
    ("storage-status", {"storage-status": "500"}, "HTTP 500"),
    ("functions", {"functions": "500"}, "HTTP 500"),
    ("rest-crud", {"rest-post": "500"}, "HTTP 500"),
    ("rest-crud", {"rest-patch": "wrong-body"}, "expected JSON"),
    ("rest-crud", {"rest-anon": "open"}, "anon can read the fixture table"),
    ("rest-crud", {"rest-delete-noop": "on"}, "still there after delete"),
    ("auth-users", {"auth-list": "500"}, "list users: HTTP 500"),
    ("storage-objects", {"storage-download": "wrong-body"}, "other bytes"),
    ("storage-objects", {"storage-list": "500"}, "list: HTTP 500"),
    ("storage-objects", {"storage-anon": "open"}, "anon can read"),
    ("storage-objects", {"storage-public": "open"}, "a public URL can read"),
    ("storage-objects", {"storage-authenticated": "open"}, "another user's token can read"),
    ("storage-objects", {"rest-rpc": "500"}, "storage policies: POST /rest/v1/rpc/supa_engine_verify_policies"),
    ("storage-objects", {"rest-rpc": "noop"}, "upload with the user's token: HTTP 400"),
    ("storage-objects", {"storage-upload": "500"}, "upload with the user's token: HTTP 500"),
    ("storage-objects", {"storage-owner": "lost"}, "download with the user's token: HTTP 400"),
    ("storage-objects", {"storage-own-download": "wrong-body"}, "download with the user's token returned other bytes"),
    ("realtime-broadcast", {"realtime-join": "refuse"}, "join refused"),
    ("realtime-broadcast", {"realtime-broadcast": "no-echo"}, "did not arrive in time"),
    ("pg-closed", {"pg": "open"}, "GET /pg/tables with anon key: HTTP 200"),
    ("auth-admin-closed", {"auth-admin-anon": "open"}, "HTTP 200"),
    ("realtime-tenants-closed", {"realtime-tenants": "open"}, "HTTP 200"),
    ("studio-closed", {"studio": "open"}, "Studio must not answer"),
]


@pytest.mark.parametrize(("check", "faults", "reason"), FAULTS,
                         ids=[f"{c}-{next(iter(f.values()))}" for c, f, _ in FAULTS])
def test_double_fault_fails_its_check(start: Start, check: str, faults: dict[str, str], reason: str) -> None:
    # Generous timeouts (the CPU may be shared), short only where the fault is a silence.
    silent = {"hang", "no-echo"} & set(faults.values())
    report = run_verify(start(faults=faults), timeout=3.0 if silent else 30.0, only=(check,))
    assert reason in only_failure(report, check)
    assert report.summary() == "0 passed, 1 failed"


def test_double_a_fault_fails_no_other_check(start: Start, rds: None) -> None:
    report = run_verify(start(faults={"storage-anon": "open"}))
    assert "anon can read" in only_failure(report, "storage-objects")
    assert report.summary() == f"{len(CHECK_NAMES) - 1} passed, 1 failed"


def test_double_plain_http_served_fails(start: Start) -> None:
    report = run_verify(start(plain="serve"), only=("plain-http-closed",))
    assert "plain HTTP is served: HTTP 200" in only_failure(report, "plain-http-closed")


def test_double_plain_http_redirect_elsewhere_fails(start: Start) -> None:
    report = run_verify(start(plain="redirect-elsewhere"), only=("plain-http-closed",))
    assert "redirects elsewhere" in only_failure(report, "plain-http-closed")


def test_double_plain_http_closed_passes(start: Start) -> None:
    report = run_verify(start(plain="closed"), only=("plain-http-closed",))
    assert outcome(report) == {"plain-http-closed": "pass"}
    assert "nothing accepts plain HTTP" in report.results[0].detail


def test_double_tls_1_1_accepted_fails(start: Start) -> None:
    report = run_verify(start(legacy_tls=True), only=("tls-legacy-refused", "tls-certificate", "auth-health"))
    assert "accepted TLSv1.1" in only_failure(report, "tls-legacy-refused")


def test_double_untrusted_certificate_fails(start: Start) -> None:
    double = start()
    report = run_verify(double, ca_bundle=None, only=("tls-certificate", "auth-health", "realtime-broadcast"))
    assert {r.name for r in report.results if r.status == "fail"} == {"tls-certificate", "auth-health",
                                                                      "realtime-broadcast"}
    assert all("not trusted" in r.detail for r in report.results)


def test_double_database_resolving_to_a_public_address_fails(start: Start, rds: None) -> None:
    report = run_verify(start(), addresses=["10.10.200.17", "52.28.1.9"], only=("database-private",))
    assert "resolves to public address 52.28.1.9" in only_failure(report, "database-private")


def test_double_publicly_accessible_database_fails(start: Start, aws: AwsEnv, rds: None) -> None:
    boto3.client("rds", region_name=REGION).modify_db_instance(
        DBInstanceIdentifier=RESOLVED.names["database"], PubliclyAccessible=True, ApplyImmediately=True)
    report = run_verify(start(), only=("database-private",))
    assert "publicly accessible" in only_failure(report, "database-private")


def test_double_missing_database_fails(start: Start) -> None:
    report = run_verify(start(), only=("database-private",))
    assert "no RDS instance acme-dev" in only_failure(report, "database-private")


# --- eventual consistency, selection, skips --------------------------------------------------------


def test_double_stale_schema_cache_is_waited_for_and_the_wait_shown(start: Start) -> None:
    waits: list[float] = []
    report = run_verify(start(faults={"rest-post": "stale"}), only=("rest-crud",), waits=waits)
    assert outcome(report) == {"rest-crud": "pass"}
    assert waits == [1.0, 2.0]
    assert "(waited 3s for PostgREST's schema cache to list the fixture table)" in report.results[0].detail


def test_double_realtime_tenant_not_yet_there_is_waited_for(start: Start) -> None:
    waits: list[float] = []
    report = run_verify(start(faults={"realtime-join": "late-tenant"}), only=("realtime-broadcast",), waits=waits)
    assert outcome(report) == {"realtime-broadcast": "pass"}
    assert "waited 3s for realtime's tenant" in report.results[0].detail


def test_double_a_stale_cache_that_never_heals_times_out(start: Start) -> None:
    double = start(faults={"rest-post": "stale"})
    double.state.counts["rest-post"] = -10**6  # never past the two stale answers
    report = run_verify(double, only=("rest-crud",), timeout=0.5)
    assert "timed out after 0.5s" in only_failure(report, "rest-crud")
    assert double.state.rows == {}


def test_double_storage_policies_are_made_once_and_the_user_reads_their_own_object(start: Start) -> None:
    double = start()
    first = run_verify(double, only=("storage-objects",)).results[0]
    assert first.status == "pass" and "a user uploaded and downloaded their object" in first.detail
    assert f"(made storage policies {', '.join(VERIFY_POLICIES)})" in first.detail
    assert double.state.policies == set(VERIFY_POLICIES)
    again = run_verify(double, only=("storage-objects",)).results[0]
    assert again.status == "pass" and "made storage policies" not in again.detail
    assert double.state.counts["rest-rpc"] == 2
    assert (double.state.buckets, double.state.owners, double.state.users) == ({}, {}, {})


@pytest.mark.parametrize("fault", ["noop", "lost"])
def test_double_a_failed_storage_check_leaves_nothing_behind(start: Start, fault: str) -> None:
    double = start(faults={"rest-rpc": fault} if fault == "noop" else {"storage-owner": fault})
    assert only_failure(run_verify(double, only=("storage-objects",)), "storage-objects")
    assert (double.state.buckets, double.state.owners, double.state.users) == ({}, {}, {})


def test_double_storage_policy_function_not_yet_listed_is_waited_for(start: Start) -> None:
    waits: list[float] = []
    report = run_verify(start(faults={"rest-rpc": "stale"}), only=("storage-objects",), waits=waits)
    assert outcome(report) == {"storage-objects": "pass"} and waits == [1.0, 2.0]
    assert ("waited 3s for PostgREST's schema cache to list storage.supa_engine_verify_policies"
            in report.results[0].detail)


def test_double_storage_policy_function_never_listed_times_out_and_says_what_it_waited_for(start: Start) -> None:
    double = start(faults={"rest-rpc": "stale"})
    double.state.counts["rest-rpc"] = -10**6  # never past the two stale answers (0010 not applied)
    detail = only_failure(run_verify(double, only=("storage-objects",), timeout=0.5), "storage-objects")
    assert detail.startswith("timed out after 0.5s waiting for PostgREST's schema cache to list "
                             "storage.supa_engine_verify_policies")
    assert (double.state.buckets, double.state.users) == ({}, {})


def test_double_storage_without_auth_checks_the_service_key_only(start: Start, tmp_path: Path) -> None:
    no_auth = tmp_path / "no-auth.yaml"
    no_auth.write_text(f"extends: {DEV}\nproject:\n  environment: dev\n"
                       "supabase:\n  components:\n    auth:\n      enabled: false\n")
    double = start()
    report = run_verify(double, resolved=resolve(load_config(no_auth).config), only=("storage-objects",))
    assert outcome(report) == {"storage-objects": "pass"}
    assert "no user token checked: auth not enabled" in report.results[0].detail
    assert double.state.counts.get("rest-rpc", 0) == 0 and double.state.policies == set()


def test_double_only_and_skip_select_checks(start: Start) -> None:
    double = start()
    assert [r.name for r in run_verify(double, only=("rest-root", "auth-health")).results] == [
        "auth-health", "rest-root"]
    skipped = run_verify(double, skip=("realtime-broadcast", "storage-objects")).results
    assert len(skipped) == len(CHECK_NAMES) - 2
    with pytest.raises(EngineError, match="unknown check"):
        run_verify(double, only=("rest-rot",))


def test_double_disabled_components_and_open_studio_are_skipped(start: Start, tmp_path: Path) -> None:
    base = resolve(load_config(ROOT / "supabase.yaml").config)  # functions off, Studio private
    copy_keys(base)
    report = run_verify(start(), resolved=base, only=("functions", "studio-closed"))
    assert outcome(report) == {"functions": "skip", "studio-closed": "pass"}
    assert report.summary() == "1 passed, 0 failed, 1 skipped" and report.ok
    open_studio = tmp_path / "studio.yaml"
    open_studio.write_text(f"extends: {DEV}\nproject:\n  environment: dev\n"
                           "security:\n  studio:\n    allowed_cidrs: [203.0.113.0/24]\n")
    report = run_verify(start(faults={"studio": "open"}), resolved=resolve(load_config(open_studio).config),
                        only=("studio-closed",))
    assert outcome(report) == {"studio-closed": "skip"} and "203.0.113.0/24" in report.results[0].detail


# --- the command line ------------------------------------------------------------------------------


def cli(double: SupabaseDouble, *args: str) -> int:
    return main(["verify", str(DEV), "--url", double.url, "--http-url", double.http_url,
                 "--ca-bundle", str(double.pki.ca_file), "--skip", "database-private", *args])


def test_double_cli_text_and_exit_codes(start: Start, keys: tuple[str, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(start()) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == len(CHECK_NAMES) and lines[-1] == f"{len(CHECK_NAMES) - 1} passed, 0 failed"
    assert lines[0].startswith("PASS  auth-health")
    assert cli(start(faults={"pg": "open"}), "--only", "pg-closed") == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "0 passed, 1 failed" and "FAIL  pg-closed" in out
    assert all(key not in out + err for key in keys)


def test_double_cli_json(start: Start, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(start(faults={"auth-health": "500"}), "--format", "json", "--only", "auth-health",
               "--only", "rest-root") == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["passed"], report["failed"], report["ok"]) == (1, 1, False)
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("auth-health", "fail"), ("rest-root", "pass")]


def test_double_cli_bad_input_is_a_clear_error(start: Start, capsys: pytest.CaptureFixture[str]) -> None:
    double = start()
    assert cli(double, "--only", "nope") == 1
    assert "unknown check(s): nope" in capsys.readouterr().err
    assert cli(double, "--timeout", "0") == 1
    assert "--timeout must be positive" in capsys.readouterr().err
    assert main(["verify", str(DEV), "--url", "http://insecure.example"]) == 1
    assert "must be https" in capsys.readouterr().err


def test_verify_without_the_keys_in_secrets_manager_says_how_to_fix(aws: AwsEnv,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(DEV), "--url", "https://localhost:9"]) == 1
    err = capsys.readouterr().err
    assert "secret acme-dev/anon-key is missing" in err and "Traceback" not in err
