-- The enriched views: events joined with the reference tables, inside DuckDB.
-- Each distinct address and resource is looked up once, then joined back to the events.
-- Unknowns stay NULL: an address in no network, an actor in no roster, a resource in no
-- catalogue entry is never guessed.

-- Addresses and resources are looked up once each, into the tables address_locations and
-- resource_categories (investigate/enrich/locate.py); the views join those.

-- Any identity (roster id or alias) -> the person in the roster.
CREATE OR REPLACE VIEW actor_identities AS
SELECT actor_id AS identity, actor_id, home_country, team FROM actors
UNION ALL
SELECT al.alias, ac.actor_id, ac.home_country, ac.team
FROM actor_aliases al JOIN actors ac ON ac.actor_id = al.actor_id;

-- The policy rule in force for a data category, as contiguous periods: where rules overlap,
-- the one that took effect last (of two from the same instant, the greater id). A period with
-- no rule has rule_id NULL. An open end is NULL: period_start NULL is "from the beginning",
-- period_end NULL "for ever" (portable: Spark has no infinite timestamps, and the pick is a
-- window, not arg_max over a tuple).
CREATE OR REPLACE VIEW policy_periods AS
WITH bounds AS (
    SELECT data_category, effective_from AS t FROM policy
    UNION SELECT data_category, effective_to FROM policy WHERE effective_to IS NOT NULL
    UNION SELECT data_category, NULL FROM policy
),
periods AS (
    SELECT data_category, t AS period_start,
           lead(t) OVER (PARTITION BY data_category ORDER BY t NULLS FIRST) AS period_end
    FROM bounds
),
ranked AS (
    SELECT pe.data_category, pe.period_start, pe.period_end, p.rule_id,
           row_number() OVER (PARTITION BY pe.data_category, pe.period_start
                              ORDER BY p.effective_from DESC NULLS LAST, p.rule_id DESC NULLS LAST) AS pick
    FROM periods pe LEFT JOIN policy p
         ON p.data_category = pe.data_category
        AND (p.effective_from IS NULL OR p.effective_from <= pe.period_start)
        AND (p.effective_to IS NULL OR p.effective_to >= pe.period_end)
)
SELECT data_category, period_start, period_end, rule_id FROM ranked WHERE pick = 1;

CREATE OR REPLACE VIEW access_enriched AS
WITH joined AS (
    SELECT e.*,
           loc.country AS src_country, loc.org AS src_org, loc.site AS src_site,
           loc.ip_class AS src_ip_class, loc.country_source AS src_geo_source,
           who.actor_id AS roster_actor_id, who.home_country AS actor_home_country,
           who.team AS actor_team,
           rc.data_category, rc.jurisdiction AS data_jurisdiction
    FROM access_events e
    LEFT JOIN address_locations loc ON loc.ip = e.src_ip
    LEFT JOIN actor_identities who ON who.identity = e.actor_id
    LEFT JOIN resource_categories rc ON rc.resource = e.resource
),
-- Outside by network: coalesce(src_country <> data_jurisdiction, false); outside by roster:
-- coalesce(actor_home_country <> data_jurisdiction, false). Written out where used (portable:
-- Spark has no SELECT * EXCLUDE to drop helper columns).
marked AS (
    SELECT *,
       CASE WHEN data_jurisdiction IS NULL THEN NULL
            WHEN coalesce(src_country <> data_jurisdiction, false)
              OR coalesce(actor_home_country <> data_jurisdiction, false) THEN true
            WHEN src_country IS NULL AND actor_home_country IS NULL THEN NULL
            ELSE false END AS cross_border,
       CASE WHEN coalesce(src_country <> data_jurisdiction, false)
             AND coalesce(actor_home_country <> data_jurisdiction, false) THEN 'both'
            WHEN coalesce(actor_home_country <> data_jurisdiction, false) THEN 'roster'
            WHEN coalesce(src_country <> data_jurisdiction, false) THEN 'network' END AS cross_border_basis,
       -- The country the access counts under: where the person is based when that is outside
       -- the jurisdiction, otherwise where the network says the request came from.
       CASE WHEN coalesce(actor_home_country <> data_jurisdiction, false) THEN actor_home_country
            WHEN coalesce(src_country <> data_jurisdiction, false) THEN src_country END AS access_country,
       (src_country IS NOT NULL AND actor_home_country IS NOT NULL
        AND src_country <> actor_home_country) AS location_conflict
FROM joined
)
-- The policy rule in force at the event's time. A breach: a successful access from a country
-- (by network or by roster) the rule does not allow; NULL when neither country is known or no
-- rule applies. A refused access is not a breach (nothing was read).
SELECT m.*, pp.rule_id AS policy_rule,
       CASE WHEN pp.rule_id IS NULL THEN NULL
            WHEN p.access_countries IS NULL OR m.outcome = 'failure' THEN false
            WHEN (m.src_country IS NOT NULL AND NOT list_contains(p.access_countries, m.src_country))
              OR (m.actor_home_country IS NOT NULL
                  AND NOT list_contains(p.access_countries, m.actor_home_country)) THEN true
            WHEN m.src_country IS NULL AND m.actor_home_country IS NULL THEN NULL
            ELSE false END AS policy_breach
FROM marked m
LEFT JOIN policy_periods pp
       ON pp.data_category = m.data_category
      AND (pp.period_start IS NULL OR m.ts >= pp.period_start)
      AND (pp.period_end IS NULL OR m.ts < pp.period_end)
LEFT JOIN policy p ON p.rule_id = pp.rule_id;

-- What a transfer carries: the dataset the export names (a category of the catalogue), else
-- what the catalogue says the source site (or host) holds: entries whose pattern is
-- 'site:<name>' ("the storage cluster at site X holds us_user_data").
CREATE OR REPLACE VIEW category_jurisdictions AS
SELECT data_category, min(jurisdiction) AS jurisdiction
FROM assets WHERE jurisdiction IS NOT NULL
GROUP BY data_category HAVING count(DISTINCT jurisdiction) = 1;

CREATE OR REPLACE VIEW site_holdings AS
SELECT substr(resource_pattern, 6) AS site, data_category, jurisdiction
FROM assets WHERE starts_with(resource_pattern, 'site:');

CREATE OR REPLACE VIEW transfer_enriched AS
WITH located AS (
    SELECT t.*,
           s.country AS src_country, s.org AS src_org, s.site AS src_site, s.kind AS src_kind,
           s.ip_class AS src_ip_class, s.country_source AS src_geo_source,
           d.country AS dst_country, d.org AS dst_org, d.site AS dst_site, d.kind AS dst_kind,
           d.ip_class AS dst_ip_class, d.country_source AS dst_geo_source
    FROM transfer_events t
    LEFT JOIN address_locations s ON s.ip = t.src_ip
    LEFT JOIN address_locations d ON d.ip = t.dst_ip
),
categorised AS (
    SELECT l.*,
       coalesce(cj.data_category, hs.data_category, hh.data_category) AS data_category,
       coalesce(cj.jurisdiction, hs.jurisdiction, hh.jurisdiction) AS data_jurisdiction,
       CASE WHEN l.src_country IS NULL OR l.dst_country IS NULL THEN NULL
            ELSE l.src_country <> l.dst_country END AS cross_border
FROM located l
LEFT JOIN category_jurisdictions cj ON cj.data_category = l.dataset
LEFT JOIN site_holdings hs ON hs.site = l.src_site
LEFT JOIN site_holdings hh ON hh.site = l.src_host
)
-- The rule in force when the transfer started. A breach: data of the category arriving in a
-- country where the rule does not allow it to be stored (the route of user traffic, the
-- rule's traffic_orgs, is what the partner_share query measures). A failed transfer (a
-- rejected flow, a failed job) stored nothing and is not a breach.
SELECT c.*, pp.rule_id AS policy_rule,
       CASE WHEN pp.rule_id IS NULL THEN NULL
            WHEN p.storage_countries IS NULL OR c.outcome = 'failure' THEN false
            WHEN c.dst_country IS NULL THEN NULL
            ELSE NOT list_contains(p.storage_countries, c.dst_country) END AS policy_breach
FROM categorised c
LEFT JOIN policy_periods pp
       ON pp.data_category = c.data_category
      AND (pp.period_start IS NULL OR c.ts_start >= pp.period_start)
      AND (pp.period_end IS NULL OR c.ts_start < pp.period_end)
LEFT JOIN policy p ON p.rule_id = pp.rule_id;
