-- 0004_realtime_publication: the publication realtime listens to.
--
-- Created empty; tables are added later (ALTER PUBLICATION ... ADD TABLE needs
-- the publication's owner to also own the table, hence supabase_admin, the
-- owner role postgres-meta uses). Creating it needs CREATE on the database.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime') THEN
        CREATE PUBLICATION supabase_realtime;
    END IF;
END
$$;

ALTER PUBLICATION supabase_realtime OWNER TO supabase_admin;
