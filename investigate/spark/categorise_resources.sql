-- question: Which catalogue entry does each distinct resource of the access events fall under?
--   (Spark SQL: the Spark side of categorise_resources in investigate/enrich/locate.py.)
-- reads: access_events, inv_patterns (the catalogue's entries, each with the literal text
--   before its first wildcard and its GLOB pattern as a Java regular expression, made by
--   investigate/spark/enrich.py)
-- returns: resource, data_category, jurisdiction, site, resource_pattern
-- caveats: Written in Spark's dialect, not transpiled: Spark has no GLOB. The most specific
--   matching pattern wins (the catalogue refuses two equally specific patterns that can match
--   the same resource). Candidates are found as in DuckDB: a hash join on the literal prefix,
--   one join key per prefix length; only they are tried with the pattern.
WITH fresh AS (
    SELECT DISTINCT resource FROM access_events WHERE resource IS NOT NULL
),
lengths AS (
    SELECT DISTINCT length(literal) AS n FROM inv_patterns
),
keyed AS (
    SELECT f.resource, l.n, left(f.resource, l.n) AS prefix
    FROM fresh f CROSS JOIN lengths l WHERE length(f.resource) >= l.n
),
matched AS (
    SELECT k.resource, a.data_category, a.jurisdiction, a.site, a.resource_pattern, a.specificity
    FROM keyed k JOIN inv_patterns a ON a.literal = k.prefix AND length(a.literal) = k.n
    WHERE k.resource RLIKE a.regex
)
SELECT f.resource,
       max_by(m.data_category, m.specificity) AS data_category,
       max_by(m.jurisdiction, m.specificity) AS jurisdiction,
       max_by(m.site, m.specificity) AS site,
       max_by(m.resource_pattern, m.specificity) AS resource_pattern
FROM fresh f LEFT JOIN matched m ON m.resource = f.resource
GROUP BY f.resource
