-- question: Which copies of a data category went to sites outside its jurisdiction, per period and destination?
-- param start TIMESTAMPTZ: first instant counted (UTC, by transfer start); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param category VARCHAR: the dataset / data category (e.g. us_user_data); every catalogued category when omitted
-- param after TIMESTAMPTZ: only transfers starting at or after this instant (e.g. a policy date)
-- param grain VARCHAR = month {day|week|month}: length of a period, in UTC
-- returns: period, dst_country, dst_site, dst_org, flows, bytes, first_ts, last_ts, data_category, jurisdiction
-- caveats: A transfer counts when its dataset is a catalogued category whose jurisdiction is
--   known and its destination address lies in a known network of another country. Failed
--   transfers are left out. The jurisdiction of a category is the one its catalogue entries
--   name; a category whose entries name different jurisdictions is not counted (it is ambiguous).
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($category AS VARCHAR) AS category, CAST($after AS TIMESTAMPTZ) AS after_ts,
           CAST($grain AS VARCHAR) AS grain
),
jurisdictions AS (
    SELECT data_category, min(jurisdiction) AS jurisdiction
    FROM assets WHERE jurisdiction IS NOT NULL
    GROUP BY data_category HAVING count(DISTINCT jurisdiction) = 1
),
scope AS (
    SELECT t.*, j.jurisdiction, p.grain
    FROM transfer_enriched t
    JOIN jurisdictions j ON j.data_category = t.dataset, params p
    WHERE t.dst_country IS NOT NULL AND t.dst_country <> j.jurisdiction
      AND t.outcome IS DISTINCT FROM 'failure'
      AND (p.category IS NULL OR t.dataset = p.category)
      AND (p.start_ts IS NULL OR t.ts_start >= p.start_ts)
      AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
      AND (p.after_ts IS NULL OR t.ts_start >= p.after_ts)
)
SELECT CAST(date_trunc(grain, ts_start) AS DATE) AS period, dst_country, dst_site, dst_org,
       count(*) AS flows, CAST(sum(bytes) AS BIGINT) AS bytes, min(ts_start) AS first_ts, max(ts_start) AS last_ts,
       dataset AS data_category, jurisdiction
FROM scope
GROUP BY ALL
ORDER BY period, dst_country, dst_site;
