-- question: Where do the logs fall silent: runs of whole UTC days with no events, per table and source format?
-- param start TIMESTAMPTZ: first instant looked at (UTC); from each table's first event when omitted
-- param end TIMESTAMPTZ: first instant no longer looked at (UTC); to each table's last event when omitted
-- param min_days BIGINT = 1: the shortest gap reported, in days
-- returns: table_name, source_format, gap_start, gap_end, days
-- caveats: A gap means no record was exported for those days: it may be an outage, a
--   collection failure or an export filter, and it is not evidence that nothing happened.
--   Gaps are looked for between the first and last day with events (or start/end when given).
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($min_days AS BIGINT) AS min_days
),
events AS (
    SELECT 'access_events' AS table_name, source_format, ts FROM access_events
    UNION ALL
    SELECT 'transfer_events', source_format, ts_start FROM transfer_events
),
days AS (
    SELECT DISTINCT table_name, source_format, CAST(ts AS DATE) AS day
    FROM events, params p
    WHERE (p.start_ts IS NULL OR ts >= p.start_ts) AND (p.end_ts IS NULL OR ts < p.end_ts)
),
bounds AS (
    SELECT table_name, source_format,
           coalesce(CAST(any_value(p.start_ts) AS DATE), min(day)) AS first_day,
           coalesce(CAST(any_value(p.end_ts) - INTERVAL 1 MICROSECOND AS DATE), max(day)) AS last_day
    FROM days, params p GROUP BY table_name, source_format
),
calendar AS (
    SELECT b.table_name, b.source_format, CAST(d.day AS DATE) AS day
    FROM bounds b, LATERAL (SELECT unnest(generate_series(b.first_day, b.last_day, INTERVAL 1 DAY)) AS day) d
),
silent AS (
    SELECT c.* FROM calendar c
    ANTI JOIN days USING (table_name, source_format, day)
),
islands AS (
    -- consecutive silent days share (day - row number)
    SELECT *, day - CAST(row_number() OVER (PARTITION BY table_name, source_format ORDER BY day) AS INTEGER) AS grp
    FROM silent
)
SELECT table_name, source_format, min(day) AS gap_start, max(day) AS gap_end, count(*) AS days
FROM islands, params p
GROUP BY table_name, source_format, grp, p.min_days
HAVING count(*) >= p.min_days
ORDER BY table_name, source_format, gap_start;
