-- 0010_verify_storage_policies: lets `supa-engine verify` prove, over HTTP only, that a signed-in
-- user can upload an object with their own token and download it again.
--
-- storage-api decides what a user's token may do by row level security on storage.objects, a
-- table storage-api's own migrations create when it first starts, usually after this bootstrap.
-- So the policies cannot be made here: a function makes them on demand, and verify calls it
-- through PostgREST with the service key before its storage check.
--
-- Why it is shaped this way (least privilege):
-- * Owned by supabase_storage_admin, the owner of storage.objects and so the one role (short of
--   a superuser) that may add policies to it; not by the master user, whose rights are far wider.
--   The master may create it there and hand it over: it is a member of supabase_storage_admin
--   (0001) with INHERIT and, on PostgreSQL 16, SET (the defaults of that GRANT).
-- * In schema storage: PostgREST exposes it (PGRST_DB_SCHEMAS) and its owner may own functions
--   in it; in public, supabase_storage_admin would first need CREATE there.
-- * EXECUTE for service_role only (PUBLIC has it on a new function by default), which may
--   already do anything in storage; search_path pinned and every name qualified, as a SECURITY
--   DEFINER function must.
-- * The policies it makes are fixed (no argument reaches them) and narrow: role authenticated,
--   buckets named supa-engine-verify-* (verify creates them with the service key under a random
--   name and deletes them within the check), and only the caller's own objects: owner_id, which
--   storage-api sets from the token's sub on upload, against the sub of the request's claims.
--   The claims are read as storage-api sets them (request.jwt.claims) rather than through
--   auth.uid(): supabase_storage_admin has no USAGE on schema auth, and needs none.
CREATE OR REPLACE FUNCTION storage.supa_engine_verify_policies()
RETURNS text[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    own_object constant text :=
        'pg_catalog.starts_with(bucket_id, ''supa-engine-verify-'') AND owner_id = (SELECT '
        'NULLIF(pg_catalog.current_setting(''request.jwt.claims'', true), '''')::jsonb ->> ''sub'')';
    wanted constant text[][] := ARRAY[
        ARRAY['supa_engine_verify_own_insert', 'FOR INSERT TO authenticated WITH CHECK (' || own_object || ')'],
        ARRAY['supa_engine_verify_own_select', 'FOR SELECT TO authenticated USING (' || own_object || ')']
    ];
    made text[] := '{}';
BEGIN
    IF pg_catalog.to_regclass('storage.objects') IS NULL THEN
        RAISE EXCEPTION 'storage.objects does not exist yet'
            USING ERRCODE = 'undefined_table',
                  HINT = 'storage-api creates it when it first starts; check the storage pods.';
    END IF;
    FOR i IN 1 .. pg_catalog.array_length(wanted, 1) LOOP
        CONTINUE WHEN EXISTS (
            SELECT FROM pg_catalog.pg_policy
            WHERE polrelid = 'storage.objects'::regclass AND polname = wanted[i][1]);
        BEGIN
            EXECUTE pg_catalog.format('CREATE POLICY %I ON storage.objects %s', wanted[i][1], wanted[i][2]);
            made := made || wanted[i][1];
        EXCEPTION WHEN duplicate_object THEN
            NULL;  -- a concurrent verify run made it first
        END;
    END LOOP;
    RETURN made;
END
$$;

ALTER FUNCTION storage.supa_engine_verify_policies() OWNER TO supabase_storage_admin;
REVOKE ALL ON FUNCTION storage.supa_engine_verify_policies() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION storage.supa_engine_verify_policies() TO service_role;

COMMENT ON FUNCTION storage.supa_engine_verify_policies() IS
    'Makes the storage.objects policies `supa-engine verify` needs (own objects in supa-engine-verify-* '
    'buckets, authenticated only); returns the names of those it created. service_role only.';

-- A running PostgREST lists the function without a restart.
NOTIFY pgrst, 'reload schema';
