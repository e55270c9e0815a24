-- rule: Every resource named by an access event matches a catalogue pattern.
-- returns: resource, events, first_ts, last_ts
-- caveats: Read from resource_categories, the lookup the enriched views use (data_category
--   NULL: no pattern matched); a resource missing from that table (events written outside the
--   loaders and not yet looked up: investigate.refresh_views does it) counts as unmatched, as
--   the views see it. With no catalogue loaded every resource is reported: no access can be
--   given a category or jurisdiction, and an auditor should see that rather than a pass.
--   Every event counts, refused ones included. Events without a resource (logins) are not
--   counted. A match says the catalogue covers the resource, not that its category is right.
SELECT e.resource, count(*) AS events, min(e.ts) AS first_ts, max(e.ts) AS last_ts
FROM access_events e
LEFT JOIN resource_categories rc ON rc.resource = e.resource
WHERE e.resource IS NOT NULL AND rc.data_category IS NULL
GROUP BY e.resource
ORDER BY events DESC, e.resource;
