-- question: What share of user traffic went to the partner's servers, per period?
-- param start TIMESTAMPTZ: first instant counted (UTC, by flow start); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param grain VARCHAR = month {day|week|month}: length of a period, in UTC (weeks start on Monday)
-- param partner_org VARCHAR: the partner's organisation name as in the networks table (e.g. Ironbridge Cloud)
-- param category VARCHAR: only transfers of this dataset; all user traffic when omitted
-- param src_country VARCHAR: only traffic of user networks in this country; all when omitted
-- returns: period, total_bytes, partner_bytes, share, flows, partner_flows
-- caveats: User traffic is every transfer with one end in a network of kind 'users' (from the
--   analyst's inventory), in either direction (a flow log records requests and responses
--   apart); the partner's part is where the other end is the partner's. Transfers from unknown
--   addresses are not counted, so check the inventory's coverage. Failed or rejected transfers are left out. share is
--   partner_bytes / total_bytes (NULL when no bytes were reported in the period). Bytes are as
--   the export reports them; flow summaries count each direction the way the exporter does.
--   Portable form: the grain is written s.grain (a bare name in date_trunc would be read as
--   a unit when the query is transpiled for Spark).
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts, CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($grain AS VARCHAR) AS grain, CAST($partner_org AS VARCHAR) AS partner_org,
           CAST($category AS VARCHAR) AS category, CAST($src_country AS VARCHAR) AS src_country
),
scope AS (
    SELECT t.*, p.grain,
           coalesce((CASE WHEN t.src_kind = 'users' THEN t.dst_org ELSE t.src_org END) = p.partner_org, false) AS to_partner
    FROM transfer_enriched t, params p
    WHERE coalesce(t.src_kind = 'users', false) <> coalesce(t.dst_kind = 'users', false)
      AND t.outcome IS DISTINCT FROM 'failure'
      AND (p.start_ts IS NULL OR t.ts_start >= p.start_ts)
      AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
      AND (p.category IS NULL OR t.dataset = p.category)
      AND (p.src_country IS NULL OR (CASE WHEN t.src_kind = 'users' THEN t.src_country ELSE t.dst_country END) = p.src_country)
),
per_period AS (
    SELECT CAST(date_trunc(s.grain, ts_start) AS DATE) AS period,
           CAST(sum(bytes) AS BIGINT) AS total_bytes,
           CAST(coalesce(sum(bytes) FILTER (WHERE to_partner), 0) AS BIGINT) AS partner_bytes,
           count(*) AS flows,
           count(*) FILTER (WHERE to_partner) AS partner_flows
    FROM scope s
    GROUP BY ALL
)
SELECT period, total_bytes, partner_bytes,
       CASE WHEN total_bytes > 0 THEN partner_bytes / total_bytes END AS share,
       flows, partner_flows
FROM per_period
ORDER BY period;
