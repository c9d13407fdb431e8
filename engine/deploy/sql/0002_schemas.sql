-- 0002_schemas: service schemas with their owners, schema and database grants.

CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
CREATE SCHEMA IF NOT EXISTS storage AUTHORIZATION supabase_storage_admin;
CREATE SCHEMA IF NOT EXISTS realtime AUTHORIZATION supabase_realtime_admin;
-- realtime's own (tenant) migrations keep their bookkeeping in _realtime.
CREATE SCHEMA IF NOT EXISTS _realtime AUTHORIZATION supabase_realtime_admin;
CREATE SCHEMA IF NOT EXISTS extensions AUTHORIZATION supabase_admin;
CREATE SCHEMA IF NOT EXISTS graphql_public AUTHORIZATION supabase_admin;

-- Schemas that pre-existed keep their name but get the owner we expect.
ALTER SCHEMA auth OWNER TO supabase_auth_admin;
ALTER SCHEMA storage OWNER TO supabase_storage_admin;
ALTER SCHEMA realtime OWNER TO supabase_realtime_admin;
ALTER SCHEMA _realtime OWNER TO supabase_realtime_admin;
ALTER SCHEMA extensions OWNER TO supabase_admin;
ALTER SCHEMA graphql_public OWNER TO supabase_admin;

REVOKE ALL ON SCHEMA auth, storage, realtime, _realtime, extensions, graphql_public FROM PUBLIC;

-- The API roles see the schemas the APIs expose. USAGE on auth is needed for
-- auth.uid()/auth.jwt() in RLS policies; it grants no access to auth tables.
GRANT USAGE ON SCHEMA public, graphql_public, storage, realtime, auth, extensions
    TO anon, authenticated, service_role;
GRANT USAGE, CREATE ON SCHEMA public TO supabase_admin;
GRANT USAGE ON SCHEMA extensions
    TO supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin;
-- dashboard_user: may look at the schemas, owns and reads nothing.
GRANT USAGE ON SCHEMA public, auth, storage, realtime, extensions TO dashboard_user;

-- The services run `CREATE SCHEMA IF NOT EXISTS <their schema>` in their own
-- migrations, which checks CREATE on the database before noticing the schema
-- exists; supabase_admin (postgres-meta) also creates extensions and owns the
-- publication, both of which need it.
DO $$
BEGIN
    EXECUTE format(
        'GRANT CREATE ON DATABASE %I TO supabase_auth_admin, supabase_storage_admin, '
        'supabase_realtime_admin, supabase_admin',
        current_database()
    );
END
$$;

-- Tables made in public through the dashboard/postgres-meta (as supabase_admin)
-- are reachable through the API; row level security decides which rows.
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON TABLES TO service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO anon, authenticated, service_role;
