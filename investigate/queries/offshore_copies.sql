-- question: Which copies of a data category went to sites outside its jurisdiction, per period and destination?
-- param start TIMESTAMPTZ: first instant counted (UTC, by transfer start); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param category VARCHAR: the dataset / data category (e.g. us_user_data); every catalogued category when omitted
-- param after TIMESTAMPTZ: only transfers starting at or after this instant (e.g. a policy date)
-- param grain VARCHAR = month {day|week|month}: length of a period, in UTC
-- returns: period, dst_country, dst_site, dst_org, flows, bytes, first_ts, last_ts, data_category, jurisdiction
-- caveats: A transfer counts when what it carries is known and its destination address lies in
--   a known network of another country than that data's jurisdiction. What it carries is the
--   dataset the export names (a catalogued category), else what the catalogue says its source
--   site or host holds ('site:<name>' entries): a flow log names no dataset, so a flow out of a
--   site that holds several kinds of data cannot be attributed and is not counted. Failed
--   transfers are left out. A category whose entries name different jurisdictions is
--   ambiguous and not counted.
--   Portable form: the grain is written s.grain (a bare name in date_trunc would be read as
--   a unit when the query is transpiled for Spark).
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($category AS VARCHAR) AS category, CAST($after AS TIMESTAMPTZ) AS after_ts,
           CAST($grain AS VARCHAR) AS grain
),
scope AS (
    SELECT t.*, p.grain
    FROM transfer_enriched t, params p
    WHERE t.data_jurisdiction IS NOT NULL
      AND t.dst_country IS NOT NULL AND t.dst_country <> t.data_jurisdiction
      AND t.outcome IS DISTINCT FROM 'failure'
      AND (p.category IS NULL OR t.data_category = p.category)
      AND (p.start_ts IS NULL OR t.ts_start >= p.start_ts)
      AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
      AND (p.after_ts IS NULL OR t.ts_start >= p.after_ts)
)
SELECT CAST(date_trunc(s.grain, ts_start) AS DATE) AS period, dst_country, dst_site, dst_org,
       count(*) AS flows, CAST(sum(bytes) AS BIGINT) AS bytes, min(ts_start) AS first_ts, max(ts_start) AS last_ts,
       data_category, data_jurisdiction AS jurisdiction
FROM scope s
GROUP BY ALL
ORDER BY period, dst_country, dst_site;
