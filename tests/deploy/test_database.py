"""The database bootstrap against real PostgreSQL 15 and 16 shaped like RDS, run as its master user."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from engine.deploy.database import (
    LOGIN_ROLES,
    MIGRATIONS_TABLE,
    BootstrapReport,
    DatabaseError,
    bootstrap,
)
from engine.deploy.migrations import Migration, MigrationError, load_migrations, split_statements
from engine.errors import EngineError
from tests.deploy.conftest import MASTER_PASSWORD, MASTER_USER, FreshDatabase
from tests.deploy.database_support import can, login, run, single
from tests.postgres import SUPERUSER, PostgresServer

pytestmark = pytest.mark.slow

# The roles 0001_roles.sql creates that only ever act through SET ROLE.
NOLOGIN_ROLES = ("anon", "authenticated", "service_role", "dashboard_user")
SUPABASE_ROLES = LOGIN_ROLES + NOLOGIN_ROLES
PACKAGED = tuple(m.name for m in load_migrations())

# --- helpers -------------------------------------------------------------------------------------

SNAPSHOT_QUERIES = {
    "roles": r"""
        SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
               rolreplication, rolbypassrls, rolconnlimit
        FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1""",
    "role_settings": """
        SELECT r.rolname, coalesce(d.datname, '*'), s.setconfig
        FROM pg_db_role_setting s
        LEFT JOIN pg_roles r ON r.oid = s.setrole
        LEFT JOIN pg_database d ON d.oid = s.setdatabase ORDER BY 1, 2""",
    "memberships": """
        SELECT r.rolname, m.rolname, g.rolname, am.admin_option
        FROM pg_auth_members am
        JOIN pg_roles r ON r.oid = am.roleid
        JOIN pg_roles m ON m.oid = am.member
        JOIN pg_roles g ON g.oid = am.grantor ORDER BY 1, 2, 3""",
    "database_acl": "SELECT datacl::text FROM pg_database WHERE datname = current_database()",
    "schemas": r"""
        SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace
        WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1""",
    "relations": r"""
        SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2""",
    "functions": r"""
        SELECT n.nspname, p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.proacl::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2""",
    "default_acls": """
        SELECT pg_get_userbyid(defaclrole), coalesce(defaclnamespace::regnamespace::text, '*'),
               defaclobjtype, defaclacl::text
        FROM pg_default_acl ORDER BY 1, 2, 3""",
    "publications": """
        SELECT p.pubname, pg_get_userbyid(p.pubowner), p.puballtables, p.pubinsert, p.pubupdate,
               p.pubdelete, p.pubtruncate,
               ARRAY(SELECT r.prrelid::regclass::text FROM pg_publication_rel r
                     WHERE r.prpubid = p.oid ORDER BY 1)
        FROM pg_publication p ORDER BY 1""",
    "extensions": """
        SELECT extname, extnamespace::regnamespace::text, extversion, pg_get_userbyid(extowner)
        FROM pg_extension ORDER BY 1""",
}


def snapshot(db: FreshDatabase) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the bootstrap may touch, as seen by the superuser."""
    with db.server.connect(db.name) as conn:
        snap = {key: conn.execute(query).fetchall() for key, query in SNAPSHOT_QUERIES.items()}
        if conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone() == (None,):
            snap["migrations"] = []
        else:
            snap["migrations"] = conn.execute(f"SELECT * FROM {MIGRATIONS_TABLE} ORDER BY 1").fetchall()
    return snap


def extra_migration(tmp_path: Path, name: str, text: str) -> tuple[Migration, ...]:
    (tmp_path / name).write_text(text)
    return (*load_migrations(), *load_migrations(tmp_path))


# --- migrations: idempotency, new files, checksums, failures --------------------------------------


def test_first_run_applies_everything_second_run_changes_nothing(database: FreshDatabase) -> None:
    first = run(database)
    assert first.applied == PACKAGED
    assert first.skipped == ()
    assert first.passwords_set == LOGIN_ROLES
    before = snapshot(database)
    assert [row[1] for row in before["migrations"]] == list(PACKAGED)

    second = run(database)
    assert second.applied == ()
    assert second.skipped == PACKAGED
    assert snapshot(database) == before


def test_second_run_without_passwords_keeps_them(database: FreshDatabase) -> None:
    run(database)
    report = run(database, passwords={})
    assert report.passwords_set == ()
    with login(database, "supabase_auth_admin") as conn:  # the first password still works
        assert single(conn, "SELECT current_user") == "supabase_auth_admin"


def test_password_is_updated_when_supplied(database: FreshDatabase) -> None:
    run(database)
    report = run(database, passwords={"authenticator": "a brand 'new' password"})
    assert report.passwords_set == ("authenticator",)
    with psycopg.connect(database.dsn_as("authenticator", "a brand 'new' password")) as conn:
        assert single(conn, "SELECT current_user") == "authenticator"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(database.dsn_as("authenticator"))


def test_a_new_migration_runs_once(database: FreshDatabase, tmp_path: Path) -> None:
    run(database)
    migrations = extra_migration(tmp_path, "0100_canary.sql", "CREATE TABLE public.canary (id int);\n")
    report = run(database, migrations=migrations)
    assert report.applied == ("0100_canary.sql",)
    assert report.skipped == PACKAGED
    assert run(database, migrations=migrations).applied == ()
    with database.server.connect(database.name) as conn:
        assert single(conn, "SELECT to_regclass('public.canary')::text") == "canary"
        assert single(conn, f"SELECT count(*) FROM {MIGRATIONS_TABLE} WHERE version = 100") == 1


def test_an_edited_migration_is_refused(database: FreshDatabase) -> None:
    run(database)
    original = load_migrations()
    edited = Migration.from_text(original[1].name, original[1].sql + "\n-- a harmless edit\n")
    before = snapshot(database)
    with pytest.raises(MigrationError) as info:
        run(database, migrations=(original[0], edited, *original[2:]))
    assert original[1].name in info.value.message
    assert info.value.hint is not None and "new migration" in info.value.hint
    assert snapshot(database) == before


def test_an_applied_migration_unknown_to_the_engine_is_refused(database: FreshDatabase, tmp_path: Path) -> None:
    run(database, migrations=extra_migration(tmp_path, "0100_future.sql", "SELECT 1;"))
    with pytest.raises(MigrationError, match=r"0100_future\.sql"):
        run(database)


def test_a_failed_migration_changes_nothing_and_names_file_and_statement(
    database: FreshDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run(database)
    before = snapshot(database)
    broken = (
        "-- creates things, then fails: all of it must roll back\n"
        "CREATE ROLE half_made NOLOGIN;\n"
        "CREATE TABLE public.half_made (id int);\n"
        "GRANT SELECT ON public.half_made TO anon;\n"
        "\n"
        "SELECT no_such_column\n"
        "  FROM public.half_made;\n"
    )
    migrations = extra_migration(tmp_path, "0100_broken.sql", broken)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MigrationError) as info:
        run(database, migrations=migrations)
    message = info.value.render()
    assert "0100_broken.sql" in message
    assert "line 6" in message
    assert "SELECT no_such_column" in message
    assert 'column "no_such_column" does not exist' in message
    assert snapshot(database) == before
    for password in database.passwords.values():
        assert password not in message
        assert password not in caplog.text


def test_a_failed_first_migration_leaves_an_empty_database_empty(database: FreshDatabase, tmp_path: Path) -> None:
    before = snapshot(database)
    (tmp_path / "0001_broken.sql").write_text("CREATE ROLE anon NOLOGIN;\nCREATE SCHEMA auth AUTHORIZATION nobody;\n")
    with pytest.raises(MigrationError, match=r"0001_broken\.sql failed at line 2: CREATE SCHEMA auth"):
        run(database, migrations=load_migrations(tmp_path))
    after = snapshot(database)
    # The migrations table itself is bookkeeping created before the first migration.
    assert after["migrations"] == []
    after["schemas"] = [s for s in after["schemas"] if s[0] != "supa_engine"]
    after["relations"] = [r for r in after["relations"] if r[0] != "supa_engine"]
    assert after == before


def test_concurrent_runs_apply_each_migration_once(database: FreshDatabase) -> None:
    reports: list[BootstrapReport] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            reports.append(run(database))
        except Exception as exc:  # reported by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(len(r.applied) for r in reports) == [0, 0, len(PACKAGED)]
    assert [row[1] for row in snapshot(database)["migrations"]] == list(PACKAGED)


# --- roles, schemas and grants ---------------------------------------------------------------------


def test_role_attributes(database: FreshDatabase) -> None:
    report = run(database)
    with database.server.connect(database.name) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
            "rolbypassrls, rolinherit FROM pg_roles WHERE rolname = ANY(%s)",
            (list(SUPABASE_ROLES),),
        ).fetchall()
        creators = conn.execute("SELECT rolname FROM pg_roles WHERE rolcreaterole ORDER BY 1").fetchall()
        supers = conn.execute("SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1").fetchall()
    roles = {r[0]: r[1:] for r in rows}
    assert set(roles) == set(SUPABASE_ROLES)
    for name, (
        is_super,
        createrole,
        createdb,
        can_login,
        replication,
        _bypass,
        inherit,
    ) in roles.items():
        assert (is_super, createrole, createdb, replication) == (False,) * 4, name
        # supabase_admin (postgres-meta, Studio) acts with the privileges of the roles it belongs to.
        assert inherit == (name == "supabase_admin"), name
        assert can_login == (name in LOGIN_ROLES), name
    # Only the cluster superuser and the bootstrap user may create roles.
    assert sorted(creators) == sorted([(SUPERUSER,), (MASTER_USER,)])
    assert supers == [(SUPERUSER,)]
    # A non-superuser may not grant BYPASSRLS: reported, not fatal.
    assert roles["service_role"][5] is False
    assert any("BYPASSRLS" in w for w in report.warnings)


def test_role_settings(database: FreshDatabase) -> None:
    run(database)
    with database.server.connect(database.name) as conn:
        rows = conn.execute(
            "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
        ).fetchall()
    settings = {name: set(config) for name, config in rows}
    assert "search_path=auth" in settings["supabase_auth_admin"]
    assert "search_path=storage" in settings["supabase_storage_admin"]
    assert "statement_timeout=3s" in settings["anon"]
    assert "statement_timeout=8s" in settings["authenticated"]
    with login(database, "supabase_auth_admin") as conn:
        assert single(conn, "SHOW search_path") == "auth"


def test_every_login_role_can_log_in_with_its_password(database: FreshDatabase) -> None:
    run(database)
    for role in LOGIN_ROLES:
        with login(database, role) as conn:
            assert single(conn, "SELECT current_user") == role
    for role in NOLOGIN_ROLES:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(database.dsn_as(role, "whatever"))


def test_authenticator_switches_only_to_the_api_roles(database: FreshDatabase) -> None:
    run(database)
    with login(database, "authenticator") as conn:
        for role in ("anon", "authenticated", "service_role"):
            assert can(conn, f"SET LOCAL ROLE {role}"), role
        for role in (*LOGIN_ROLES[1:], "dashboard_user", MASTER_USER, SUPERUSER):
            assert not can(conn, f"SET LOCAL ROLE {role}"), role
        # NOINHERIT: without SET ROLE it holds none of the API roles' privileges.
        assert single(conn, "SELECT has_schema_privilege('public', 'USAGE')") is True  # PUBLIC's
        assert single(conn, "SELECT has_schema_privilege('storage', 'USAGE')") is False


def test_auth_schema_belongs_to_auth_admin_and_api_roles_cannot_read_it(
    database: FreshDatabase,
) -> None:
    run(database)
    with login(database, "supabase_auth_admin") as conn:
        assert single(conn, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'auth'") == (
            "supabase_auth_admin"
        )
        # gotrue's own migrations start with this; it needs CREATE on the database.
        conn.execute("CREATE SCHEMA IF NOT EXISTS auth")
        conn.execute(
            "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(), "
            "email text, encrypted_password text)"
        )
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com')")
        assert single(conn, "SELECT count(*) FROM auth.users") == 1
        assert not can(conn, "CREATE TABLE storage.sneaky (id int)")
        assert not can(conn, "CREATE TABLE realtime.sneaky (id int)")
        assert single(conn, "SELECT has_schema_privilege('storage', 'USAGE')") is False
    with login(database, "authenticator") as conn:
        for role in ("anon", "authenticated"):
            assert not can(conn, f"SET LOCAL ROLE {role}; SELECT * FROM auth.users"), role
            assert not can(conn, f"SET LOCAL ROLE {role}; CREATE TABLE auth.x (id int)"), role
            assert not can(conn, f"SET LOCAL ROLE {role}; CREATE TABLE public.x (id int)"), role
            # ...but may call functions the auth schema exposes (auth.uid() in RLS policies).
            assert can(conn, f"SET LOCAL ROLE {role}; SELECT extensions.gen_random_uuid()"), role


def test_storage_schema_belongs_to_storage_admin(database: FreshDatabase) -> None:
    run(database)
    with login(database, "supabase_storage_admin") as conn:
        assert single(conn, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'storage'") == (
            "supabase_storage_admin"
        )
        conn.execute("CREATE SCHEMA IF NOT EXISTS storage")
        conn.execute("CREATE TABLE storage.buckets (id text PRIMARY KEY)")
        assert not can(conn, "CREATE TABLE auth.sneaky (id int)")
        # storage-api evaluates RLS as the caller's role.
        assert can(conn, "SET LOCAL ROLE authenticated")
        assert not can(conn, "SET LOCAL ROLE supabase_auth_admin")
    with login(database, "supabase_auth_admin") as conn:
        assert not can(conn, "SELECT * FROM storage.buckets")
    with login(database, "authenticator") as conn:
        # Default privileges grant storage's tables to the API roles; RLS decides the rows.
        assert can(conn, "SET LOCAL ROLE anon; SELECT * FROM storage.buckets")


def test_realtime_schemas_and_publication(database: FreshDatabase) -> None:
    run(database)
    with database.server.connect(database.name) as conn:
        owners = dict(
            conn.execute(
                "SELECT nspname, nspowner::regrole::text FROM pg_namespace WHERE nspname = ANY(%s)",
                (["auth", "storage", "realtime", "_realtime", "extensions", "graphql_public"],),
            ).fetchall()
        )
        publication = conn.execute(
            "SELECT pubowner::regrole::text, puballtables, "
            "(SELECT count(*) FROM pg_publication_rel r WHERE r.prpubid = p.oid) "
            "FROM pg_publication p WHERE pubname = 'supabase_realtime'"
        ).fetchone()
    assert owners == {
        "auth": "supabase_auth_admin",
        "storage": "supabase_storage_admin",
        "realtime": "supabase_realtime_admin",
        "_realtime": "supabase_realtime_admin",
        "extensions": "supabase_admin",
        "graphql_public": "supabase_admin",
    }
    assert publication == ("supabase_admin", False, 0)
    with login(database, "supabase_realtime_admin") as conn:
        conn.execute("CREATE TABLE _realtime.tenants (id int)")
        assert not can(conn, "CREATE TABLE auth.sneaky (id int)")
        assert not can(conn, "SELECT * FROM auth.users")


def test_supabase_admin_tables_in_public_are_served_to_the_api_roles(
    database: FreshDatabase,
) -> None:
    run(database)
    with login(database, "supabase_admin") as conn:
        conn.execute("CREATE TABLE public.todos (id int)")
        conn.execute("ALTER PUBLICATION supabase_realtime ADD TABLE public.todos")
        assert not can(conn, "CREATE ROLE sneaky")
    with login(database, "authenticator") as conn:
        assert can(conn, "SET LOCAL ROLE anon; SELECT * FROM public.todos")
        assert can(conn, "SET LOCAL ROLE authenticated; INSERT INTO public.todos VALUES (1)")
        assert not can(conn, "SET LOCAL ROLE anon; TRUNCATE public.todos")
        assert can(conn, "SET LOCAL ROLE service_role; TRUNCATE public.todos")
        assert not can(conn, "SET LOCAL ROLE anon; SELECT * FROM supa_engine.schema_migrations")


def test_extensions_installed_where_available(database: FreshDatabase) -> None:
    report = run(database)
    with database.server.connect(database.name) as conn:
        extensions = dict(conn.execute("SELECT extname, extnamespace::regnamespace::text FROM pg_extension"))
    assert extensions["pgcrypto"] == "extensions"
    assert extensions["uuid-ossp"] == "extensions"
    assert "pg_stat_statements" not in extensions  # needs superuser on vanilla PostgreSQL
    assert any("pg_stat_statements" in w for w in report.warnings)


def test_a_superuser_bootstrap_also_grants_bypassrls_and_pg_stat_statements(
    database: FreshDatabase,
) -> None:
    report = bootstrap(database.server.superuser_dsn(database.name), database.passwords)
    assert report.applied == PACKAGED
    assert not any("BYPASSRLS" in w or "pg_stat_statements" in w for w in report.warnings)
    with database.server.connect(database.name) as conn:
        assert single(conn, "SELECT rolbypassrls FROM pg_roles WHERE rolname = 'service_role'") is True
        assert single(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == 1


def test_rds_replication_is_granted_to_realtime(database: FreshDatabase) -> None:
    run(database)
    with database.server.connect(database.name) as conn:
        assert single(conn, "SELECT pg_has_role('supabase_realtime_admin', 'rds_replication', 'MEMBER')")
        assert not single(conn, "SELECT pg_has_role('authenticator', 'rds_replication', 'MEMBER')")


def test_existing_roles_are_brought_into_line(database: FreshDatabase) -> None:
    # Made by hand by the master user before the first bootstrap (on 16, the master can only
    # alter roles it administers, which are the ones it created).
    with psycopg.connect(database.master_dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE anon LOGIN CREATEDB PASSWORD 'hand made'")
    run(database)
    with database.server.connect(database.name) as conn:
        row = conn.execute("SELECT rolcanlogin, rolcreatedb FROM pg_roles WHERE rolname = 'anon'").fetchone()
    assert row == (False, False)


# --- user errors -----------------------------------------------------------------------------------


def test_missing_password_for_a_new_login_role(database: FreshDatabase) -> None:
    before = snapshot(database)
    passwords = dict(database.passwords)
    del passwords["supabase_storage_admin"]
    with pytest.raises(EngineError, match="supabase_storage_admin"):
        run(database, passwords=passwords)
    after = snapshot(database)
    assert after["roles"] == before["roles"]
    assert after["migrations"] == []


def test_password_for_unknown_role_is_refused(database: FreshDatabase) -> None:
    with pytest.raises(EngineError, match="anon"):
        run(database, passwords={**database.passwords, "anon": "x"})
    with pytest.raises(EngineError, match="empty"):
        run(database, passwords={**database.passwords, "authenticator": ""})


def test_wrong_bootstrap_password(database: FreshDatabase, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-and-s3cret"
    with pytest.raises(DatabaseError) as info:
        bootstrap(database.server.dsn(database.name, MASTER_USER, wrong), database.passwords)
    text = info.value.render()
    assert "password authentication failed" in text
    assert "Hint:" in text
    for secret in (wrong, MASTER_PASSWORD, *database.passwords.values()):
        assert secret not in text
        assert secret not in caplog.text


def test_unreachable_server(database: FreshDatabase) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dsn = f"host=127.0.0.1 port={port} dbname=x user=rds_master password=s3cret-dsn-pw"
    with pytest.raises(DatabaseError) as info:
        bootstrap(dsn, database.passwords, connect_timeout=2)
    text = info.value.render()
    assert "cannot connect" in text and f":{port}/x" in text
    assert "s3cret-dsn-pw" not in text
    with pytest.raises(DatabaseError, match="not a valid PostgreSQL connection string") as info:
        bootstrap("host=x password=s3cret-dsn-pw =broken", database.passwords)
    assert "s3cret-dsn-pw" not in info.value.render()


def test_bootstrap_user_without_createrole(database: FreshDatabase) -> None:
    with database.server.connect() as conn:
        conn.execute("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'")
        conn.execute(sql.SQL("GRANT ALL ON DATABASE {} TO plain").format(sql.Identifier(database.name)))
    with pytest.raises(DatabaseError, match="lacks CREATEROLE") as info:
        bootstrap(database.server.dsn(database.name, "plain", "plain-pw"), database.passwords)
    assert info.value.hint is not None and "master user" in info.value.hint


def test_bootstrap_user_not_owning_the_database(database: FreshDatabase) -> None:
    with database.server.connect() as conn:
        conn.execute("CREATE ROLE other_admin LOGIN CREATEROLE CREATEDB PASSWORD 'other-pw'")
    with pytest.raises(DatabaseError, match="not the database owner"):
        bootstrap(database.server.dsn(database.name, "other_admin", "other-pw"), database.passwords)


# --- migration files -------------------------------------------------------------------------------


def test_packaged_migrations_are_numbered_and_parse() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.statements() for m in migrations)
    assert all(len(m.checksum) == 64 for m in migrations)


def test_bad_file_names_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "1_roles.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"1_roles\.sql"):
        load_migrations(tmp_path)
    (tmp_path / "1_roles.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;")
    with pytest.raises(MigrationError, match="share version 0001"):
        load_migrations(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1; SELECT 2", [("SELECT 1", 1), ("SELECT 2", 1)]),
        (
            "-- c; still comment\nSELECT ';'; /* ; /* nested; */ */ SELECT 2;",
            [("SELECT ';'", 2), ("SELECT 2", 2)],
        ),
        (
            "DO $$ BEGIN PERFORM 1; END $$;\n\nSELECT $x$;$x$;",
            [("DO $$ BEGIN PERFORM 1; END $$", 1), ("SELECT $x$;$x$", 3)],
        ),
        ("SELECT 'it''s;', E'\\';', \"a;b\";;", [("SELECT 'it''s;', E'\\';', \"a;b\"", 1)]),
        ("SELECT a$b; SELECT $1", [("SELECT a$b", 1), ("SELECT $1", 1)]),
        ("  -- only a comment\n", []),
    ],
)
def test_split_statements(text: str, expected: list[tuple[str, int]]) -> None:
    assert [(s.text, s.line) for s in split_statements(text)] == expected


@pytest.mark.parametrize("text", ["SELECT 'open;", "DO $$ BEGIN", "/* open", 'SELECT "open'])
def test_split_statements_rejects_unterminated(text: str) -> None:
    with pytest.raises(MigrationError, match="unterminated"):
        split_statements(text, "0009_x.sql")


def test_missing_postgres_binaries_fail_loudly(tmp_path: Path) -> None:
    from tests.postgres import PostgresUnavailable

    with pytest.raises(PostgresUnavailable, match=r"initdb not found.*SUPA_ENGINE_PG_BIN"):
        PostgresServer.start(bin_dir=str(tmp_path))
