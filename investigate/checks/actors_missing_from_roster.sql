-- rule: Every actor identity in the access events is a roster actor_id or alias.
-- returns: actor_id, events, first_ts, last_ts
-- caveats: Identities are matched exactly, as the enriched views match them (actor_identities):
--   'Wei' is not 'wei'. With no roster loaded every identity is reported: none can be placed,
--   and the person-based signal (home country) is missing for all of them, which is what an
--   auditor needs to see rather than a pass. Every event counts, refused ones included
--   (unknown names trying to log in, such as admin or root, are typical). Events without an
--   actor_id are not counted here (enrichment_unknowns counts them).
SELECT e.actor_id, count(*) AS events, min(e.ts) AS first_ts, max(e.ts) AS last_ts
FROM access_events e
WHERE e.actor_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM actor_identities i WHERE i.identity = e.actor_id)
GROUP BY e.actor_id
ORDER BY events DESC, e.actor_id;
