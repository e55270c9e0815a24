-- question: Which people reached protected data from outside its jurisdiction, from when to when, and how much?
-- param start TIMESTAMPTZ: first instant counted (UTC); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param category VARCHAR: data category from the catalogue (e.g. us_user_data); all when omitted
-- returns: actor_id, home_country, team, first_ts, last_ts, accesses, resources, categories, by_network, by_roster, identities
-- caveats: One row per person: a roster id with its aliases merged, or the raw identity where
--   the roster has none (home_country and team are then NULL). Counts the rows of
--   cross_border_access: accesses whose outcome is not 'failure', of catalogued data, from
--   outside its jurisdiction by network or by roster. by_network and by_roster count the accesses
--   each signal places outside (an access placed outside by both counts in both). categories
--   lists the data categories reached, in alphabetical order. An access record shows an
--   account, not a person: a shared or stolen account looks like its owner.
--   Portable form: the lists of categories and identities are made in steps of their own
--   (Spark cannot combine a DISTINCT list with other DISTINCT aggregates in one step).
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts,
           CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($category AS VARCHAR) AS category
),
accesses AS (
    SELECT coalesce(e.roster_actor_id, e.actor_id) AS person, e.*
    FROM access_enriched e, params p
    WHERE e.cross_border
      AND e.outcome IS DISTINCT FROM 'failure'
      AND (p.start_ts IS NULL OR e.ts >= p.start_ts)
      AND (p.end_ts IS NULL OR e.ts < p.end_ts)
      AND (p.category IS NULL OR e.data_category = p.category)
),
-- The distinct categories and identities of each person, as lists.
categories AS (
    SELECT person, string_agg(data_category, ', ' ORDER BY data_category) AS categories
    FROM (SELECT DISTINCT person, data_category FROM accesses) AS d
    GROUP BY person
),
identities AS (
    SELECT person, string_agg(actor_id, ', ' ORDER BY actor_id) AS identities
    FROM (SELECT DISTINCT person, actor_id FROM accesses) AS d
    GROUP BY person
),
totals AS (
    SELECT person,
           any_value(actor_home_country) AS home_country,
           any_value(actor_team) AS team,
           min(ts) AS first_ts,
           max(ts) AS last_ts,
           count(*) AS accesses,
           count(DISTINCT resource) AS resources,
           count(*) FILTER (WHERE cross_border_basis IN ('network', 'both')) AS by_network,
           count(*) FILTER (WHERE cross_border_basis IN ('roster', 'both')) AS by_roster
    FROM accesses
    GROUP BY person
)
SELECT t.person AS actor_id, t.home_country, t.team, t.first_ts, t.last_ts, t.accesses, t.resources,
       c.categories, t.by_network, t.by_roster, i.identities
FROM totals t
LEFT JOIN categories c ON c.person IS NOT DISTINCT FROM t.person
LEFT JOIN identities i ON i.person IS NOT DISTINCT FROM t.person
ORDER BY t.accesses DESC, actor_id;
