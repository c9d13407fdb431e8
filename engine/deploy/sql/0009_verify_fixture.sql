-- 0009_verify_fixture: the table `supa-engine verify` writes, reads, updates and deletes a row
-- in through the REST API, so the check needs no SQL route into the database.
--
-- Reachable by service_role only: no grant to anon or authenticated, and row level security on
-- with a single policy for service_role (which may lack BYPASSRLS where the master cannot grant
-- it). Rows live for one verify run; the table itself stays.
CREATE TABLE IF NOT EXISTS public.supa_engine_verify (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    note text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.supa_engine_verify IS
    'Scratch rows of `supa-engine verify` (service_role only); each run deletes its own row.';

REVOKE ALL ON TABLE public.supa_engine_verify FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.supa_engine_verify TO service_role;

ALTER TABLE public.supa_engine_verify ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS supa_engine_verify_service_role ON public.supa_engine_verify;
CREATE POLICY supa_engine_verify_service_role ON public.supa_engine_verify
    FOR ALL TO service_role USING (true) WITH CHECK (true);

-- A running PostgREST sees the new table without a restart: it rebuilds its schema cache on
-- this notification (delivered when the migration's transaction commits).
NOTIFY pgrst, 'reload schema';
