-- 0001_roles: the Supabase roles, their attributes, memberships and session defaults.
--
-- Runs as a NON-superuser with CREATEROLE and CREATEDB (the RDS master user).
-- PG15: CREATEROLE may create/alter/grant any non-superuser role.
-- PG16+: the creator gets ADMIN OPTION on the roles it creates, which is what
-- the ALTER/GRANT statements below need.
-- Attributes that need superuser to touch (SUPERUSER, REPLICATION, BYPASSRLS)
-- are deliberately not named in ALTER ROLE: naming them at all is refused.

-- Create missing roles, then force the attributes we rely on (also on roles
-- that existed before, so a hand-made role cannot keep LOGIN or CREATEROLE).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT * FROM (VALUES
            ('anon',                    false),
            ('authenticated',           false),
            ('service_role',            false),
            ('dashboard_user',          false),
            ('authenticator',           true),
            ('supabase_auth_admin',     true),
            ('supabase_storage_admin',  true),
            ('supabase_realtime_admin', true),
            ('supabase_admin',          true)
        ) AS t(name, can_login)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I', r.name);
        END IF;
        EXECUTE format(
            'ALTER ROLE %I %s NOINHERIT NOCREATEROLE NOCREATEDB',
            r.name,
            CASE WHEN r.can_login THEN 'LOGIN' ELSE 'NOLOGIN' END
        );
    END LOOP;
END
$$;

-- PostgREST logs in as authenticator and switches to the role named in the JWT.
GRANT anon, authenticated, service_role TO authenticator;

-- storage-api and realtime evaluate RLS by switching to the caller's role.
GRANT anon, authenticated, service_role TO supabase_storage_admin;
GRANT anon, authenticated, service_role TO supabase_realtime_admin;

-- The bootstrap user must be a member of a role to create schemas owned by it,
-- to hand objects over to it and to set its default privileges.
GRANT supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin, supabase_admin
    TO CURRENT_USER;

-- realtime streams changes through a logical replication slot, which needs the
-- REPLICATION attribute (superuser-only) or, on RDS, membership in rds_replication.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rds_replication') THEN
        GRANT rds_replication TO supabase_realtime_admin;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'supabase_realtime_admin was not granted rds_replication: %', SQLERRM;
END
$$;

-- Session defaults (apply at login; PostgREST also applies them on SET ROLE).
ALTER ROLE supabase_auth_admin SET search_path = auth;
ALTER ROLE supabase_auth_admin SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE supabase_storage_admin SET search_path = storage;
ALTER ROLE supabase_realtime_admin SET search_path = _realtime;
ALTER ROLE supabase_admin SET search_path = public, extensions;
ALTER ROLE authenticator SET statement_timeout = '8s';
ALTER ROLE authenticator SET lock_timeout = '8s';
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';

-- service_role is meant to bypass RLS. Only a superuser may grant BYPASSRLS on
-- vanilla PostgreSQL (PG16+: a role that has BYPASSRLS itself; on RDS the
-- rds_superuser master can). If refused, carry on: the engine reports it as a
-- warning and an operator can run `ALTER ROLE service_role BYPASSRLS` later.
DO $$
BEGIN
    IF NOT (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        ALTER ROLE service_role BYPASSRLS;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'service_role was not given BYPASSRLS: %', SQLERRM;
END
$$;
