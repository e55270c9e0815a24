-- question: How much data moved between which countries, to which organisations, per period?
-- param start TIMESTAMPTZ: first instant counted (UTC, by transfer start); from the beginning when omitted
-- param end TIMESTAMPTZ: first instant no longer counted (UTC); to the end when omitted
-- param grain VARCHAR = month {day|week|month}: length of a period, in UTC (weeks start on Monday)
-- returns: period, src_country, dst_country, dst_org, flows, bytes, cross_border
-- caveats: Every transfer whose outcome is not 'failure' (a rejected flow or a failed job moved
--   nothing), domestic routes included (cross_border is false for them). An end in no known
--   network has a NULL country or organisation: such rows are kept, never guessed, so the
--   totals add up. Countries are where the addresses are registered or where the analyst's
--   inventory puts them, not measured locations. bytes is NULL when no transfer in the row
--   reported bytes. A flow log sees traffic, not its content.
WITH params AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS start_ts,
           CAST($end AS TIMESTAMPTZ) AS end_ts,
           CAST($grain AS VARCHAR) AS grain
)
SELECT CAST(date_trunc(p.grain, t.ts_start) AS DATE) AS period,
       t.src_country, t.dst_country, t.dst_org,
       count(*) AS flows,
       CAST(sum(t.bytes) AS BIGINT) AS bytes,
       any_value(t.cross_border) AS cross_border
FROM transfer_enriched t, params p
WHERE t.outcome IS DISTINCT FROM 'failure'
  AND (p.start_ts IS NULL OR t.ts_start >= p.start_ts)
  AND (p.end_ts IS NULL OR t.ts_start < p.end_ts)
GROUP BY ALL
ORDER BY period, src_country NULLS LAST, dst_country NULLS LAST, dst_org NULLS LAST;
