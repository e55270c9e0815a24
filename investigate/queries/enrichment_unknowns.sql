-- question: How many events could enrichment not place (address, person, data, rule), and why?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- returns: table_name, signal, reason, events
-- caveats: Unknowns are never guessed, so every finding built on a signal leaves these events
--   out of it; report them with the finding. An address with no country is either special
--   (private, documentation... and not in the analyst's inventory), invalid, or public but in no
--   loaded source; an event without an address has no network signal at all.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts
),
access AS (
    SELECT a.* FROM access_enriched a, params p
    WHERE (p.start_ts IS NULL OR a.ts >= p.start_ts) AND (p.end_ts IS NULL OR a.ts < p.end_ts)
),
transfer AS (
    SELECT t.* FROM transfer_enriched t, params p
    WHERE (p.start_ts IS NULL OR t.ts_start >= p.start_ts) AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
),
unknowns AS (
    SELECT 'access_events' AS table_name, 'network' AS signal,
           CASE WHEN src_ip IS NULL THEN 'no address in the event'
                ELSE src_ip_class || ' address in no loaded source' END AS reason
    FROM access WHERE src_country IS NULL
    UNION ALL
    SELECT 'access_events', 'roster',
           CASE WHEN actor_id IS NULL THEN 'no actor in the event' ELSE 'actor not in the roster' END
    FROM access WHERE actor_home_country IS NULL
    UNION ALL
    SELECT 'access_events', 'catalogue',
           CASE WHEN resource IS NULL THEN 'no resource in the event' ELSE 'resource matches no catalogue pattern' END
    FROM access WHERE data_category IS NULL
    UNION ALL
    SELECT 'access_events', 'policy', 'no rule in force for the data category at that time'
    FROM access WHERE data_category IS NOT NULL AND policy_rule IS NULL
    UNION ALL
    SELECT 'transfer_events', 'network (source)',
           CASE WHEN src_ip IS NULL THEN 'no address in the event'
                ELSE src_ip_class || ' address in no loaded source' END
    FROM transfer WHERE src_country IS NULL
    UNION ALL
    SELECT 'transfer_events', 'network (destination)',
           CASE WHEN dst_ip IS NULL THEN 'no address in the event'
                ELSE dst_ip_class || ' address in no loaded source' END
    FROM transfer WHERE dst_country IS NULL
    UNION ALL
    SELECT 'transfer_events', 'data category', 'no dataset named, and the source site holds no catalogued data'
    FROM transfer WHERE data_category IS NULL
)
SELECT table_name, signal, reason, count(*) AS events
FROM unknowns
GROUP BY ALL
ORDER BY table_name, signal, events DESC, reason;
