"""The storage policies of `supa-engine verify` (0010_verify_storage_policies.sql) on a real
PostgreSQL 15 and 16 shaped like RDS.

The function is called as PostgREST calls it (authenticator switched to the JWT's role); the
policies are exercised as storage-api exercises them (its login, supabase_storage_admin, switched
to the token's role with the token's claims set, src/internal/database/connection.ts at v1.28.0).
The storage schema is a minimal one of our own, shaped like storage-api's tenant migrations
(0002, 0018: owner_id text) and owned by supabase_storage_admin as they leave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from engine.deploy.migrations import load_migrations
from tests.deploy.conftest import FreshDatabase, emulate_rds_event_triggers
from tests.deploy.database_support import USER_ID, as_request, login, run, single

pytestmark = pytest.mark.slow
FUNCTION = "storage.supa_engine_verify_policies()"
POLICIES = ["supa_engine_verify_own_insert", "supa_engine_verify_own_select"]
OTHER_USER = "0b7e8f4c-9a33-4c7e-8f7d-3f1b2a5c6d70"
VERIFY_BUCKET = "supa-engine-verify-0a1b2c3d4e5f"


def storage_schema(db: FreshDatabase) -> None:
    """storage-api's first start: its tables, RLS on, made by its own login."""
    with login(db, "supabase_storage_admin") as conn:
        conn.execute(
            "CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL UNIQUE, owner uuid, "
            "owner_id text, public boolean DEFAULT false)"
        )
        conn.execute(
            "CREATE TABLE storage.objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
            "bucket_id text REFERENCES storage.buckets, name text, owner uuid, owner_id text, "
            "metadata jsonb, UNIQUE (bucket_id, name))"
        )
        for table in ("buckets", "objects"):
            conn.execute(f"ALTER TABLE storage.{table} ENABLE ROW LEVEL SECURITY".encode())


@contextmanager
def request(db: FreshDatabase, login_role: str, role: str, sub: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    """One request's transaction, rolled back: ``login_role`` switched to the token's role and claims."""
    with login(db, login_role) as conn, conn.transaction(force_rollback=True):
        as_request(conn, role, sub)
        yield conn


def call_policies_function(db: FreshDatabase, role: str) -> list[str]:
    """`POST /rest/v1/rpc/supa_engine_verify_policies` (Content-Profile: storage) with ``role``'s token."""
    with login(db, "authenticator") as conn, conn.transaction():
        as_request(conn, role)
        made: list[str] = single(conn, f"SELECT {FUNCTION}")
    return made


@pytest.fixture
def storage(database: FreshDatabase) -> FreshDatabase:
    """Bootstrapped, then storage-api started, then verify made the policies; two buckets, four objects."""
    run(database)
    storage_schema(database)
    assert call_policies_function(database, "service_role") == POLICIES
    with login(database, "supabase_storage_admin") as conn:  # the table owner, like asSuperUser()
        conn.execute("INSERT INTO storage.buckets (id, name) VALUES (%s, %s), ('avatars', 'avatars')",
                     (VERIFY_BUCKET, VERIFY_BUCKET))
        conn.execute(
            "INSERT INTO storage.objects (bucket_id, name, owner_id) VALUES "
            "(%(verify)s, 'mine.txt', %(me)s), (%(verify)s, 'theirs.txt', %(other)s), "
            "(%(verify)s, 'nobody.txt', NULL), ('avatars', 'me.png', %(me)s)",
            {"verify": VERIFY_BUCKET, "me": USER_ID, "other": OTHER_USER},
        )
    return database


def visible(db: FreshDatabase, role: str, sub: str | None = None) -> list[str]:
    with request(db, "supabase_storage_admin", role, sub) as conn:
        rows = conn.execute("SELECT bucket_id || '/' || name FROM storage.objects ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


# --- the function -----------------------------------------------------------------------------------


def test_service_role_makes_the_policies_once(storage: FreshDatabase) -> None:
    assert call_policies_function(storage, "service_role") == []  # idempotent: both exist
    with storage.server.connect(storage.name) as conn:
        rows = conn.execute(
            "SELECT polname, polcmd, polroles::regrole[]::text[] FROM pg_policy "
            "WHERE polrelid = 'storage.objects'::regclass ORDER BY 1"
        ).fetchall()
    assert rows == [(POLICIES[0], "a", ["authenticated"]), (POLICIES[1], "r", ["authenticated"])]


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_the_other_api_roles_may_not_call_it(database: FreshDatabase, role: str) -> None:
    run(database)
    storage_schema(database)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function"):
        call_policies_function(database, role)


def test_least_privilege_shape(database: FreshDatabase) -> None:
    run(database)
    with database.server.connect(database.name) as conn:
        owner, definer, config = conn.execute(
            "SELECT proowner::regrole::text, prosecdef, proconfig FROM pg_proc WHERE oid = %s::regprocedure",
            (FUNCTION,)).fetchone() or (None, None, None)
        assert (owner, definer, config) == ("supabase_storage_admin", True, ["search_path=pg_catalog, pg_temp"])
        for role, allowed in (("service_role", True), ("anon", False), ("authenticated", False),
                              ("authenticator", False), ("dashboard_user", False), ("supabase_auth_admin", False),
                              ("supabase_realtime_admin", False)):
            assert single(conn, "SELECT has_function_privilege(%s, %s, 'EXECUTE')", role, FUNCTION) is allowed, role


def test_before_storage_started_it_says_so(database: FreshDatabase) -> None:
    run(database)
    with pytest.raises(psycopg.errors.UndefinedTable, match=r"storage\.objects does not exist yet"):
        call_policies_function(database, "service_role")


def test_it_works_with_the_rds_event_triggers(database: FreshDatabase) -> None:
    before = tuple(m for m in load_migrations() if m.name < "0010")
    run(database, migrations=before)
    emulate_rds_event_triggers(database)
    run(database, passwords={})
    storage_schema(database)
    with login(database, "authenticator") as listener:
        listener.execute("LISTEN pgrst")
        assert call_policies_function(database, "service_role") == POLICIES
        assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == ["reload schema"]


# --- the policies, as storage-api's requests meet them ---------------------------------------------


def test_a_user_reads_only_their_own_objects_in_verify_buckets(storage: FreshDatabase) -> None:
    assert visible(storage, "authenticated", USER_ID) == [f"{VERIFY_BUCKET}/mine.txt"]
    assert visible(storage, "authenticated", OTHER_USER) == [f"{VERIFY_BUCKET}/theirs.txt"]
    assert visible(storage, "anon") == []
    assert visible(storage, "authenticated") == []  # a token without sub owns nothing


def test_a_user_uploads_only_as_themselves_into_verify_buckets(storage: FreshDatabase) -> None:
    with request(storage, "supabase_storage_admin", "authenticated", USER_ID) as conn:
        # storage-api's canUpload(): a plain INSERT with the token's sub as owner_id, rolled back
        conn.execute("INSERT INTO storage.objects (bucket_id, name, owner_id) VALUES (%s, 'new.txt', %s)",
                     (VERIFY_BUCKET, USER_ID))
    refused = [(VERIFY_BUCKET, OTHER_USER), (VERIFY_BUCKET, None), ("avatars", USER_ID)]
    for bucket, owner in refused:
        with request(storage, "supabase_storage_admin", "authenticated", USER_ID) as conn, \
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO storage.objects (bucket_id, name, owner_id) VALUES (%s, 'x.txt', %s)",
                         (bucket, owner))
    with request(storage, "supabase_storage_admin", "anon") as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("INSERT INTO storage.objects (bucket_id, name) VALUES (%s, 'x.txt')", (VERIFY_BUCKET,))


def test_a_user_may_not_change_or_delete_even_their_own_objects(storage: FreshDatabase) -> None:
    with request(storage, "supabase_storage_admin", "authenticated", USER_ID) as conn:
        assert conn.execute("UPDATE storage.objects SET name = 'moved.txt'").rowcount == 0
        assert conn.execute("DELETE FROM storage.objects").rowcount == 0
        assert single(conn, "SELECT count(*) FROM storage.buckets") == 0  # buckets stay unlisted
