-- question: What did one actor, address, resource or site do, event by event, in time order?
-- param entity VARCHAR required: an actor (roster id or any of its aliases: all of the person's identities are followed), an IP address, a resource, or a site
-- param start TIMESTAMPTZ: first instant shown (UTC; an access's time, a transfer's start); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer shown (UTC); to the end when omitted
-- returns: ts, table_name, event_id, summary, matched_as, actor_id, src_ip, src_country, dst_ip, dst_country, resource, data_category, bytes, outcome, source_file, source_record
-- caveats: The entity is matched exactly (case and all) against actor identities, source and
--   destination addresses, resources and sites; matched_as says how each row matched. An
--   address is matched as written in the export: the same address written another way
--   (::ffff:10.0.0.1 for 10.0.0.1, an IPv6 address in another case or abbreviation) is not
--   found. summary is a sentence for reading; use the other columns for counting.
WITH params AS (
    SELECT CAST($entity AS VARCHAR) AS entity,
           CAST($start AS TIMESTAMPTZ) AS start_ts,
           CAST($end AS TIMESTAMPTZ) AS end_ts
),
-- Every identity of the person the entity names (itself when it is in no roster).
person AS (
    SELECT i.identity FROM actor_identities i, params p
    WHERE i.actor_id = (SELECT actor_id FROM actor_identities WHERE identity = p.entity)
    UNION SELECT entity FROM params
),
accesses AS (
    SELECT e.ts, 'access_events' AS table_name, e.event_id,
           CASE WHEN e.actor_id IN (SELECT identity FROM person) THEN 'actor'
                WHEN e.src_ip = p.entity THEN 'address'
                WHEN e.resource = p.entity THEN 'resource'
                ELSE 'site' END AS matched_as,
           concat_ws(' ', coalesce(e.actor_id, 'unknown actor'),
                     coalesce(e.action, e.raw_action, 'did something to'),
                     coalesce(e.resource, 'an unknown resource'),
                     'from ' || coalesce(e.src_ip, 'an unknown address')
                         || coalesce(' (' || nullif(concat_ws(', ', e.src_country, e.src_site), '') || ')', ''),
                     CASE WHEN e.outcome = 'failure' THEN '(refused)' END,
                     CASE WHEN e.bytes IS NOT NULL THEN '(' || e.bytes || ' bytes)' END) AS summary,
           e.actor_id, e.src_ip, e.src_country, NULL::VARCHAR AS dst_ip, NULL::VARCHAR AS dst_country,
           e.resource, e.data_category, e.bytes, e.outcome, e.source_file, e.source_record
    FROM access_enriched e, params p
    WHERE (e.actor_id IN (SELECT identity FROM person) OR e.src_ip = p.entity
           OR e.resource = p.entity OR e.src_site = p.entity)
      AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
      AND (p.end_ts IS NULL OR e.ts < p.end_ts)
),
transfers AS (
    SELECT t.ts_start, 'transfer_events', t.event_id,
           CASE WHEN p.entity IN (t.src_ip, t.dst_ip) THEN 'address'
                WHEN p.entity IN (t.src_host, t.dst_host) THEN 'host'
                ELSE 'site' END,
           concat_ws(' ', coalesce(t.dataset, t.data_category, 'data'), 'from',
                     coalesce(t.src_host, t.src_ip, 'an unknown address')
                         || coalesce(' (' || nullif(concat_ws(', ', t.src_country, t.src_site), '') || ')', ''),
                     'to', coalesce(t.dst_host, t.dst_ip, 'an unknown address')
                         || coalesce(' (' || nullif(concat_ws(', ', t.dst_country, t.dst_site), '') || ')', ''),
                     CASE WHEN t.outcome = 'failure' THEN '(failed)' END,
                     CASE WHEN t.bytes IS NOT NULL THEN '(' || t.bytes || ' bytes)' END),
           NULL, t.src_ip, t.src_country, t.dst_ip, t.dst_country, NULL, t.data_category, t.bytes,
           t.outcome, t.source_file, t.source_record
    FROM transfer_enriched t, params p
    WHERE p.entity IN (t.src_ip, t.dst_ip, t.src_host, t.dst_host, t.src_site, t.dst_site)
      AND (p.start_ts IS NULL OR t.ts_start >= p.start_ts)
      AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
)
SELECT ts, table_name, event_id, summary, matched_as, actor_id, src_ip, src_country, dst_ip, dst_country,
       resource, data_category, bytes, outcome, source_file, source_record
FROM (SELECT * FROM accesses UNION ALL SELECT * FROM transfers)
ORDER BY ts, table_name, event_id;
