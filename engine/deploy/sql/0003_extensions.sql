-- 0003_extensions: extensions the services need, in schema `extensions`.
--
-- pgcrypto and uuid-ossp are trusted extensions (PG13+): anyone with CREATE on
-- the database may install them. Each is created only if the server ships it.
DO $$
DECLARE
    ext text;
BEGIN
    FOREACH ext IN ARRAY ARRAY['pgcrypto', 'uuid-ossp'] LOOP
        IF EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = ext) THEN
            EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA extensions', ext);
        ELSE
            RAISE NOTICE 'extension % is not available on this server; skipped', ext;
        END IF;
    END LOOP;
END
$$;

-- pg_stat_statements is not trusted: superuser on vanilla PostgreSQL,
-- rds_superuser on RDS. Best effort; the engine warns when it is missing.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_stat_statements was not created: %', SQLERRM;
END
$$;
