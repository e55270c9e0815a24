-- question: Which access events came from a network in another country than the actor's home country (a VPN, a jump host, travel)?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- returns: event_id, ts, actor_id, roster_actor_id, actor_home_country, src_ip, src_country, src_site, src_org, resource, data_category, outcome
-- caveats: Every event counts, failed attempts included. A conflict needs both signals: an
--   address in no known network, or an actor missing from the roster, is never a conflict. The
--   network country is where the address is registered or, for the analyst's own inventory,
--   where the company says it is; it is not a measured location.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts
)
SELECT e.event_id, e.ts, e.actor_id, e.roster_actor_id, e.actor_home_country, e.src_ip, e.src_country, e.src_site,
       e.src_org, e.resource, e.data_category, e.outcome
FROM access_enriched e, params p
WHERE e.location_conflict
  AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
  AND (p.end_ts IS NULL OR e.ts < p.end_ts)
ORDER BY e.ts, e.event_id;
