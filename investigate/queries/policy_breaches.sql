-- question: Which events broke the policy rule in force at their time, who, what, from where and to where?
-- param start TIMESTAMPTZ: first instant counted (UTC; an access's time, a transfer's start); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- returns: table_name, event_id, ts, rule, who, what, where_from, where_to, data_category, basis, source_file, source_record
-- caveats: An access breaks a rule when it succeeded (or has no outcome) and came from a country
--   the rule does not allow, by network or by the person's home country (basis: network, roster
--   or both; where_from is the network country when that is not allowed, else the home
--   country; where_to is the data's jurisdiction). A transfer breaks a rule when it carried the
--   rule's category (by its dataset, or by what the catalogue says its source site holds) and
--   arrived in a country the rule does not allow storing it in (where_from and where_to: the two
--   ends' countries). A failed access or transfer read or stored nothing and is not a breach.
--   Events whose countries are unknown are never breaches. The rule in force is the one whose
--   dates hold the event's time.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts,
           CAST($end AS TIMESTAMPTZ) AS end_ts
),
access_breaches AS (
    SELECT 'access_events' AS table_name, e.event_id, e.ts, e.policy_rule AS rule,
           coalesce(e.roster_actor_id, e.actor_id) AS who, e.resource AS what,
           e.src_country, e.actor_home_country, e.data_jurisdiction AS where_to, e.data_category,
           r.access_countries, e.source_file, e.source_record
    FROM access_enriched e JOIN policy r ON r.rule_id = e.policy_rule, params p
    WHERE e.policy_breach
      AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
      AND (p.end_ts IS NULL OR e.ts < p.end_ts)
),
marked AS (
    SELECT *,
           coalesce(NOT list_contains(access_countries, src_country), false) AS network_out,
           coalesce(NOT list_contains(access_countries, actor_home_country), false) AS home_out
    FROM access_breaches
)
SELECT table_name, event_id, ts, rule, who, what,
       CASE WHEN network_out THEN src_country ELSE actor_home_country END AS where_from,
       where_to, data_category,
       CASE WHEN network_out AND home_out THEN 'both' WHEN network_out THEN 'network' ELSE 'roster' END AS basis,
       source_file, source_record
FROM marked
UNION ALL
SELECT 'transfer_events', t.event_id, t.ts_start, t.policy_rule,
       coalesce(t.src_host, t.src_site, t.src_ip), coalesce(t.dataset, t.data_category),
       t.src_country, t.dst_country, t.data_category, 'network', t.source_file, t.source_record
FROM transfer_enriched t, params p
WHERE t.policy_breach
  AND (p.start_ts IS NULL OR t.ts_start >= p.start_ts)
  AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
ORDER BY ts, table_name, event_id;
