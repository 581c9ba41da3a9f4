-- Keep audit rows up to 8 KB inline (issue #9). A personal-data call's row is ~2.4 KB, most of
-- it the 64-hex fingerprints of its findings; above PostgreSQL's default 2 KB target each such
-- row went through a compression attempt that fails on hex and then out to the TOAST table (a
-- second heap row and index entry per event). The writer creates new day partitions WITH
-- (toast_tuple_target = 8160); this sets the same on the partitions that already exist.
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'audit_events'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (toast_tuple_target = 8160)', part);
    END LOOP;
END
$$;
