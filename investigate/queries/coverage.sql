-- question: How many events does each table hold per day and source format?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- returns: day, table_name, source_format, events
-- caveats: Days are UTC days. A day with no events has no row: coverage_gaps lists those.
--   Transfers count by their start time.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts
),
events AS (
    SELECT 'access_events' AS table_name, source_format, ts FROM access_events
    UNION ALL
    SELECT 'transfer_events', source_format, ts_start FROM transfer_events
)
SELECT CAST(ts AS DATE) AS day, table_name, source_format, count(*) AS events
FROM events, params p
WHERE (p.start_ts IS NULL OR ts >= p.start_ts) AND (p.end_ts IS NULL OR ts < p.end_ts)
GROUP BY ALL
ORDER BY day, table_name, source_format;
