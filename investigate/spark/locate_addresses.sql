-- question: Where does each distinct address of the events belong? (Spark SQL: the Spark side
--   of investigate/enrich/locate.py, over the same network_ranges table.)
-- reads: access_events, transfer_events, network_ranges (ip_start/ip_end as 32 hex digits, as
--   exported), inv_special_ranges (the IANA special-purpose prefixes, in the same form)
-- returns: ip, ip_class, country, country_source, org, site, kind, cidr, network_source
-- caveats: Written in Spark's dialect, not transpiled: DuckDB works on 128-bit numbers
--   (UHUGEINT) that Spark does not have; here an address is its 32 zero-padded hex digits, whose
--   text order is the numeric order. The text is read as DuckDB's ip_to_num reads it
--   (investigate/enrich/ip_macros.sql): a plain dotted quad; else brackets and a zone id dropped,
--   trimmed, lower case; IPv4 a.b.c.d is ::ffff:a.b.c.d; anything else is NULL ('invalid').
--   The range holding an address is found as an ASOF join would: the range with the greatest
--   start at or before it (one sort of addresses and range starts per scope), kept when the
--   address is at or before its end.
WITH addresses AS (
    SELECT src_ip AS ip FROM access_events WHERE src_ip IS NOT NULL
    UNION SELECT src_ip FROM transfer_events WHERE src_ip IS NOT NULL
    UNION SELECT dst_ip FROM transfer_events WHERE dst_ip IS NOT NULL
),
cleaned AS (
    SELECT ip,
           CASE WHEN ip RLIKE '^[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$' THEN ip
                ELSE lower(trim(split_part(replace(replace(ip, '[', ''), ']', ''), '%', 1))) END AS c
    FROM addresses
),
-- IPv4 (plain, or the dotted quad at the end of an IPv6 text) as its number; octets as DuckDB's
-- pattern allows them (0-255, no leading zero).
quads AS (
    SELECT ip, c,
           CASE WHEN contains(c, ':') THEN regexp_extract(c, '[^:]*$', 0) ELSE c END AS q
    FROM cleaned
),
v4 AS (
    SELECT ip, c,
           CASE WHEN q RLIKE '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
                THEN aggregate(split(q, '\\.'), CAST(0 AS BIGINT), (acc, o) -> acc * 256 + CAST(o AS BIGINT))
           END AS v4
    FROM quads
),
-- IPv6: the dotted quad rewritten as two hex groups, then the eight groups with '::' expanded.
hexonly AS (
    SELECT ip, c, v4,
           CASE WHEN contains(c, ':') AND contains(c, '.')
                THEN regexp_replace(c, '[^:]*$', '') || format_string('%x:%x', v4 DIV 65536, v4 % 65536)
                WHEN contains(c, ':') THEN c END AS h
    FROM v4
),
halves AS (
    SELECT ip, c, v4, h, split(h, '::') AS parts FROM hexonly
),
sides AS (
    SELECT ip, c, v4, h, parts,
           -- try_element_at: NULL past the end (an index out of range is an error in ANSI mode)
           CASE WHEN try_element_at(parts, 1) = '' THEN CAST(array() AS ARRAY<STRING>)
                ELSE split(try_element_at(parts, 1), ':') END AS l,
           CASE WHEN coalesce(try_element_at(parts, 2), '') = '' THEN CAST(array() AS ARRAY<STRING>)
                ELSE split(try_element_at(parts, 2), ':') END AS r
    FROM halves
),
grouped AS (
    SELECT ip, c, v4, h,
           CASE WHEN size(parts) = 1 THEN split(h, ':')
                WHEN size(parts) = 2 AND size(l) + size(r) <= 7
                THEN concat(l, array_repeat('0', 8 - size(l) - size(r)), r) END AS g
    FROM sides
),
numbered AS (
    SELECT ip,
           CASE WHEN NOT contains(c, ':') THEN
                    CASE WHEN v4 IS NOT NULL
                         THEN '00000000000000000000ffff' || lpad(lower(hex(v4)), 8, '0') END
                WHEN h IS NOT NULL AND NOT contains(h, ':::') AND size(g) = 8
                     AND forall(g, x -> x RLIKE '^[0-9a-f]{1,4}$')
                THEN concat_ws('', transform(g, x -> lpad(x, 4, '0'))) END AS n
    FROM grouped
),
classed AS (
    SELECT a.ip, a.n,
           CASE WHEN a.n IS NULL THEN 'invalid'
                ELSE coalesce(max_by(s.ip_class, s.prefix_length), 'public') END AS ip_class
    FROM numbered a
    LEFT JOIN inv_special_ranges s ON a.n BETWEEN s.ip_start AND s.ip_end
    GROUP BY a.ip, a.n
),
scoped AS (
    SELECT *, CASE WHEN ip_class = 'public' THEN 'all' ELSE 'inventory' END AS scope FROM classed
),
-- ASOF: range starts (kind 0) sort before an address equal to them (kind 1); an address that is
-- no address (n NULL) sorts first and finds no range. Each address row carries what the result
-- needs, so the addresses are worked out once.
keys AS (
    SELECT scope, n AS k, 1 AS kind, ip, ip_class FROM scoped
    UNION ALL
    SELECT CAST(scope AS STRING), ip_start, 0, NULL, NULL FROM network_ranges
),
asof AS (
    SELECT ip, ip_class, scope, kind, k AS n,
           last(CASE WHEN kind = 0 THEN k END, true)
               OVER (PARTITION BY scope ORDER BY k, kind ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS range_start
    FROM keys
)
SELECT a.ip, a.ip_class,
       r.country, r.country_source, r.org, r.site, r.kind, r.cidr, r.network_source
FROM asof a
LEFT JOIN network_ranges r
       ON CAST(r.scope AS STRING) = a.scope AND r.ip_start = a.range_start AND a.n <= r.ip_end
WHERE a.kind = 1
