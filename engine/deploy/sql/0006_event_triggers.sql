-- 0006_event_triggers: DDL hooks for PostgREST and service_role.
--
-- Creating an event trigger needs superuser on vanilla PostgreSQL; on RDS the
-- master user may (AWS: "Event triggers for RDS for PostgreSQL"). The functions
-- are always created; supa_engine.install_event_triggers() creates the triggers
-- and is attempted here; where refused the engine warns (see the README).

-- PostgREST caches the schema; any DDL tells it to reload (channel pgrst).
CREATE OR REPLACE FUNCTION supa_engine.notify_pgrst() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    NOTIFY pgrst, 'reload schema';
END
$$;

-- Where service_role lacks BYPASSRLS, a table that gets row level security
-- gets a permissive policy for service_role in the same statement, as its
-- owner (only the owner may enable RLS). The policy is the documented
-- equivalent of the attribute.
CREATE OR REPLACE FUNCTION supa_engine.service_role_policy() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    cmd record;
BEGIN
    IF (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        RETURN;
    END IF;
    FOR cmd IN
        SELECT c.oid, c.relname, n.nspname
        FROM pg_event_trigger_ddl_commands() d
        JOIN pg_catalog.pg_class c ON c.oid = d.objid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE d.command_tag = 'ALTER TABLE' AND d.classid = 'pg_catalog.pg_class'::regclass
          AND c.relkind IN ('r', 'p') AND c.relrowsecurity
    LOOP
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_policy p
            WHERE p.polrelid = cmd.oid AND p.polname = 'service_role_all'
        ) THEN
            EXECUTE format(
                'CREATE POLICY service_role_all ON %I.%I AS PERMISSIVE FOR ALL TO service_role '
                'USING (true) WITH CHECK (true)',
                cmd.nspname, cmd.relname
            );
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION supa_engine.install_event_triggers() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'supa_pgrst_ddl') THEN
        CREATE EVENT TRIGGER supa_pgrst_ddl ON ddl_command_end
            EXECUTE FUNCTION supa_engine.notify_pgrst();
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'supa_pgrst_drop') THEN
        CREATE EVENT TRIGGER supa_pgrst_drop ON sql_drop
            EXECUTE FUNCTION supa_engine.notify_pgrst();
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'supa_service_role_rls') THEN
        CREATE EVENT TRIGGER supa_service_role_rls ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
            EXECUTE FUNCTION supa_engine.service_role_policy();
    END IF;
END
$$;

REVOKE ALL ON FUNCTION supa_engine.install_event_triggers() FROM PUBLIC;

DO $$
BEGIN
    PERFORM supa_engine.install_event_triggers();
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'event triggers were not created: %', SQLERRM;
END
$$;
