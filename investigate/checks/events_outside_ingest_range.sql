-- rule: Every event lies inside the time range its own ingest recorded (ingests.ts_min to ts_max, both inclusive).
-- returns: table_name, event_id, ts, source_file, ingest_ts_min, ingest_ts_max
-- caveats: An event row names its file by path (source_file = ingests.path, with
--   ingests.target_table the event's table), not by the file's sha256. A path ingested more
--   than once (the file changed between loads) is checked against the envelope of all its
--   ingests: earliest ts_min to latest ts_max. The time checked is ts for access events and
--   ts_start for transfers, the column the loader takes the range from. An event whose file is
--   on no ingest record (rows written outside the loaders), or whose ingests recorded no range,
--   is reported with ingest_ts_min and ingest_ts_max NULL: nothing vouches for its time.
--   The loader records the range from the rows it has just written, so a violation means the
--   rows or the ingests table were changed afterwards, or rows reached the workspace another way.
WITH events AS (
    SELECT 'access_events' AS table_name, event_id, ts, source_file FROM access_events
    UNION ALL
    SELECT 'transfer_events', event_id, ts_start, source_file FROM transfer_events
),
ranges AS (
    SELECT path, target_table, min(ts_min) AS ingest_ts_min, max(ts_max) AS ingest_ts_max
    FROM ingests GROUP BY path, target_table
)
SELECT e.table_name, e.event_id, e.ts, e.source_file, r.ingest_ts_min, r.ingest_ts_max
FROM events e
LEFT JOIN ranges r ON r.path = e.source_file AND r.target_table = e.table_name
WHERE (e.ts BETWEEN r.ingest_ts_min AND r.ingest_ts_max) IS NOT TRUE
ORDER BY e.table_name, e.source_file, e.ts, e.event_id;
