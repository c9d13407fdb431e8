"""Fixtures for the database tests: a real PostgreSQL shaped like RDS and a fresh database per test.

:func:`master_user` gives the server the roles RDS for PostgreSQL has (AWS: "Understanding the
rds_superuser role" and "Understanding PostgreSQL roles and permissions"):

- ``rdsadmin``: the bootstrap superuser (the server's initdb user); nothing in the engine uses it.
- ``rds_superuser`` (NOLOGIN): member of the predefined roles AWS lists for it: ``pg_monitor``,
  ``pg_signal_backend``, ``pg_read_all_settings``, ``pg_read_all_stats``, ``pg_stat_scan_tables``,
  ``pg_checkpoint`` (15+), ``pg_use_reserved_connections`` and ``pg_create_subscription`` (16+);
  it administers ``rds_replication`` and ``rds_password`` (the master may grant both).
- ``rds_replication``, ``rds_password`` (NOLOGIN).
- the master user ``postgres``, created as RDS creates it: ``LOGIN NOSUPERUSER INHERIT CREATEDB
  CREATEROLE NOREPLICATION``, member of ``rds_superuser``; it owns each test database.

What cannot be emulated on vanilla PostgreSQL (RDS patches its privilege checks): members of
``rds_superuser`` may create untrusted-but-allow-listed extensions (``pg_stat_statements``), and
members of ``rds_replication`` may create logical replication slots and stream changes without
the REPLICATION attribute. :func:`emulate_rds_replication` stands in for the latter by giving
REPLICATION (as ``rdsadmin``) to each member of ``rds_replication``; tests that need it say so.
Whether the master may grant BYPASSRLS on RDS is not emulated either way: tests cover both answers.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from psycopg import sql

from engine.deploy.database import LOGIN_ROLES
from tests.deploy.moto_server import aws, moto_endpoint
from tests.deploy.stand_in_terraform import stand_in
from tests.postgres import SUPERUSER, PostgresServer, postgres_server

__all__ = ["aws", "moto_endpoint", "postgres_server", "stand_in"]

#: The RDS master user (engine/targets/terraform/database.py names it postgres).
MASTER_USER = "postgres"
RDS_ROLES = ("rds_superuser", "rds_replication", "rds_password")
_RDS_SUPERUSER_MEMBER_OF = {
    15: ("pg_monitor", "pg_signal_backend", "pg_read_all_settings", "pg_read_all_stats",
         "pg_stat_scan_tables", "pg_checkpoint"),
    16: ("pg_monitor", "pg_signal_backend", "pg_read_all_settings", "pg_read_all_stats",
         "pg_stat_scan_tables", "pg_checkpoint", "pg_use_reserved_connections", "pg_create_subscription"),
}
MASTER_PASSWORD = 'm@ster\'s "pw" ' + secrets.token_urlsafe(12)

_counter = itertools.count()


@dataclass(frozen=True)
class FreshDatabase:
    server: PostgresServer
    name: str
    master_dsn: str
    passwords: dict[str, str]

    def dsn_as(self, role: str, password: str | None = None) -> str:
        return self.server.dsn(self.name, role, self.passwords[role] if password is None else password)


@pytest.fixture(scope="session")
def master_user(postgres_server: PostgresServer) -> str:
    """The RDS roles and the master user, once per server."""
    member_of = _RDS_SUPERUSER_MEMBER_OF[postgres_server.major]
    with postgres_server.connect() as conn:
        for role in RDS_ROLES:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT {} TO rds_superuser").format(sql.SQL(", ").join(map(sql.Identifier, member_of))))
        conn.execute("GRANT rds_replication, rds_password TO rds_superuser WITH ADMIN OPTION")
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} WITH LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE NOREPLICATION "
                "VALID UNTIL 'infinity' PASSWORD {}"
            ).format(sql.Identifier(MASTER_USER), sql.Literal(MASTER_PASSWORD))
        )
        conn.execute(sql.SQL("GRANT rds_superuser TO {}").format(sql.Identifier(MASTER_USER)))
    return MASTER_USER


def emulate_rds_replication(server: PostgresServer) -> None:
    """RDS lets members of rds_replication replicate; vanilla PostgreSQL needs the attribute."""
    with server.connect() as conn:
        rows = conn.execute(
            "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member "
            "WHERE a.roleid = 'rds_replication'::regrole AND NOT m.rolreplication AND m.rolname <> 'rds_superuser'"
        ).fetchall()
        for (role,) in rows:
            conn.execute(sql.SQL("ALTER ROLE {} REPLICATION").format(sql.Identifier(role)))


def role_passwords() -> dict[str, str]:
    # Quotes, backslashes, dollars and spaces prove the passwords are passed safely.
    return {role: f"{role[:4]}'\"\\$$ {secrets.token_urlsafe(16)}" for role in LOGIN_ROLES}


@pytest.fixture
def database(postgres_server: PostgresServer, master_user: str) -> Iterator[FreshDatabase]:
    """An empty database owned by the master user; roles made by the test are dropped after."""
    name = f"boot_{next(_counter)}"
    postgres_server.create_database(name, master_user)
    try:
        yield FreshDatabase(
            server=postgres_server,
            name=name,
            master_dsn=postgres_server.dsn(name, master_user, MASTER_PASSWORD),
            passwords=role_passwords(),
        )
    finally:
        postgres_server.drop_database(name)
        # Roles are cluster-wide: drop everything the test created so the next test starts clean.
        with postgres_server.connect() as conn:
            rows = conn.execute(
                r"SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> ALL(%s)",
                ([SUPERUSER, master_user, *RDS_ROLES],),
            ).fetchall()
            if rows:  # privileges on cluster-wide objects (parameters) go with DROP OWNED
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.SQL(", ").join(sql.Identifier(r) for (r,) in rows)))
            for (role,) in rows:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def emulate_rds_event_triggers(db: FreshDatabase) -> None:
    """RDS lets the master create event triggers; here the bootstrap superuser does it for it."""
    with db.server.connect(db.name) as conn:
        conn.execute("SELECT supa_engine.install_event_triggers()")


def emulate_rds_bypassrls_grant(server: PostgresServer) -> None:
    """If RDS lets rds_superuser grant BYPASSRLS: on 16 that follows from the master having it."""
    with server.connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(sql.Identifier(MASTER_USER)))


def revoke_master_bypassrls(server: PostgresServer) -> None:
    with server.connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(sql.Identifier(MASTER_USER)))
