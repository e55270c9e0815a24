-- IP addresses as numbers, in plain SQL (DuckDB's `inet` extension is not available offline).
-- One 128-bit space for both families: IPv4 a.b.c.d is ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so a
-- single range join serves IPv4 and IPv6. Anything that is not an address gives NULL.
-- Zone ids (fe80::1%eth0) and brackets ([2001:db8::1]) are ignored.
-- Macros expand textually, so a value used several times is bound once with
-- list_transform([value], lambda x: ...)[1] (a "let"), keeping the expanded SQL small.

CREATE OR REPLACE MACRO inv_ipv4_num(s) AS
    CASE WHEN regexp_full_match(s, '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')
    THEN list_reduce(list_transform(string_split(s, '.'), lambda o: CAST(o AS UBIGINT)),
                     lambda a, b: a * 256 + b)
    END;

-- An IPv6 text with an embedded dotted quad (::ffff:192.0.2.1) rewritten to eight hex groups.
CREATE OR REPLACE MACRO inv_ipv6_hexonly(s) AS
    CASE WHEN contains(s, '.') THEN
        list_transform([inv_ipv4_num(regexp_extract(s, '[^:]*$'))], lambda v4:
            regexp_replace(s, '[^:]*$', '') || printf('%x:%x', v4 >> 16, v4 & 65535))[1]
    ELSE s END;

-- The eight groups of a hex-only IPv6 text, with '::' expanded.
CREATE OR REPLACE MACRO inv_ipv6_groups(h) AS
    list_transform([list_transform(string_split(h, '::'), lambda part:
                        CASE WHEN part = '' THEN []::VARCHAR[] ELSE string_split(part, ':') END)],
        lambda parts: CASE WHEN len(parts) = 1 THEN parts[1]
                           -- '::' stands for at least one group
                           WHEN len(parts) = 2 AND len(parts[1]) + len(parts[2]) <= 7 THEN list_concat(parts[1],
                                list_transform(range(8 - len(parts[1]) - len(parts[2])), lambda i: '0'),
                                parts[2])
                      END)[1];

CREATE OR REPLACE MACRO inv_ipv6_num(s) AS
    list_transform([inv_ipv6_hexonly(s)], lambda h:
        list_transform([inv_ipv6_groups(h)], lambda g:
            CASE WHEN h IS NOT NULL AND NOT contains(h, ':::') AND len(g) = 8
                  AND list_bool_and(list_transform(g, lambda x: regexp_full_match(x, '[0-9a-f]{1,4}')))
            THEN list_reduce(list_transform(g, lambda x: CAST('0x' || x AS UHUGEINT)), lambda a, b: a * 65536 + b)
            END)[1])[1];

-- A plain dotted quad (most addresses) takes the short way; anything else is cleaned first.
CREATE OR REPLACE MACRO ip_to_num(s) AS
    CASE WHEN regexp_full_match(s, '[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}')
         THEN CAST(inv_ipv4_num(s) AS UHUGEINT) + CAST(281470681743360 AS UHUGEINT)  -- ::ffff:0:0
         ELSE list_transform([lower(trim(split_part(replace(replace(s, '[', ''), ']', ''), '%', 1)))], lambda c:
            CASE WHEN contains(c, ':') THEN inv_ipv6_num(c)
                 ELSE CAST(inv_ipv4_num(c) AS UHUGEINT) + CAST(281470681743360 AS UHUGEINT)
            END)[1]
    END;
