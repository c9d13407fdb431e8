-- 0005_service_access: what each service needs beyond owning its schema, so that
-- the services' own migrations and per-request role switches work as the roles
-- the chart gives them (see the README, "What runs where").

-- Upstream migrations (GoTrue, storage-api, realtime) grant to a role named
-- "postgres" by name. On RDS it is the master user (the engine names it so);
-- where the master has another name, a NOLOGIN stand-in keeps them working.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'postgres') THEN
        CREATE ROLE postgres NOLOGIN;
    END IF;
END
$$;

-- postgres-meta (Studio) logs in as supabase_admin. Studio reads auth.users,
-- writes policies on storage.objects, adds service tables to the realtime
-- publication and impersonates the API roles in its SQL editor: all of which
-- need the privileges of the owning roles, so supabase_admin inherits them.
ALTER ROLE supabase_admin INHERIT;
GRANT supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin TO supabase_admin;
GRANT anon, authenticated, service_role TO supabase_admin;

-- The master user may act as the API roles too (psql sessions testing RLS).
GRANT anon, authenticated, service_role TO CURRENT_USER;

-- realtime's tenant migration 20240401105812 makes "postgres" a member of
-- supabase_realtime_admin; on PostgreSQL 16 only a role holding ADMIN OPTION
-- may grant that (the master, which created it), so it is granted here and the
-- migration is recorded as done in 0007.
GRANT supabase_realtime_admin TO postgres;

-- storage-api's migrations grant the API roles on its tables only when it
-- creates the roles itself (DB_INSTALL_ROLES, which fails on existing roles).
-- Default privileges give them what storage-api's requests need; row level
-- security (enabled by those migrations) decides which rows.
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage
    GRANT ALL ON TABLES TO anon, authenticated, service_role, postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role, postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage
    GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role, postgres;

-- Tables the master user creates in public reach the API like the dashboard's
-- (defect: before this only supabase_admin's tables did), and Studio may edit them.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON TABLES TO service_role, supabase_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO anon, authenticated, service_role, supabase_admin;

-- realtime's tenant migration 20230328144023 creates a function carrying
-- SET log_min_messages, a superuser-only parameter. PostgreSQL 15+ can grant
-- SET on it, but only a superuser (or holder WITH GRANT OPTION) may; RDS's
-- master cannot. Where refused, 0007 records the migration and the engine
-- reports it (see the README).
DO $$
BEGIN
    GRANT SET ON PARAMETER log_min_messages TO supabase_realtime_admin;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'supabase_realtime_admin may not set log_min_messages: %', SQLERRM;
END
$$;
