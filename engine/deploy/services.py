"""Bootstrap steps that need tables the services create themselves, and the checks on them.

They run at the end of every `supa-engine db bootstrap`, so a run after the services' first
start (or an upgrade) completes what the event triggers of 0006/0008 do where RDS allows them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[TupleRow]

# Tables with row level security that service_role cannot fully use: no BYPASSRLS, and no
# permissive policy for service_role (or PUBLIC) that allows every command.
_RESTRICTED_TABLES = """
    SELECT n.nspname, c.relname, pg_catalog.pg_has_role(c.relowner, 'USAGE')
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND NOT EXISTS (
          SELECT FROM pg_catalog.pg_policy p
          WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd = '*'
            AND (p.polroles = '{0}' OR 'service_role'::regrole = ANY(p.polroles))
            AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) = 'true'
            AND coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), 'true') = 'true')
    ORDER BY 1, 2
"""


@dataclass(frozen=True)
class ServiceRoleRls:
    """How service_role passes row level security on a live database.

    ``attribute``: service_role has BYPASSRLS (Supabase's contract). ``policies``: it has not, and
    every table with row level security carries a permissive ``service_role_all`` policy (the
    engine's equivalent). ``restricted``: neither, for the tables listed.
    """

    mode: str
    restricted: tuple[str, ...]
    event_trigger: bool


def service_role_rls(conn: Conn) -> ServiceRoleRls:
    """Check, read-only, which of the two ways holds (see the README, "service_role and RLS")."""
    row = conn.execute(
        "SELECT rolbypassrls, EXISTS (SELECT FROM pg_catalog.pg_event_trigger "
        "WHERE evtname = 'supa_service_role_rls' AND evtenabled <> 'D') "
        "FROM pg_catalog.pg_roles WHERE rolname = 'service_role'"
    ).fetchone()
    if row is None:
        return ServiceRoleRls("restricted", ("(service_role does not exist)",), False)
    bypass, trigger = bool(row[0]), bool(row[1])
    if bypass:
        return ServiceRoleRls("attribute", (), trigger)
    restricted = tuple(f"{schema}.{table}" for schema, table, _ in conn.execute(_RESTRICTED_TABLES).fetchall())
    return ServiceRoleRls("restricted" if restricted else "policies", restricted, trigger)


def add_service_role_policies(conn: Conn) -> tuple[str, ...]:
    """Without BYPASSRLS, give service_role a permissive policy on each RLS table we may change.

    The bootstrap user may create a policy where it has the table owner's privileges (the service
    roles are granted to it); tables of other owners are left for :func:`service_role_rls` to report.
    """
    row = conn.execute("SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = 'service_role'").fetchone()
    if row is None or row[0]:
        return ()
    added = []
    with conn.transaction():
        for schema, table, may in conn.execute(_RESTRICTED_TABLES).fetchall():
            if not may:
                continue
            conn.execute(
                sql.SQL(
                    "CREATE POLICY service_role_all ON {}.{} AS PERMISSIVE FOR ALL TO service_role "
                    "USING (true) WITH CHECK (true)"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            )
            added.append(f"{schema}.{table}")
    if added:
        logger.info("service_role policies added on %s", ", ".join(added))
    return tuple(added)


def create_realtime_list_changes(conn: Conn) -> bool:
    """Create realtime.list_changes where 0007 skipped realtime's migration and its parts exist."""
    row = conn.execute("SELECT supa_engine.create_realtime_list_changes()").fetchone()
    created = bool(row and row[0])
    if created:
        logger.info("created realtime.list_changes")
    return created


def enforce_realtime_tenant_tls(conn: Conn) -> int:
    """Make realtime's tenant connections use TLS (RDS refuses others: rds.force_ssl=1).

    realtime's self-host seed stores ``ssl_enforced: false`` in the tenant's postgres_cdc_rls
    settings (kept in clear beside the encrypted credentials); true makes realtime connect with
    TLS. Realtime reads it when it (re)connects the tenant.
    """
    if conn.execute("SELECT to_regclass('_realtime.extensions')").fetchone() == (None,):
        return 0
    cursor = conn.execute(
        """UPDATE _realtime.extensions SET settings = settings || '{"ssl_enforced": true}'::jsonb
           WHERE type = 'postgres_cdc_rls' AND settings -> 'ssl_enforced' IS DISTINCT FROM 'true'::jsonb"""
    )
    if cursor.rowcount:
        logger.info("realtime tenants switched to TLS: %d", cursor.rowcount)
    return cursor.rowcount


def service_warnings(conn: Conn) -> tuple[str, ...]:
    """What keeps a service from working as upstream intends, in words an operator can act on."""
    warnings = []
    rls = service_role_rls(conn)
    if rls.mode != "attribute":
        warnings.append(
            "service_role lacks BYPASSRLS (the bootstrap user may not grant it); it passes row level "
            "security through permissive service_role_all policies instead"
            + ("" if rls.event_trigger else
               "; without the event trigger, tables that get RLS later need `supa-engine db bootstrap` "
               "run again")
            + (f". No such policy (owner not ours): {', '.join(rls.restricted)}" if rls.restricted else "")
            + "."
        )
    triggers = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_event_trigger WHERE evtname IN ('supa_pgrst_ddl', 'supa_pgrst_drop')"
    ).fetchone()
    if triggers is not None and triggers[0] < 2:
        warnings.append(
            "the PostgREST reload event triggers could not be created (needs superuser; on RDS the "
            "master user may): new tables reach the REST API only after `NOTIFY pgrst, 'reload schema'` "
            "or a PostgREST restart."
        )
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM realtime.schema_migrations WHERE version = 20230328144023) "
        "AND to_regprocedure('realtime.list_changes(name,name,integer,integer)') IS NULL"
    ).fetchone()
    if row is not None and row[0]:
        warnings.append(
            "realtime.list_changes does not exist yet (realtime's own migration of it needs SET on "
            "log_min_messages, superuser only): it is made once realtime's tenant migrations ran, by "
            "the event trigger or the next `supa-engine db bootstrap`; until then postgres_changes "
            "subscriptions fail."
        )
    return tuple(warnings)
