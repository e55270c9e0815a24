-- rule: Network entries of the same precedence for the same prefix give the same answer (country, org, site and kind).
-- returns: cidr, precedence, entries, sources, source_seqs, countries, orgs, sites, kinds
-- caveats: Same prefix means the same first address and prefix length (10.0.0.1/8 and
--   10.0.0.0/8 are one prefix). Within one precedence the later entry of a prefix replaces the
--   earlier one whole, NULL fields included (flatten in enrich/locate.py): the entry of the file
--   loaded later (higher source_seq) and, within one file, the later row. So such a conflict is
--   settled by load order, silently. The lists hold every entry of the prefix in load order
--   (NULLs kept), the last being the answer in force; source_seqs (the file's place in the
--   order network files were loaded) tells apart files with the same source label, such as two
--   versions of one provider's file. Entries of different precedences (inventory 10, cloud
--   range files 20, mmdb 30: PRECEDENCE in enrich/locate.py) are the designed layering and are
--   not compared: there the lower precedence answers, field by field. A more specific prefix
--   inside a wider one is the normal way to describe a network, not a conflict. The cloud range
--   files share one precedence, so an AWS and an Azure file naming one prefix differently, or
--   two loaded versions of one provider's file that disagree, are reported.
SELECT min(cidr) AS cidr, precedence, count(*) AS entries,
       list(source ORDER BY source_seq, rowid) AS sources,
       list(source_seq ORDER BY source_seq, rowid) AS source_seqs,
       list(country ORDER BY source_seq, rowid) AS countries,
       list(org ORDER BY source_seq, rowid) AS orgs,
       list(site ORDER BY source_seq, rowid) AS sites,
       list(kind ORDER BY source_seq, rowid) AS kinds
FROM networks
GROUP BY precedence, ip_start, prefix_len
HAVING count(DISTINCT (country, org, site, kind)) > 1
ORDER BY precedence, ip_start, prefix_len;
