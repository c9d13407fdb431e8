"""realtime's own database work as supabase_realtime_admin (the role the chart gives it).

Our SQL performs the same kinds of operations as the realtime files named in each docstring
(v2.51.11), on a bootstrapped database shaped like RDS, on PostgreSQL 15 and 16.
"""

from __future__ import annotations

import psycopg
import pytest

from engine.deploy.database import bootstrap
from tests.deploy.conftest import FreshDatabase, emulate_rds_event_triggers, emulate_rds_replication
from tests.deploy.database_support import USER_ID, as_request, login, run, single

pytestmark = pytest.mark.slow


def test_realtime_tenant_migrations_as_realtime_admin(database: FreshDatabase) -> None:
    """lib/realtime/tenants/repo/migrations at v2.51.11 run by Ecto as supabase_realtime_admin with
    prefix realtime: bookkeeping table, types, tables, grants to postgres and the API roles
    (20231204144023), partitioned realtime.messages with RLS (20241030150047). The two it cannot
    run (20230328144023, 20240401105812) are recorded by the bootstrap; their failure is shown."""
    run(database)
    with login(database, "supabase_realtime_admin") as conn:
        conn.execute("SET search_path = _realtime")  # DB_AFTER_CONNECT_QUERY
        conn.execute(
            'CREATE TABLE IF NOT EXISTS "realtime"."schema_migrations" '
            '("version" bigint, "inserted_at" timestamp(0), PRIMARY KEY ("version"))'
        )
        done = {r[0] for r in conn.execute("SELECT version FROM realtime.schema_migrations")}
        assert {20230328144023, 20240401105812} <= done
        conn.execute("CREATE TYPE realtime.action AS ENUM ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'ERROR')")
        conn.execute("CREATE TABLE realtime.subscription (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                     "subscription_id uuid NOT NULL, entity regclass NOT NULL, claims jsonb NOT NULL)")
        conn.execute(
            "CREATE TABLE realtime.messages (topic text NOT NULL, extension text NOT NULL, payload jsonb, "
            "inserted_at timestamp NOT NULL DEFAULT now(), id uuid DEFAULT gen_random_uuid(), "
            "PRIMARY KEY (id, inserted_at)) PARTITION BY RANGE (inserted_at)"
        )
        conn.execute("CREATE TABLE realtime.messages_today PARTITION OF realtime.messages "
                     "FOR VALUES FROM (current_date) TO (current_date + 1)")
        conn.execute("ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY")
        conn.execute("GRANT USAGE ON SCHEMA realtime TO postgres, anon, authenticated, service_role")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA realtime TO postgres, anon, authenticated, service_role")
        conn.execute("GRANT SELECT, INSERT, UPDATE ON realtime.messages TO postgres, anon, authenticated, service_role")
        conn.execute("ALTER TABLE realtime.messages OWNER TO supabase_realtime_admin")
        # What the two recorded migrations would do, and why they cannot run as this role on RDS:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="log_min_messages"):
            conn.execute("CREATE FUNCTION realtime.quiet() RETURNS int LANGUAGE sql "
                         "SET log_min_messages TO 'fatal' AS $$ SELECT 1 $$")
        assert single(conn, "SELECT pg_has_role('postgres', 'supabase_realtime_admin', 'MEMBER')")
    # The tenant (control plane) tables live in _realtime.
    with login(database, "supabase_realtime_admin") as conn:
        conn.execute("SET search_path = _realtime")
        conn.execute("CREATE TABLE tenants (id uuid PRIMARY KEY, external_id text UNIQUE)")
        assert single(conn, "SELECT to_regclass('_realtime.tenants') IS NOT NULL")


def test_realtime_replication_and_rls_checks(database: FreshDatabase) -> None:
    """lib/realtime/tenants/replication_connection.ex and lib/extensions/postgres_cdc_rls at v2.51.11:
    a publication for realtime.messages, a temporary logical slot (pgoutput), the subscriber's role
    set inside the transaction. Replication itself needs rds_replication (emulated, see conftest)."""
    run(database)
    emulate_rds_replication(database.server)
    with login(database, "supabase_realtime_admin") as conn:
        conn.execute("CREATE TABLE realtime.messages (id bigint PRIMARY KEY, topic text)")
        conn.execute("ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY")
        conn.execute("GRANT SELECT ON realtime.messages TO authenticated")
        conn.execute("CREATE PUBLICATION supabase_realtime_messages_publication FOR TABLE realtime.messages")
        with conn.transaction():
            conn.execute("SELECT pg_create_logical_replication_slot('realtime_test_slot', 'pgoutput', true)")
        with conn.transaction(force_rollback=True):
            as_request(conn, "authenticated", USER_ID)
            assert single(conn, "SELECT count(*) FROM realtime.messages") == 0
        conn.execute("DROP PUBLICATION supabase_realtime_messages_publication")
    # Tables the project publishes are added by the publication's owner (Studio's supabase_admin).
    with login(database, "supabase_admin") as conn:
        conn.execute("ALTER PUBLICATION supabase_realtime ADD TABLE realtime.messages")


@pytest.mark.parametrize("triggers", [True, False], ids=["event-trigger", "rerun"])
def test_realtime_list_changes_is_made_once_its_parts_exist(database: FreshDatabase, triggers: bool) -> None:
    """realtime's postgres_changes (lib/extensions/postgres_cdc_rls at v2.51.11) calls
    realtime.list_changes, which 20230328144023 would create. Its parts come from earlier tenant
    migrations (wal_rls, apply_rls: 20211116214523; quote_wal2json: 20220603231003); ours are
    minimal stand-ins with the same signatures. Reading a wal2json slot needs RDS (not here)."""
    report = run(database)
    assert any("list_changes" in w for w in report.warnings)
    if triggers:
        emulate_rds_event_triggers(database)
    with login(database, "supabase_realtime_admin") as conn:
        conn.execute("CREATE TYPE realtime.wal_rls AS (wal jsonb, is_rls_enabled boolean, "
                     "subscription_ids uuid[], errors text[])")
        conn.execute("CREATE FUNCTION realtime.apply_rls(wal jsonb, max_record_bytes int DEFAULT 1048576) "
                     "RETURNS SETOF realtime.wal_rls LANGUAGE sql AS $$ SELECT wal, false, '{}'::uuid[], "
                     "'{}'::text[] $$")
        conn.execute("CREATE FUNCTION realtime.quote_wal2json(entity regclass) RETURNS text LANGUAGE sql "
                     "AS $$ SELECT entity::text $$")
    if not triggers:
        with login(database, "supabase_realtime_admin") as conn:
            assert single(conn, "SELECT to_regprocedure('realtime.list_changes(name,name,integer,integer)')") is None
        report = run(database, passwords={})
        assert not any("list_changes" in w for w in report.warnings)
    emulate_rds_replication(database.server)
    with login(database, "supabase_realtime_admin") as conn:
        owner = single(conn, "SELECT proowner::regrole::text FROM pg_proc "
                             "WHERE oid = 'realtime.list_changes(name,name,integer,integer)'::regprocedure")
        assert owner == "supabase_realtime_admin"
        rows = conn.execute("SELECT * FROM realtime.list_changes('no_such_publication', 'no_slot', 10, 1024)")
        assert rows.fetchall() == []
        with pytest.raises(psycopg.errors.UndefinedObject, match="no_slot"):
            conn.execute("SELECT * FROM realtime.list_changes('supabase_realtime', 'no_slot', 10, 1024)")


def test_realtime_tenant_is_switched_to_tls(database: FreshDatabase) -> None:
    """priv/repo/seeds.exs at v2.51.11 stores the self-host tenant's postgres_cdc_rls settings with
    ssl_enforced false; lib/realtime/database.ex connects with TLS when it is true (or absent).
    A bootstrap run after the seed turns it on, and leaves other extension types alone."""
    run(database)
    with login(database, "supabase_realtime_admin") as conn:  # realtime's control-plane migrations
        conn.execute("CREATE TABLE _realtime.extensions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
                     "type text, settings jsonb, tenant_external_id text)")
        conn.execute("""INSERT INTO _realtime.extensions (type, settings, tenant_external_id) VALUES
            ('postgres_cdc_rls', '{"db_host": "enc:xyz", "ssl_enforced": false, "region": "us-east-1"}', 'realtime'),
            ('other', '{"ssl_enforced": false}', 'realtime')""")
    run(database, passwords={})
    with login(database, "supabase_realtime_admin") as conn:
        rows = dict(conn.execute("SELECT type, settings FROM _realtime.extensions").fetchall())
    assert rows["postgres_cdc_rls"] == {"db_host": "enc:xyz", "ssl_enforced": True, "region": "us-east-1"}
    assert rows["other"] == {"ssl_enforced": False}


def test_a_superuser_bootstrap_lets_realtime_run_every_migration(database: FreshDatabase) -> None:
    """Where SET on log_min_messages can be granted (a superuser bootstrap), 20230328144023 is not
    skipped: realtime creates list_changes itself."""
    report = bootstrap(database.server.superuser_dsn(database.name), database.passwords)
    assert report.service_role_rls == "attribute"
    with login(database, "supabase_realtime_admin") as conn:
        versions = {r[0] for r in conn.execute("SELECT version FROM realtime.schema_migrations")}
        assert versions == {20240401105812}
        conn.execute("CREATE FUNCTION realtime.quiet() RETURNS int LANGUAGE sql "
                     "SET log_min_messages TO 'fatal' AS $$ SELECT 1 $$")
