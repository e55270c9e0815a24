-- rule: No transfer reports negative bytes, or more bytes than one flow or job can plausibly move.
-- param max_gbps DOUBLE = 100: fastest plausible rate of one transfer, in Gbit/s (10^9 bit/s), over its duration; no rate test when NULL
-- param min_seconds DOUBLE = 1: a duration shorter than this (zero included) counts as this long before the rate is taken
-- param max_bytes BIGINT = 1000000000000000: most bytes one transfer can report (10^15, 1 PB), with or without ts_end; no cap when NULL
-- returns: event_id, ts_start, ts_end, bytes, reason
-- caveats: The rate is bytes x 8 over ts_end - ts_start (to the microsecond, at least
--   min_seconds); exactly max_gbps or exactly max_bytes passes. 100 Gbit/s is the speed of the
--   fastest link commonly installed (100 GbE), and one flow or copy job rarely fills its link,
--   so a record above it is much more likely a unit error (bits or kilobytes read as bytes), a
--   wrapped or corrupt counter or a bad duration than real traffic; lower it (e.g. 10) where no
--   link is faster. min_seconds = 1 because flow logs write whole seconds: a flow that starts and
--   ends in the same second shows a duration of zero. Where the duration is unknown (ts_end NULL,
--   or before ts_start) only max_bytes applies: 1 PB is about 22 hours at 100 Gbit/s, more
--   than any single flow or job record should hold. Events without bytes are not judged; failed
--   transfers are (a byte count is wrong whatever the outcome). reason lists every test failed,
--   separated by '; ', with the rate in Gbit/s.
WITH params AS (
    SELECT CAST($max_gbps AS DOUBLE) AS max_gbps, CAST($min_seconds AS DOUBLE) AS min_seconds,
           CAST($max_bytes AS BIGINT) AS max_bytes
),
timed AS (
    SELECT t.event_id, t.ts_start, t.ts_end, t.bytes, p.max_gbps, p.max_bytes,
           CASE WHEN t.ts_end >= t.ts_start
                THEN greatest(CAST(epoch_us(t.ts_end) - epoch_us(t.ts_start) AS DOUBLE),
                              coalesce(p.min_seconds, 0) * 1e6) END AS micros
    FROM transfer_events t, params p
    WHERE t.bytes IS NOT NULL
),
judged AS (
    SELECT event_id, ts_start, ts_end, bytes,
           concat_ws('; ',
               CASE WHEN bytes < 0 THEN 'negative bytes' END,
               CASE WHEN bytes > max_bytes THEN 'more than max_bytes in one transfer' END,
               -- bytes * 8 / (micros / 10^6) > max_gbps * 10^9, without the division
               CASE WHEN bytes > 0 AND bytes * 8e6 > max_gbps * 1e9 * micros
                    THEN printf('%.4g Gbit/s, above max_gbps', bytes * 8e6 / micros / 1e9) END) AS reason
    FROM timed
)
SELECT event_id, ts_start, ts_end, bytes, reason
FROM judged
WHERE reason <> ''
ORDER BY ts_start, event_id;
