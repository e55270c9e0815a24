-- question: Where does the bundled registry place the public addresses no range holds? (Spark
--   SQL: the registry's answers joined back, as investigate/enrich/locate.py does in DuckDB.)
-- param label VARCHAR: the registry's name as country_source shows it (with its version)
-- reads: inv_located (the addresses as locate_addresses.sql placed them), inv_registry (ip,
--   registry_country: the bundled registry's answers, asked on the driver)
-- returns: ip, ip_class, country, country_source, org, site, kind, cidr, network_source
SELECT l.ip, l.ip_class, coalesce(l.country, r.registry_country) AS country,
       CASE WHEN l.country IS NULL AND r.registry_country IS NOT NULL THEN :label
            ELSE l.country_source END AS country_source,
       l.org, l.site, l.kind, l.cidr, l.network_source
FROM inv_located l LEFT JOIN inv_registry r ON r.ip = l.ip
