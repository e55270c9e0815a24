-- The enriched views: events joined with the reference tables, inside DuckDB.
-- Each distinct address and resource is looked up once, then joined back to the events.
-- Unknowns stay NULL: an address in no network, an actor in no roster, a resource in no
-- catalogue entry is never guessed.

-- Address -> the most specific network containing it (smallest range wins).
CREATE OR REPLACE VIEW ip_locations AS
WITH addresses AS (
    SELECT src_ip AS ip FROM access_events WHERE src_ip IS NOT NULL
    UNION SELECT src_ip FROM transfer_events WHERE src_ip IS NOT NULL
    UNION SELECT dst_ip FROM transfer_events WHERE dst_ip IS NOT NULL
),
numbered AS (SELECT ip, ip_to_num(ip) AS n FROM addresses)
SELECT numbered.ip,
       arg_min({'country': nw.country, 'org': nw.org, 'site': nw.site, 'kind': nw.kind,
                'source': nw.source, 'cidr': nw.cidr}, nw.ip_end - nw.ip_start) AS net
FROM numbered JOIN networks nw ON numbered.n BETWEEN nw.ip_start AND nw.ip_end
GROUP BY numbered.ip;

-- Any identity (roster id or alias) -> the person in the roster.
CREATE OR REPLACE VIEW actor_identities AS
SELECT actor_id AS identity, actor_id, home_country, team FROM actors
UNION ALL
SELECT al.alias, ac.actor_id, ac.home_country, ac.team
FROM actor_aliases al JOIN actors ac ON ac.actor_id = al.actor_id;

-- Resource -> the most specific catalogue entry matching it (longest literal part wins).
CREATE OR REPLACE VIEW resource_categories AS
WITH resources AS (SELECT DISTINCT resource FROM access_events WHERE resource IS NOT NULL)
SELECT r.resource,
       arg_max({'category': a.data_category, 'jurisdiction': a.jurisdiction, 'site': a.site},
               a.specificity) AS cat
FROM resources r JOIN assets a ON r.resource GLOB a.resource_pattern
GROUP BY r.resource;

CREATE OR REPLACE VIEW access_enriched AS
WITH joined AS (
    SELECT e.*,
           loc.net.country AS src_country, loc.net.org AS src_org, loc.net.site AS src_site,
           loc.net.source AS src_geo_source,
           who.actor_id AS roster_actor_id, who.home_country AS actor_home_country,
           who.team AS actor_team,
           rc.cat.category AS data_category, rc.cat.jurisdiction AS data_jurisdiction
    FROM access_events e
    LEFT JOIN ip_locations loc ON loc.ip = e.src_ip
    LEFT JOIN actor_identities who ON who.identity = e.actor_id
    LEFT JOIN resource_categories rc ON rc.resource = e.resource
),
flags AS (
    SELECT *,
           coalesce(src_country <> data_jurisdiction, false) AS network_outside,
           coalesce(actor_home_country <> data_jurisdiction, false) AS home_outside
    FROM joined
)
SELECT * EXCLUDE (network_outside, home_outside),
       CASE WHEN data_jurisdiction IS NULL THEN NULL
            WHEN network_outside OR home_outside THEN true
            WHEN src_country IS NULL AND actor_home_country IS NULL THEN NULL
            ELSE false END AS cross_border,
       CASE WHEN network_outside AND home_outside THEN 'both'
            WHEN home_outside THEN 'roster'
            WHEN network_outside THEN 'network' END AS cross_border_basis,
       -- The country the access counts under: where the person is based when that is outside
       -- the jurisdiction, otherwise where the network says the request came from.
       CASE WHEN home_outside THEN actor_home_country
            WHEN network_outside THEN src_country END AS access_country,
       (src_country IS NOT NULL AND actor_home_country IS NOT NULL
        AND src_country <> actor_home_country) AS location_conflict
FROM flags;

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
           s.net.country AS src_country, s.net.org AS src_org, s.net.site AS src_site,
           s.net.kind AS src_kind,
           d.net.country AS dst_country, d.net.org AS dst_org, d.net.site AS dst_site,
           d.net.kind AS dst_kind
    FROM transfer_events t
    LEFT JOIN ip_locations s ON s.ip = t.src_ip
    LEFT JOIN ip_locations d ON d.ip = t.dst_ip
)
SELECT l.*,
       coalesce(cj.data_category, hs.data_category, hh.data_category) AS data_category,
       coalesce(cj.jurisdiction, hs.jurisdiction, hh.jurisdiction) AS data_jurisdiction,
       CASE WHEN l.src_country IS NULL OR l.dst_country IS NULL THEN NULL
            ELSE l.src_country <> l.dst_country END AS cross_border
FROM located l
LEFT JOIN category_jurisdictions cj ON cj.data_category = l.dataset
LEFT JOIN site_holdings hs ON hs.site = l.src_site
LEFT JOIN site_holdings hh ON hh.site = l.src_host;
