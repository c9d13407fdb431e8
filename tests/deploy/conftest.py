"""Fixtures for the database bootstrap tests: a real PostgreSQL and a fresh database per test."""

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

#: Like the RDS master user: not a superuser, but CREATEROLE CREATEDB and owner of the database.
MASTER_USER = "rds_master"
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
    with postgres_server.connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(MASTER_USER), sql.Literal(MASTER_PASSWORD)
            )
        )
    return MASTER_USER


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
                ([SUPERUSER, master_user],),
            ).fetchall()
            for (role,) in rows:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
