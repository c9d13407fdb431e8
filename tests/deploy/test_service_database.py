"""Each service's own database work, done the way the service does it, as the role the chart gives it.

GoTrue, storage-api, PostgREST and the functions runtime here; realtime in test_realtime_database.

The SQL here is ours: it performs the same kinds of operations as the upstream migrations and
request paths named in each docstring (at the image tags the chart pins), on a bootstrapped
database shaped like RDS (tests/deploy/conftest.py), on PostgreSQL 15 and 16.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from engine.deploy.services import service_role_rls
from tests.deploy.conftest import (
    MASTER_USER,
    FreshDatabase,
    emulate_rds_bypassrls_grant,
    emulate_rds_event_triggers,
    revoke_master_bypassrls,
)
from tests.deploy.database_support import USER_ID, as_request, can, login, run, single

pytestmark = pytest.mark.slow

# --- GoTrue (supabase/auth v2.180.0) --------------------------------------------------------------


def gotrue_migrations(db: FreshDatabase) -> None:
    """Like migrations/00_init_auth_schema, 20221003041349_add_mfa_schema and 20240612123726 at v2.180.0:
    unqualified names resolved through the role's search_path, RLS on, SELECT granted to postgres."""
    with login(db, "supabase_auth_admin") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(14) PRIMARY KEY)")
        conn.execute("CREATE TYPE factor_kind AS ENUM ('totp', 'webauthn')")
        conn.execute(
            "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email varchar(255), "
            "encrypted_password varchar(255), created_at timestamptz DEFAULT now())"
        )
        conn.execute("CREATE TABLE identities (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid "
                     "REFERENCES users ON DELETE CASCADE, provider text, identity_data jsonb)")
        conn.execute("CREATE TABLE audit_log_entries (id uuid PRIMARY KEY, payload json)")
        conn.execute("CREATE TABLE sessions (id uuid PRIMARY KEY, user_id uuid REFERENCES users)")
        conn.execute("CREATE TABLE refresh_tokens (id bigserial PRIMARY KEY, token text, session_id uuid)")
        conn.execute(
            "CREATE OR REPLACE FUNCTION uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif("
            "current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid $$"
        )
        for table in ("users", "identities", "audit_log_entries", "sessions", "refresh_tokens"):
            conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            conn.execute(f"GRANT SELECT ON {table} TO postgres WITH GRANT OPTION")
        conn.execute("INSERT INTO schema_migrations VALUES ('20240612123726')")


def test_gotrue_migrations_and_signup_as_auth_admin(database: FreshDatabase) -> None:
    """GoTrue v2.180.0 runs its migrations (cmd/migrate_cmd.go) and, on sign-up, inserts users,
    identities, audit log, session and refresh token in one transaction (internal/api/signup.go),
    all with unqualified names, as supabase_auth_admin."""
    run(database)
    gotrue_migrations(database)
    with login(database, "supabase_auth_admin") as conn, conn.transaction():
        conn.execute("INSERT INTO users (id, email) VALUES (%s, 'a@example.com')", (USER_ID,))
        conn.execute("INSERT INTO identities (user_id, provider) VALUES (%s, 'email')", (USER_ID,))
        conn.execute("INSERT INTO audit_log_entries VALUES (gen_random_uuid(), '{}')")
        conn.execute("INSERT INTO sessions VALUES (gen_random_uuid(), %s)", (USER_ID,))
        conn.execute("INSERT INTO refresh_tokens (token) VALUES ('t')")
    with database.server.connect(database.name) as conn:
        for name in ("schema_migrations", "users", "identities", "factor_kind"):
            assert single(conn, "SELECT to_regtype(%s) IS NOT NULL OR to_regclass(%s) IS NOT NULL",
                          f"auth.{name}", f"auth.{name}"), name
    # The API roles reach auth.uid() for their policies, never the users table.
    with login(database, "authenticator") as conn, conn.transaction(force_rollback=True):
        as_request(conn, "authenticated", USER_ID)
        assert str(single(conn, "SELECT auth.uid()")) == USER_ID
        assert not can(conn, "SELECT * FROM auth.users")


# --- storage-api (supabase/storage v1.28.0) -------------------------------------------------------


def storage_migrations(db: FreshDatabase) -> None:
    """Like migrations/tenant/0002-storage-schema.sql, 0007, 0021 and 0026 at v1.28.0 without
    DB_INSTALL_ROLES: guarded schema creation, tables with RLS, functions, unconditional grants."""
    with login(db, "supabase_storage_admin") as conn:
        conn.execute("SET search_path = storage, public, extensions")
        if single(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'storage'") == 0:
            conn.execute("CREATE SCHEMA storage")
        conn.execute("CREATE TABLE IF NOT EXISTS migrations (id int PRIMARY KEY, name text UNIQUE)")
        conn.execute(
            "CREATE TABLE buckets (id text PRIMARY KEY, name text NOT NULL UNIQUE, owner uuid, "
            "public boolean DEFAULT false, created_at timestamptz DEFAULT now())"
        )
        conn.execute(
            "CREATE TABLE objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text "
            "REFERENCES buckets, name text, owner uuid, metadata jsonb, UNIQUE (bucket_id, name))"
        )
        conn.execute("CREATE TABLE s3_multipart_uploads (id text PRIMARY KEY, bucket_id text REFERENCES buckets)")
        conn.execute(
            "CREATE TABLE prefixes (bucket_id text REFERENCES buckets, name text, PRIMARY KEY (bucket_id, name))"
        )
        for table in ("migrations", "buckets", "objects", "s3_multipart_uploads", "prefixes"):
            conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        conn.execute(
            "CREATE FUNCTION foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE AS "
            "$$ SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$"
        )
        conn.execute(
            "CREATE FUNCTION prefixes_cleanup() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS "
            "$$ BEGIN DELETE FROM storage.prefixes WHERE bucket_id = OLD.bucket_id AND name = OLD.name; "
            "RETURN OLD; END $$"
        )
        conn.execute("REVOKE ALL ON s3_multipart_uploads FROM anon, authenticated")
        conn.execute("GRANT ALL ON s3_multipart_uploads TO service_role")
        conn.execute("GRANT SELECT ON s3_multipart_uploads TO authenticated, anon")
        conn.execute("GRANT ALL ON prefixes TO anon, authenticated, service_role")
        conn.execute("INSERT INTO migrations VALUES (26, 'prefixes')")


def studio_upload_policy(db: FreshDatabase) -> None:
    """A project's own storage policy, created through Studio (postgres-meta as supabase_admin)."""
    with login(db, "supabase_admin") as conn:
        conn.execute(
            "CREATE POLICY own_uploads ON storage.objects FOR INSERT TO authenticated "
            "WITH CHECK (owner = auth.uid() AND bucket_id = 'avatars')"
        )
        conn.execute("CREATE POLICY public_read ON storage.buckets FOR SELECT TO anon, authenticated USING (true)")


def storage_requests(db: FreshDatabase) -> None:
    """The request paths of src/storage/ and src/internal/database/connection.ts at v1.28.0: every
    request sets the JWT's role (service_role for the service key and for asSuperUser())."""
    with login(db, "supabase_storage_admin") as conn:
        with conn.transaction():  # POST /bucket with the service key
            as_request(conn, "service_role")
            conn.execute("INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true)")
        with conn.transaction():  # GET /bucket as anon and as a user
            for role in ("anon", "authenticated"):
                as_request(conn, role, USER_ID if role == "authenticated" else None)
                assert single(conn, "SELECT count(*) FROM storage.buckets") == 1, role
        with conn.transaction():  # POST /object/avatars/me.png as the user
            as_request(conn, "authenticated", USER_ID)
            conn.execute(
                "INSERT INTO storage.objects (bucket_id, name, owner, metadata) "
                "VALUES ('avatars', 'me.png', %s, '{\"size\": 3}')", (USER_ID,)
            )
        with conn.transaction():  # GET /object/public/avatars/me.png: looked up as service_role
            as_request(conn, "service_role")
            row = conn.execute(
                "SELECT o.name FROM storage.objects o JOIN storage.buckets b ON b.id = o.bucket_id "
                "WHERE b.public AND o.bucket_id = 'avatars' AND o.name = 'me.png'"
            ).fetchone()
            assert row == ("me.png",)
        with conn.transaction(force_rollback=True):  # another user may not upload into it
            as_request(conn, "authenticated", "00000000-0000-0000-0000-000000000001")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                conn.execute("INSERT INTO storage.objects (bucket_id, name, owner) VALUES ('avatars', 'x', %s)",
                             (USER_ID,))


@pytest.fixture(params=["bypassrls", "event-trigger", "rerun"])
def service_role_answer(request: pytest.FixtureRequest, database: FreshDatabase) -> Iterator[str]:
    """The two answers to "may the RDS master grant BYPASSRLS?" (and, for no, with and without the
    event trigger RDS lets the master create)."""
    answer = str(request.param)
    if answer == "bypassrls" and database.server.major >= 16:
        emulate_rds_bypassrls_grant(database.server)
    try:
        yield answer
    finally:
        if answer == "bypassrls" and database.server.major >= 16:
            revoke_master_bypassrls(database.server)


def test_storage_migrations_and_requests_as_api_roles(database: FreshDatabase, service_role_answer: str) -> None:
    """storage-api v1.28.0: migrations (migrations/tenant/*.sql) as supabase_storage_admin, then
    bucket creation, listing, upload and public read with the role switch of connection.ts."""
    report = run(database)
    if service_role_answer == "bypassrls" and database.server.major < 16:
        # 15 lets only superusers grant it: RDS's patched check is emulated by rdsadmin granting it.
        with database.server.connect(database.name) as conn:
            conn.execute("ALTER ROLE service_role BYPASSRLS")
    if service_role_answer == "event-trigger":
        emulate_rds_event_triggers(database)
    gotrue_migrations(database)
    storage_migrations(database)
    if service_role_answer == "rerun":  # no event trigger: the bootstrap run after the services
        assert service_role_rls(psycopg.connect(database.master_dsn)).mode == "restricted"
        report = run(database, passwords={})
    studio_upload_policy(database)
    storage_requests(database)
    with psycopg.connect(database.master_dsn) as conn:
        rls = service_role_rls(conn)
    expected = "attribute" if service_role_answer == "bypassrls" else "policies"
    assert (rls.mode, rls.restricted) == (expected, ())
    if service_role_answer == "rerun":
        assert report.service_role_rls == "policies"


def test_without_bypassrls_or_policies_the_service_key_cannot_create_a_bucket(database: FreshDatabase) -> None:
    """The defect the policies fix: storage's tables get RLS after the bootstrap ran."""
    run(database)
    storage_migrations(database)
    with login(database, "supabase_storage_admin") as conn, conn.transaction(force_rollback=True):
        as_request(conn, "service_role")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO storage.buckets (id, name) VALUES ('b', 'b')")


# --- PostgREST (v13.0.7) and the functions runtime ------------------------------------------------


def test_postgrest_role_switch_sees_tables_of_master_and_studio(database: FreshDatabase) -> None:
    """PostgREST v13 logs in as authenticator and switches per request (SET LOCAL ROLE + claims);
    tables made by the master user (psql) and by Studio both reach the API roles."""
    run(database)
    with psycopg.connect(database.master_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.by_master (id serial PRIMARY KEY, note text)")
    with login(database, "supabase_admin") as conn:
        conn.execute("CREATE TABLE public.by_studio (id serial PRIMARY KEY, note text)")
    with login(database, "authenticator") as conn:
        for table in ("by_master", "by_studio"):
            for role in ("anon", "authenticated", "service_role"):
                with conn.transaction(force_rollback=True):
                    as_request(conn, role)
                    conn.execute(f"INSERT INTO public.{table} (note) VALUES ('x')")
                    assert single(conn, f"SELECT count(*) FROM public.{table}") == 1


@pytest.mark.parametrize("triggers", [True, False], ids=["event-trigger", "none"])
def test_postgrest_schema_reload_notification(database: FreshDatabase, triggers: bool) -> None:
    """supabase/postgres's pgrst_ddl_watch/pgrst_drop_watch idea: DDL sends NOTIFY pgrst 'reload
    schema', which PostgREST listens for. The master may create event triggers on RDS only."""
    report = run(database)
    assert any("PostgREST reload" in w for w in report.warnings)
    if triggers:
        emulate_rds_event_triggers(database)
    with login(database, "authenticator") as listener:
        listener.execute("LISTEN pgrst")
        with login(database, "supabase_admin") as conn:
            conn.execute("CREATE TABLE public.fresh (id int)")
            conn.execute("DROP TABLE public.fresh")
        got = [n.payload for n in listener.notifies(timeout=0.5, stop_after=2)]
    assert got == (["reload schema", "reload schema"] if triggers else [])
    if triggers:
        assert not any("PostgREST reload" in w for w in run(database, passwords={}).warnings)


def test_api_roles_reach_extension_functions_through_the_extra_search_path(database: FreshDatabase) -> None:
    """PostgREST v13 puts PGRST_DB_EXTRA_SEARCH_PATH on every request's search_path: with
    `public,extensions` the API roles call functions of extensions installed in `extensions`."""
    run(database)
    with login(database, "authenticator") as conn, conn.transaction(force_rollback=True):
        as_request(conn, "anon")
        conn.execute("SELECT set_config('search_path', 'public, extensions', true)")
        assert single(conn, "SELECT length(digest('x', 'sha256'))") == 32  # pgcrypto
        assert single(conn, "SELECT uuid_generate_v4() IS NOT NULL")  # uuid-ossp


def test_functions_db_url_acts_as_service_role(database: FreshDatabase) -> None:
    """The functions runtime's SUPABASE_DB_URL: authenticator with the startup option role=service_role,
    so user code holds what the service key holds and nothing of the owners'."""
    run(database)
    with psycopg.connect(database.master_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.notes (id int)")
    dsn = database.dsn_as("authenticator") + " options='-c role=service_role'"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert single(conn, "SELECT current_user") == "service_role"
        conn.execute("INSERT INTO public.notes VALUES (1)")
        assert not can(conn, "SELECT * FROM supa_engine.schema_migrations")
        assert not can(conn, "CREATE TABLE auth.x (id int)")
        assert not can(conn, f"SET ROLE {MASTER_USER}")
