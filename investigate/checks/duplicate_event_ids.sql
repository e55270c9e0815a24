-- rule: No event_id occurs more than once within an event table.
-- returns: table_name, event_id, occurrences, source_files
-- caveats: event_id is the source's own id where it has one (a CloudTrail eventID, a job id),
--   else one the loader derives from the record. A repeat within one file is a duplicated
--   record (or an id the source reuses); a repeat across files (source_files lists them,
--   distinct, sorted) is usually the same events delivered twice, as overlapping exports or a
--   log shipped under two names, and counts them twice in every query. The same id in the
--   access and the transfer table is not a repeat. Ids are compared exactly (case matters).
SELECT table_name, event_id, count(*) AS occurrences,
       list(DISTINCT source_file ORDER BY source_file) AS source_files
FROM (SELECT 'access_events' AS table_name, event_id, source_file FROM access_events
      UNION ALL
      SELECT 'transfer_events', event_id, source_file FROM transfer_events)
GROUP BY table_name, event_id
HAVING count(*) > 1
ORDER BY table_name, occurrences DESC, event_id;
