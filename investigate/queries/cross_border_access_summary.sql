-- question: How many accesses to protected data came from outside the data's jurisdiction, per period and country?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param category VARCHAR: data category from the catalogue (e.g. us_user_data); all when omitted
-- param grain VARCHAR = month {day|week|month}: length of a period, in UTC (weeks start on Monday)
-- returns: period, access_country, data_category, accesses, actors, resources, bytes, first_ts, last_ts
-- caveats: An access is an access event whose outcome is not 'failure' (a NULL outcome counts).
--   access_country is the actor's home country (roster) when that lies outside the data's
--   jurisdiction, otherwise the country of the source network. Events whose resource matches no
--   catalogue entry, or whose actor and address are both unknown, are not counted: check the
--   coverage of the catalogue and roster before quoting a total. actors counts roster persons
--   (aliases merged), or raw identities where the roster has none. bytes is NULL when no event in
--   the row reported bytes. An access record shows an account, not a person.
--   Portable form: the grain is written s.grain (a bare name in date_trunc would be read as
--   a unit when the query is transpiled for Spark).
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts,
           CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($category AS VARCHAR) AS category,
           CAST($grain AS VARCHAR) AS grain
),
scope AS (
    SELECT e.*, p.grain
    FROM access_enriched e, params p
    WHERE e.cross_border
      AND e.outcome IS DISTINCT FROM 'failure'
      AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
      AND (p.end_ts IS NULL OR e.ts < p.end_ts)
      AND (p.category IS NULL OR e.data_category = p.category)
)
SELECT CAST(date_trunc(s.grain, ts) AS DATE) AS period,
       access_country,
       data_category,
       count(*) AS accesses,
       count(DISTINCT coalesce(roster_actor_id, actor_id)) AS actors,
       count(DISTINCT resource) AS resources,
       CAST(sum(bytes) AS BIGINT) AS bytes,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM scope s
GROUP BY ALL
ORDER BY period, access_country, data_category;
