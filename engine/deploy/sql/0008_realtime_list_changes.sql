-- 0008_realtime_list_changes: realtime.list_changes where realtime cannot create it.
--
-- Where 0007 recorded realtime's tenant migration 20230328144023 (its function
-- carries SET log_min_messages, which the master cannot let realtime set), this
-- provides the function realtime's postgres_changes calls, with the same name,
-- arguments and result, written here without that setting: it reads the changes
-- of a wal2json slot for the tables of a publication and keeps those that have
-- subscribers, as realtime.apply_rls decides. It needs types and functions that
-- realtime's earlier tenant migrations create, so it is made once they exist:
-- by an event trigger (as the role running those migrations) where the master may
-- create one, else by the next `supa-engine db bootstrap` run.

CREATE OR REPLACE FUNCTION supa_engine.create_realtime_list_changes() RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass('realtime.schema_migrations') IS NULL
       OR NOT EXISTS (SELECT FROM realtime.schema_migrations WHERE version = 20230328144023)
       OR to_regprocedure('realtime.list_changes(name,name,integer,integer)') IS NOT NULL
       OR to_regtype('realtime.wal_rls') IS NULL
       OR to_regprocedure('realtime.apply_rls(jsonb,integer)') IS NULL
       OR to_regprocedure('realtime.quote_wal2json(regclass)') IS NULL THEN
        RETURN false;
    END IF;
    CREATE FUNCTION realtime.list_changes(
        publication name, slot_name name, max_changes integer, max_record_bytes integer
    ) RETURNS SETOF realtime.wal_rls
    LANGUAGE plpgsql AS $body$
    DECLARE
        wanted_actions text;
        wanted_tables text;
    BEGIN
        SELECT array_to_string(ARRAY[
                   CASE WHEN p.pubinsert THEN 'insert' END,
                   CASE WHEN p.pubupdate THEN 'update' END,
                   CASE WHEN p.pubdelete THEN 'delete' END], ','),
               coalesce((
                   SELECT string_agg(realtime.quote_wal2json(format('%I.%I', t.schemaname, t.tablename)::regclass), ',')
                   FROM pg_catalog.pg_publication_tables t
                   WHERE t.pubname = p.pubname AND t.tablename NOT LIKE '% %'), '')
          INTO wanted_actions, wanted_tables
        FROM pg_catalog.pg_publication p
        WHERE p.pubname = publication;
        IF NOT FOUND THEN
            RETURN;  -- no such publication: leave the slot alone
        END IF;
        -- With nothing published the slot is still read (and so advanced), as
        -- realtime expects, and the changes dropped.
        IF wanted_tables = '' THEN
            PERFORM FROM pg_catalog.pg_logical_slot_get_changes(
                slot_name, NULL, max_changes, 'format-version', '2', 'actions', wanted_actions);
            RETURN;
        END IF;
        RETURN QUERY
            SELECT r.wal, r.is_rls_enabled, r.subscription_ids, r.errors
            FROM pg_catalog.pg_logical_slot_get_changes(
                     slot_name, NULL, max_changes,
                     'format-version', '2', 'include-pk', 'true', 'include-transaction', 'false',
                     'include-timestamp', 'true', 'include-type-oids', 'true',
                     'actions', wanted_actions, 'add-tables', wanted_tables) AS c
            CROSS JOIN LATERAL realtime.apply_rls(wal := c.data::jsonb, max_record_bytes := max_record_bytes)
                AS r(wal, is_rls_enabled, subscription_ids, errors)
            WHERE r.subscription_ids[1] IS NOT NULL;
    END
    $body$;
    ALTER FUNCTION realtime.list_changes(name, name, integer, integer) OWNER TO supabase_realtime_admin;
    RETURN true;
END
$fn$;

-- The event trigger runs as whoever ran the DDL: only realtime's role (and the
-- roles holding its privileges) may call this, and nothing it does is allowed to
-- make their statement fail.
REVOKE ALL ON FUNCTION supa_engine.create_realtime_list_changes() FROM PUBLIC;
GRANT USAGE ON SCHEMA supa_engine TO supabase_realtime_admin;
GRANT EXECUTE ON FUNCTION supa_engine.create_realtime_list_changes() TO supabase_realtime_admin;

CREATE OR REPLACE FUNCTION supa_engine.realtime_list_changes_trigger() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.pg_has_role('supabase_realtime_admin', 'USAGE') THEN
        BEGIN
            PERFORM supa_engine.create_realtime_list_changes();
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'realtime.list_changes was not created: %', SQLERRM;
        END;
    END IF;
END
$$;

-- 0006's installer, now also with this trigger.
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
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'supa_realtime_list_changes') THEN
        CREATE EVENT TRIGGER supa_realtime_list_changes ON ddl_command_end WHEN TAG IN ('CREATE FUNCTION')
            EXECUTE FUNCTION supa_engine.realtime_list_changes_trigger();
    END IF;
END
$$;

DO $$
BEGIN
    PERFORM supa_engine.install_event_triggers();
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'event triggers were not created: %', SQLERRM;
END
$$;
