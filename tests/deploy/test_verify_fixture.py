"""The REST fixture of `supa-engine verify` (0009_verify_fixture.sql) on a real PostgreSQL 15.

PostgREST logs in as authenticator and switches to the JWT's role, so the tests do the same:
service_role may create, read, update and delete rows; anon and authenticated may do nothing;
and the migration tells a listening PostgREST to reload its schema cache.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from engine.deploy.database import bootstrap
from engine.deploy.migrations import load_migrations
from tests.deploy.conftest import FreshDatabase, emulate_rds_event_triggers

pytestmark = pytest.mark.slow
TABLE = "public.supa_engine_verify"
FIXTURE = "0009_verify_fixture.sql"


def as_role(db: FreshDatabase, role: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(db.dsn_as("authenticator"), autocommit=True)
    conn.execute(f"SET ROLE {role}".encode())
    return conn


def test_service_role_has_crud_on_the_fixture_table(database: FreshDatabase) -> None:
    bootstrap(database.master_dsn, database.passwords)
    with as_role(database, "service_role") as conn:
        row = conn.execute(f"INSERT INTO {TABLE} (note) VALUES ('one') RETURNING id, note".encode()).fetchone()
        assert row is not None and row[1] == "one"
        (row_id,) = row[:1]
        conn.execute(f"UPDATE {TABLE} SET note = 'two' WHERE id = %s".encode(), (row_id,))
        assert conn.execute(f"SELECT note FROM {TABLE} WHERE id = %s".encode(), (row_id,)).fetchone() == ("two",)
        conn.execute(f"DELETE FROM {TABLE} WHERE id = %s".encode(), (row_id,))
        assert conn.execute(f"SELECT count(*) FROM {TABLE}".encode()).fetchone() == (0,)


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("statement", [
    f"SELECT * FROM {TABLE}",
    f"INSERT INTO {TABLE} (note) VALUES ('x')",
    f"UPDATE {TABLE} SET note = 'y'",
    f"DELETE FROM {TABLE}",
])
def test_the_api_roles_are_refused(database: FreshDatabase, role: str, statement: str) -> None:
    bootstrap(database.master_dsn, database.passwords)
    with as_role(database, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement.encode())


def test_the_migration_tells_postgrest_to_reload_its_schema_cache(database: FreshDatabase) -> None:
    # Everything before the fixture first; then PostgREST's channel, `pgrst`, hears only its migration.
    before = tuple(m for m in load_migrations() if m.name < FIXTURE)
    bootstrap(database.master_dsn, database.passwords, migrations=before)
    with psycopg.connect(database.master_dsn, autocommit=True) as listener:
        listener.execute("LISTEN pgrst")
        report = bootstrap(database.master_dsn, database.passwords,
                           migrations=tuple(m for m in load_migrations() if m.name <= FIXTURE))
        assert report.applied == (FIXTURE,)
        payloads = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert payloads == ["reload schema"]


def test_with_rds_event_triggers_the_api_roles_are_still_refused(database: FreshDatabase) -> None:
    # Where the master may create event triggers, they add their own service_role policy on RLS.
    before = tuple(m for m in load_migrations() if m.name < FIXTURE)
    bootstrap(database.master_dsn, database.passwords, migrations=before)
    emulate_rds_event_triggers(database)
    bootstrap(database.master_dsn, database.passwords)
    with as_role(database, "anon") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"SELECT * FROM {TABLE}".encode())
    with as_role(database, "service_role") as conn:
        conn.execute(f"INSERT INTO {TABLE} (note) VALUES ('x')".encode())
        assert conn.execute(f"DELETE FROM {TABLE} RETURNING note".encode()).fetchall() == [("x",)]
