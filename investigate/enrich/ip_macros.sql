-- IP addresses as numbers, in plain SQL (DuckDB's `inet` extension is not available offline).
-- One 128-bit space for both families: IPv4 a.b.c.d is ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so a
-- single range join serves IPv4 and IPv6. Anything that is not an address gives NULL.
-- Zone ids (fe80::1%eth0) and brackets ([2001:db8::1]) are ignored.

CREATE OR REPLACE MACRO inv_ipv4_num(s) AS
    CASE WHEN regexp_full_match(s, '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')
    THEN (CAST(split_part(s, '.', 1) AS UBIGINT) << 24) + (CAST(split_part(s, '.', 2) AS UBIGINT) << 16)
       + (CAST(split_part(s, '.', 3) AS UBIGINT) << 8) + CAST(split_part(s, '.', 4) AS UBIGINT)
    END;

-- An IPv6 text with an embedded dotted quad (::ffff:192.0.2.1) rewritten to eight hex groups.
CREATE OR REPLACE MACRO inv_ipv6_hexonly(s) AS
    CASE WHEN contains(s, '.') THEN
        regexp_replace(s, '[^:]*$', '')
        || printf('%x:%x', inv_ipv4_num(regexp_extract(s, '[^:]*$')) >> 16,
                           inv_ipv4_num(regexp_extract(s, '[^:]*$')) & 65535)
    ELSE s END;

CREATE OR REPLACE MACRO inv_ipv6_groups(h) AS
    CASE WHEN NOT contains(h, '::') THEN string_split(h, ':')
    ELSE list_concat(
        CASE WHEN split_part(h, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(h, '::', 1), ':') END,
        list_transform(range(8 - len(CASE WHEN split_part(h, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(h, '::', 1), ':') END)
                               - len(CASE WHEN split_part(h, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(h, '::', 2), ':') END)),
                       lambda i: '0'),
        CASE WHEN split_part(h, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(h, '::', 2), ':') END)
    END;

CREATE OR REPLACE MACRO inv_ipv6_num(s) AS
    CASE WHEN regexp_full_match(inv_ipv6_hexonly(s), '[0-9a-f:]{2,39}')
          AND length(inv_ipv6_hexonly(s)) - length(replace(inv_ipv6_hexonly(s), '::', '')) <= 2
          AND NOT contains(inv_ipv6_hexonly(s), ':::')
          AND len(inv_ipv6_groups(inv_ipv6_hexonly(s))) = 8
          AND list_bool_and(list_transform(inv_ipv6_groups(inv_ipv6_hexonly(s)), lambda g: regexp_full_match(g, '[0-9a-f]{1,4}')))
    THEN list_reduce(list_transform(inv_ipv6_groups(inv_ipv6_hexonly(s)), lambda g: CAST('0x' || g AS UHUGEINT)),
                     lambda a, b: a * 65536 + b)
    END;

CREATE OR REPLACE MACRO inv_ip_clean(s) AS
    lower(trim(split_part(replace(replace(s, '[', ''), ']', ''), '%', 1)));

CREATE OR REPLACE MACRO ip_to_num(s) AS
    CASE WHEN contains(inv_ip_clean(s), ':') THEN inv_ipv6_num(inv_ip_clean(s))
         ELSE CAST(inv_ipv4_num(inv_ip_clean(s)) AS UHUGEINT) + CAST(281470681743360 AS UHUGEINT)  -- ::ffff:0:0
    END;
