-- question: Which single accesses moved an unusually large amount of data (bulk exports)?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param min_bytes BIGINT = 1000000000: an access counts when it moved at least this many bytes...
-- param min_records BIGINT: ...or returned at least this many records (ignored when omitted)
-- returns: event_id, ts, actor_id, roster_actor_id, resource, bytes, records, actor_median_bytes, action, outcome, data_category, src_country, actor_home_country
-- caveats: Failed attempts are left out. actor_median_bytes is the median size of all the
--   actor's reported accesses in the whole workspace (not only the period, and this one
--   included), so a bulk access stands against that actor's usual size. Events that report no bytes and
--   no records never count.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($min_bytes AS BIGINT) AS min_bytes, CAST($min_records AS BIGINT) AS min_records
),
usual AS (
    SELECT actor_id, median(bytes) AS actor_median_bytes
    FROM access_events WHERE bytes IS NOT NULL AND outcome IS DISTINCT FROM 'failure'
    GROUP BY actor_id
)
SELECT e.event_id, e.ts, e.actor_id, e.roster_actor_id, e.resource, e.bytes, e.records, u.actor_median_bytes,
       e.action, e.outcome, e.data_category, e.src_country, e.actor_home_country
FROM access_enriched e
CROSS JOIN params p
LEFT JOIN usual u ON u.actor_id IS NOT DISTINCT FROM e.actor_id
WHERE e.outcome IS DISTINCT FROM 'failure'
  AND ((p.min_bytes IS NOT NULL AND e.bytes >= p.min_bytes)
       OR (p.min_records IS NOT NULL AND e.records >= p.min_records))
  AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
  AND (p.end_ts IS NULL OR e.ts < p.end_ts)
ORDER BY e.bytes DESC NULLS LAST, e.ts;
