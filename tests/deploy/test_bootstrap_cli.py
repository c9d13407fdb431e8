"""`supa-engine db bootstrap` against the real throwaway PostgreSQL."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from engine.cli import main
from engine.deploy.database import PASSWORD_ENV_PREFIX
from tests.deploy.conftest import MASTER_PASSWORD, FreshDatabase


def _without_password(dsn: str) -> str:
    parts = conninfo_to_dict(dsn)
    parts.pop("password", None)
    return make_conninfo("", **parts)


def test_bootstrap_command_runs_twice(
    database: FreshDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PGPASSWORD", MASTER_PASSWORD)
    for role, password in database.passwords.items():
        monkeypatch.setenv(PASSWORD_ENV_PREFIX + role.upper(), password)
    dsn = _without_password(database.master_dsn)
    assert main(["db", "bootstrap", "--dsn", dsn]) == 0
    first = capsys.readouterr()
    assert "applied  0001_roles.sql" in first.out
    assert main(["db", "bootstrap", "--dsn", dsn]) == 0
    second = capsys.readouterr()
    assert "0 migration(s) applied" in second.out
    for password in database.passwords.values():
        assert password not in first.out + first.err + second.out + second.err


def test_password_in_dsn_is_refused(database: FreshDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "bootstrap", "--dsn", database.master_dsn]) == 1
    err = capsys.readouterr().err
    assert "contains a password" in err and MASTER_PASSWORD not in err


def test_missing_role_passwords_is_a_user_error(
    database: FreshDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PGPASSWORD", MASTER_PASSWORD)
    assert main(["db", "bootstrap", "--dsn", _without_password(database.master_dsn)]) == 1
    assert "Traceback" not in capsys.readouterr().err
