"""Bootstrap an empty RDS PostgreSQL (15+) for Supabase as the master user, who is no superuser.

Idempotent and serialised by an advisory lock, so every chart install and upgrade may run it.
After the migrations it does what needs the services' own tables (:mod:`engine.deploy.services`).
Connection, translation of server errors (with secrets redacted) and the migration bookkeeping
share one connection and one lock, hence one module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from engine.catalog import DATABASE_LOGIN_ROLES
from engine.deploy.migrations import Migration, MigrationError, SqlStatement, check_sequence, load_migrations
from engine.deploy.services import (
    add_service_role_policies,
    create_realtime_list_changes,
    enforce_realtime_tenant_tls,
    service_role_rls,
    service_warnings,
)
from engine.errors import EngineError

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[TupleRow]

#: Roles that log in; each needs a password the first time it is created.
LOGIN_ROLES: tuple[str, ...] = DATABASE_LOGIN_ROLES

MIGRATIONS_TABLE = "supa_engine.schema_migrations"
_TABLE = sql.Identifier(*MIGRATIONS_TABLE.split("."))
MIN_SERVER_VERSION = 150000
# Key of the advisory lock serialising bootstrap runs on one database ("supa" "boot").
LOCK_KEY = 0x7375_7061_626F_6F74
LOCK_WAIT = "300s"


class DatabaseError(EngineError):
    """The database could not be reached or refused an operation."""


@dataclass(frozen=True)
class BootstrapReport:
    """What a :func:`bootstrap` run did."""

    applied: tuple[str, ...]
    skipped: tuple[str, ...]
    passwords_set: tuple[str, ...]
    warnings: tuple[str, ...]
    #: How service_role gets past row level security: see :func:`service_role_rls`.
    service_role_rls: str = "attribute"


def bootstrap(
    dsn: str,
    passwords: Mapping[str, str],
    *,
    connect_timeout: int = 10,
    migrations: Sequence[Migration] | None = None,
) -> BootstrapReport:
    """Prepare the database named in ``dsn`` for Supabase.

    Under a session advisory lock: apply the SQL files not yet recorded in
    :data:`MIGRATIONS_TABLE`, each in one transaction with its row, then set the passwords given
    (as SCRAM verifiers made client-side, so no log sees them). The DSN is used as given: TLS
    settings are the caller's (RDS: ``sslmode=verify-full``).

    ``passwords`` maps LOGIN roles (:data:`LOGIN_ROLES`) to their passwords. A role that does
    not exist yet must get one; an existing role's password is changed only if given.
    ``migrations`` replaces the packaged files (tests, or callers shipping extra files).
    """
    plan = check_sequence(list(load_migrations() if migrations is None else migrations))
    _check_passwords(passwords)
    secrets = [p for p in passwords.values() if p]
    with _connect(dsn, connect_timeout, secrets) as conn:
        with _translate(secrets, "checking the bootstrap user's privileges"):
            _preflight(conn)
        with _translate(secrets, "waiting for the bootstrap lock"):
            conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_WAIT)))
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            conn.execute("RESET lock_timeout")
        with _translate(secrets, "reading the migrations table"):
            _require_passwords_for_new_roles(conn, passwords)
            applied_before = _applied_migrations(conn)
        pending = _pending(plan, applied_before)
        for migration in pending:
            _apply(conn, migration, secrets)
        with _translate(secrets, "setting role passwords"):
            passwords_set = _set_passwords(conn, passwords)
        with _translate(secrets, "completing the services' tables"):
            add_service_role_policies(conn)
            create_realtime_list_changes(conn)
            enforce_realtime_tenant_tls(conn)
        with _translate(secrets, "checking the result"):
            warnings = _warnings(conn)
            rls_mode = service_role_rls(conn).mode
    for warning in warnings:
        logger.warning("%s", warning)
    applied = tuple(m.name for m in pending)
    return BootstrapReport(
        applied=applied,
        skipped=tuple(m.name for m in plan if m.name not in applied),
        passwords_set=passwords_set,
        warnings=warnings,
        service_role_rls=rls_mode,
    )


# --- helpers -------------------------------------------------------------------------------------


def _check_passwords(passwords: Mapping[str, str]) -> None:
    unknown = sorted(set(passwords) - set(LOGIN_ROLES))
    if unknown:
        raise EngineError(
            f"passwords were given for roles that are not LOGIN roles: {', '.join(unknown)}",
            hint=f"Only these roles log in: {', '.join(LOGIN_ROLES)}.",
        )
    bad = sorted(r for r, p in passwords.items() if not isinstance(p, str) or not p or "\0" in p)
    if bad:
        raise EngineError(
            f"the password for {', '.join(bad)} is empty or contains a NUL character",
            hint="Generate a random password (e.g. 32 characters) for every LOGIN role.",
        )


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _server_message(exc: psycopg.Error, secrets: Sequence[str]) -> str:
    primary = exc.diag.message_primary or str(exc).strip() or type(exc).__name__
    detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
    code = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
    return _redact(f"{primary}{detail}{code}", secrets)


@contextmanager
def _translate(secrets: Sequence[str], doing: str) -> Iterator[None]:
    """Turn a driver error into a DatabaseError that names what we were doing."""
    try:
        yield
    except psycopg.Error as exc:
        hint = exc.diag.message_hint
        if isinstance(exc, psycopg.errors.InsufficientPrivilege) and hint is None:
            hint = "Run the bootstrap as the RDS master user (CREATEROLE, CREATEDB, database owner)."
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            hint = "Another bootstrap holds the lock for longer than expected; is a Job stuck?"
        raise DatabaseError(
            f"postgreSQL error while {doing}: {_server_message(exc, secrets)}",
            hint=_redact(hint, secrets) if hint else None,
        ) from None


def _connect(dsn: str, timeout: int, secrets: list[str]) -> Conn:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise DatabaseError(
            "the database DSN is not a valid PostgreSQL connection string",
            hint="Use postgresql://USER@HOST:5432/DBNAME?sslmode=verify-full or key=value form.",
        ) from None
    dsn_password = params.get("password")
    if isinstance(dsn_password, str) and dsn_password:
        secrets.append(dsn_password)
    target = (
        f"{params.get('user', '<default user>')}@{params.get('host', '<default host>')}:"
        f"{params.get('port', 5432)}/{params.get('dbname', '<default db>')}"
    )
    try:
        conn = psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=timeout,
            application_name="supa-engine-bootstrap",
        )
    except psycopg.Error as exc:
        message = _redact(str(exc).strip(), secrets)
        if "password authentication failed" in message or "no password supplied" in message:
            hint = "Check the bootstrap user's name and password (the RDS master credentials)."
        elif "timeout" in message or "Connection refused" in message or "could not" in message:
            hint = (
                "Check the host and port, that the database is running, and that security "
                "groups/network policies let this pod reach it."
            )
        else:
            hint = "Check the DSN, credentials and TLS settings (RDS: sslmode=verify-full)."
        raise DatabaseError(f"cannot connect to PostgreSQL as {_redact(target, secrets)}: {message}", hint) from None
    conn.add_notice_handler(lambda diag: logger.debug("server notice: %s", diag.message_primary))
    return conn


def _preflight(conn: Conn) -> None:
    row = conn.execute(
        """
        SELECT current_setting('server_version_num')::int, current_user, r.rolsuper,
               r.rolcreaterole, r.rolcreatedb,
               has_database_privilege(current_database(), 'CREATE WITH GRANT OPTION')
        FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
        """
    ).fetchone()
    if row is None:  # current_user always has a pg_roles row; be explicit anyway
        raise DatabaseError("cannot read the bootstrap user's attributes from pg_roles")
    version, user, is_super, can_createrole, can_createdb, owns_db = row
    if version < MIN_SERVER_VERSION:
        raise DatabaseError(
            f"postgreSQL {version // 10000} is too old; the engine needs 15 or newer",
            hint="Create the RDS instance with engine version 15, 16 or 17.",
        )
    if not is_super and not (can_createrole and can_createdb):
        raise DatabaseError(
            f"user {user} lacks CREATEROLE or CREATEDB and cannot create the Supabase roles",
            hint="Run the bootstrap as the RDS master user.",
        )
    if not owns_db:
        raise DatabaseError(
            f"user {user} cannot grant CREATE on this database (it is not the database owner)",
            hint="Run the bootstrap as the owner of the database (the RDS master user owns the "
            "database RDS created for it).",
        )


def _require_passwords_for_new_roles(conn: Conn, passwords: Mapping[str, str]) -> None:
    rows = conn.execute(
        "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)", (list(LOGIN_ROLES),)
    ).fetchall()
    existing = {str(r[0]) for r in rows}
    missing = [r for r in LOGIN_ROLES if r not in existing and r not in passwords]
    if missing:
        raise EngineError(
            f"no password given for LOGIN roles that do not exist yet: {', '.join(missing)}",
            hint="Pass a password for every LOGIN role on the first bootstrap.",
        )


def _applied_migrations(conn: Conn) -> dict[int, tuple[str, str]]:
    conn.execute("CREATE SCHEMA IF NOT EXISTS supa_engine")
    conn.execute(
        sql.SQL(
            """
        CREATE TABLE IF NOT EXISTS {} (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL CHECK (checksum ~ '^[0-9a-f]{{64}}$'),
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
        ).format(_TABLE)
    )
    rows = conn.execute(sql.SQL("SELECT version, name, checksum FROM {}").format(_TABLE)).fetchall()
    return {int(v): (str(n), str(c)) for v, n, c in rows}


def _pending(plan: Sequence[Migration], applied: Mapping[int, tuple[str, str]]) -> list[Migration]:
    known = {m.version: m for m in plan}
    for version, (name, checksum) in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {name} applied, which this engine does not know",
                hint="The database was bootstrapped by a newer engine; upgrade supa-engine.",
            )
        if migration.name != name or migration.checksum != checksum:
            raise MigrationError(
                f"migration {migration.name} was changed after it was applied "
                f"(recorded as {name}, sha256 {checksum[:12]}…, now {migration.checksum[:12]}…)",
                hint="Never edit an applied migration; revert the file and add a new migration instead.",
            )
    newest = max(applied, default=0)
    pending = [m for m in plan if m.version not in applied]
    late = [m.name for m in pending if m.version < newest]
    if late:
        raise MigrationError(
            f"new migration {', '.join(late)} sorts before already applied version {newest:04d}",
            hint="Number new migrations after the last applied one.",
        )
    return pending


def _apply(conn: Conn, migration: Migration, secrets: Sequence[str]) -> None:
    statement: SqlStatement | None = None
    try:
        with conn.transaction():
            for statement in migration.statements():
                conn.execute(statement.text.encode())
            statement = None
            conn.execute(
                sql.SQL("INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)").format(_TABLE),
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as exc:
        where = (
            f"line {statement.line}: {_redact(statement.excerpt, secrets)}"
            if statement is not None
            else "recording it in the migrations table"
        )
        hint = exc.diag.message_hint
        if isinstance(exc, psycopg.errors.InsufficientPrivilege) and hint is None:
            hint = "The bootstrap user lacks a privilege; run it as the RDS master user."
        raise MigrationError(
            f"migration {migration.name} failed at {where}: {_server_message(exc, secrets)}. "
            "It was rolled back; the database is unchanged by it.",
            hint=_redact(hint, secrets) if hint else "Fix the migration and run the bootstrap again.",
        ) from None
    logger.info("applied migration %s", migration.name)


def _set_passwords(conn: Conn, passwords: Mapping[str, str]) -> tuple[str, ...]:
    done = []
    with conn.transaction():
        for role in LOGIN_ROLES:
            password = passwords.get(role)
            if password is None:
                continue
            verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier.decode("ascii")))
            )
            done.append(role)
    logger.info("set passwords for %s", ", ".join(done) or "no roles")
    return tuple(done)


def _warnings(conn: Conn) -> tuple[str, ...]:
    warnings = list(service_warnings(conn))
    rows = conn.execute(
        """
        SELECT w.name, EXISTS (SELECT FROM pg_catalog.pg_available_extensions a WHERE a.name = w.name)
        FROM unnest(ARRAY['pgcrypto', 'uuid-ossp', 'pg_stat_statements']) AS w(name)
        WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = w.name)
        ORDER BY 1
        """
    ).fetchall()
    missing = [str(name) for name, available in rows if available]
    unavailable = [str(name) for name, available in rows if not available]
    if missing:
        warnings.append(
            f"Extensions not installed (need more privileges): {', '.join(missing)}; "
            "create them as a superuser (RDS: the master user) in schema extensions."
        )
    if unavailable:
        warnings.append(f"Extensions not available on this server: {', '.join(unavailable)}.")
    row = conn.execute("SELECT current_setting('wal_level')").fetchone()
    if row is not None and row[0] != "logical":
        warnings.append(
            f"wal_level is {row[0]}, realtime needs logical: on RDS set rds.logical_replication=1 "
            "in the DB parameter group and reboot the instance."
        )
    return tuple(warnings)


# --- the command line's entry point --------------------------------------------------------------

PASSWORD_ENV_PREFIX = "SUPA_ENGINE_PASSWORD_"


def bootstrap_from_environment(dsn: str, environ: Mapping[str, str], *, connect_timeout: int = 10) -> BootstrapReport:
    """`supa-engine db bootstrap`: role passwords come from `SUPA_ENGINE_PASSWORD_<ROLE>` variables.

    Arguments show up in process lists, so a DSN that carries a password is refused: libpq reads
    the bootstrap user's password from PGPASSWORD (or ~/.pgpass) instead.
    """
    if conninfo_to_dict(dsn).get("password") if _parses(dsn) else False:
        raise EngineError("the DSN contains a password, which would show in process lists",
                          "remove it from --dsn and export PGPASSWORD instead")
    passwords = {role: environ[PASSWORD_ENV_PREFIX + role.upper()] for role in LOGIN_ROLES
                 if environ.get(PASSWORD_ENV_PREFIX + role.upper())}
    return bootstrap(dsn, passwords, connect_timeout=connect_timeout)


def _parses(dsn: str) -> bool:
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return False  # bootstrap() reports the malformed DSN with its own message
    return True
