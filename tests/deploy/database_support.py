"""Helpers shared by the database tests: run the bootstrap, log in as a role, and act as a request would."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from engine.deploy.database import BootstrapReport, bootstrap
from tests.deploy.conftest import FreshDatabase

USER_ID = "6f1b6a52-1c1e-4a55-9d43-0c6a8c1e2f10"


def as_request(conn: psycopg.Connection[Any], role: str, sub: str | None = None) -> None:
    """What PostgREST and storage-api do at the start of each request's transaction."""
    claims = {"role": role, **({"sub": sub} if sub else {})}
    conn.execute("SELECT set_config('role', %s, true)", (role,))
    conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


def run(db: FreshDatabase, **kwargs: Any) -> BootstrapReport:
    return bootstrap(db.master_dsn, kwargs.pop("passwords", db.passwords), **kwargs)


def login(db: FreshDatabase, role: str) -> psycopg.Connection[Any]:
    return psycopg.connect(db.dsn_as(role), autocommit=True)


def can(conn: psycopg.Connection[Any], statement: str) -> bool:
    """Whether ``statement`` passes the privilege checks (rolled back either way)."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement.encode())
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def single(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = conn.execute(query.encode(), params or None).fetchone()
    assert row is not None
    return row[0]
