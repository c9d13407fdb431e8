-- 0007_realtime_tenant: realtime's tenant migrations run as supabase_realtime_admin
-- and keep their bookkeeping in realtime.schema_migrations (Ecto: version, inserted_at).
-- Two of them cannot run as that role on RDS; the table is created here and they
-- are recorded as done, so the other migrations (realtime.messages among them) run:
--
--   20240401105812  its only effect not already true when supabase_realtime_admin
--                   runs every migration is GRANT supabase_realtime_admin TO postgres,
--                   done by 0005 as the master (PostgreSQL 16 needs ADMIN OPTION).
--   20230328144023  creates realtime.list_changes with SET log_min_messages, a
--                   superuser-only parameter; recorded only where 0005 could not grant
--                   SET on it. Without that function postgres_changes subscriptions
--                   fail; broadcast and presence work (see the README).
CREATE TABLE IF NOT EXISTS realtime.schema_migrations (
    version     bigint PRIMARY KEY,
    inserted_at timestamp(0) without time zone
);
ALTER TABLE realtime.schema_migrations OWNER TO supabase_realtime_admin;

INSERT INTO realtime.schema_migrations (version, inserted_at)
VALUES (20240401105812, now() AT TIME ZONE 'utc')
ON CONFLICT (version) DO NOTHING;

DO $$
BEGIN
    IF NOT has_parameter_privilege('supabase_realtime_admin', 'log_min_messages', 'SET') THEN
        INSERT INTO realtime.schema_migrations (version, inserted_at)
        VALUES (20230328144023, now() AT TIME ZONE 'utc')
        ON CONFLICT (version) DO NOTHING;
    END IF;
END
$$;
