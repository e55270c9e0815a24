-- question: Which accesses to protected data came from outside the data's jurisdiction, one row per access?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param category VARCHAR: data category from the catalogue (e.g. us_user_data); all when omitted
-- returns: event_id, ts, actor_id, actor_home_country, src_ip, src_country, src_org, resource, data_category, data_jurisdiction, action, outcome, bytes, basis, location_conflict, roster_actor_id, access_country, src_geo_source, table_name, source_file, source_record
-- caveats: The rows behind cross_border_access_summary: an access event whose outcome is not
--   'failure' (a NULL outcome counts), whose resource has a catalogue category, and whose actor's
--   home country (roster) or source network lies outside the data's jurisdiction. basis says
--   which: network, roster or both. location_conflict marks rows where the network country and
--   the home country are both known and differ (a VPN, a jump host, travel). The network country
--   is where the address is registered or where the analyst's inventory says it is
--   (src_geo_source names the source), not a measured location. An access record shows an
--   account, not a person.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts,
           CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($category AS VARCHAR) AS category
)
SELECT e.event_id, e.ts, e.actor_id, e.actor_home_country, e.src_ip, e.src_country, e.src_org,
       e.resource, e.data_category, e.data_jurisdiction, e.action, e.outcome, e.bytes,
       e.cross_border_basis AS basis, e.location_conflict, e.roster_actor_id, e.access_country,
       e.src_geo_source, 'access_events' AS table_name, e.source_file, e.source_record
FROM access_enriched e, params p
WHERE e.cross_border
  AND e.outcome IS DISTINCT FROM 'failure'
  AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
  AND (p.end_ts IS NULL OR e.ts < p.end_ts)
  AND (p.category IS NULL OR e.data_category = p.category)
ORDER BY e.ts, e.event_id;
