"""Catalogue ties: exact overlap of two DuckDB GLOB patterns (investigate.enrich.globs)."""

from __future__ import annotations

import itertools
import random
import time
from functools import lru_cache

import duckdb
import pytest

from investigate.enrich.globs import STAR, catalogue_ties, globs_overlap, tokenize
from investigate.enrich.reference import pattern_specificity


def _entry(pattern: str, where: str) -> tuple[str, str, int]:
    return pattern, where, pattern_specificity(pattern)


# --- examples ---------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, expected", [
    ("s3://b/x.csv", "s3://b/x.csv", True),
    ("s3://b/x.csv", "s3://b/y.csv", False),
    ("s3://b/x", "s3://b/x/", False),
    ("s3://b/*", "s3://b/x*", True),
    ("s3://a/*.csv", "s3://a/x*", True),            # s3://a/x.csv
    ("s3://a/*.csv", "s3://b/*", False),
    ("db://p/users.*", "db://p/*.users", True),     # db://p/users.users
    ("db://p/users.*", "db://q/*.users", False),
    ("[a-c]x", "[!b]x", True),                      # ax
    ("[b]x", "[!b]x", False),
    ("[ab]x", "[!ab]x", False),
    ("[a-c]", "[c-e]", True),
    ("[a-b]", "[c-e]", False),
    ("[!a]", "[!b]", True),
    ("?", "*", True),
    ("?", "", False),
    ("*", "", True),
    ("??", "a*", True),
    ("??", "abc*", False),
    ("a*b", "*c*", True),                           # acb: stars on both sides
    ("*a", "b*", True),                             # ba
    ("*ab*", "*ba*", True),                         # aba
    ("a*", "*a", True),
    ("a*a", "a", False),
    ("x*y*z", "*q*", True),
    ("x*y", "*z", False),
    ("s3://b/[", "s3://b/*", False),                # an unclosed class matches nothing in DuckDB
    ("a\\*", "a*", True),                           # the escaped star is a literal '*'
    ("a\\*", "ab", False),
    ("site:ams-1", "site:ams-1", True),
    ("site:ams-1", "site:ams-2", False),
    ("site:ams-?", "s3://*", False),
])
def test_overlap_examples(a, b, expected):
    assert globs_overlap(a, b) is expected
    assert globs_overlap(b, a) is expected


def test_the_examples_specificities():
    # s3://a/*.csv has 11 literal characters, s3://a/x* has 8: they overlap but do not tie
    assert pattern_specificity("s3://a/*.csv") == 11 and pattern_specificity("s3://a/x*") == 8
    assert pattern_specificity("db://p/users.*") == pattern_specificity("db://p/*.users") == 13


def test_catalogue_ties_only_for_equal_specificity():
    entries = [_entry("s3://b/*", "catalogue.csv:2"),
               _entry("s3://b/x*", "catalogue.csv:3"),
               _entry("s3://a/*.csv", "catalogue.csv:4"),
               _entry("s3://a/x*", "catalogue.csv:5"),
               _entry("db://p/users.*", "catalogue.csv:6"),
               _entry("db://p/*.users", "catalogue.csv:7"),
               _entry("s3://a/xyzw*", "catalogue.csv:8"),
               _entry("site:ams-1", "catalogue.csv:9"),
               _entry("site:ams-?", "catalogue.csv:10"),
               _entry("site:ams-x", "catalogue.csv:11")]
    # 2 vs 3 and 4 vs 5 overlap with different specificity; 9 and 11 tie in specificity only
    assert catalogue_ties(entries) == [("catalogue.csv:4", "catalogue.csv:8"),
                                       ("catalogue.csv:6", "catalogue.csv:7")]


def test_site_entries_are_literal_patterns():
    # site:ams-1 and site:ams-x have equal specificity but match different strings: no tie
    entries = [_entry("site:ams-1", "a:1"), _entry("site:ams-x", "a:2"), _entry("site:ams?1", "a:3")]
    assert catalogue_ties(entries) == []
    assert catalogue_ties([_entry("site:a*", "a:1"), _entry("site:*b", "a:2")]) == [("a:1", "a:2")]


def test_the_same_pattern_twice_is_left_to_the_loader():
    assert catalogue_ties([_entry("s3://b/*", "x:1"), _entry("s3://b/*", "x:2")]) == []


def test_ties_keep_input_order_and_pair_every_overlap():
    entries = [_entry("*a", "1"), _entry("b*", "2"), _entry("c*", "3")]
    assert catalogue_ties(entries) == [("1", "2"), ("1", "3")]


def test_long_patterns_are_fast():
    # no common string, so the whole (i, j) space is explored: ~200 x 200 states
    a = "s3://" + "*a" * 100 + "x"
    b = "s3://" + "*a" * 100 + "y"
    c = "s3://" + "?" * 95 + "*" + "a?" * 50
    started = time.perf_counter()
    assert globs_overlap(a, b) is False
    assert globs_overlap(a, c) is True
    assert globs_overlap("[a-z]" * 40 + "*", "*" + "[!a-y]" * 40) is True
    assert time.perf_counter() - started < 2.0


def test_catalogue_of_thousands_groups_by_specificity():
    entries = [_entry(f"s3://bucket-{i:04d}/data/*", f"c:{i}") for i in range(2000)]
    started = time.perf_counter()
    assert catalogue_ties(entries) == []
    assert time.perf_counter() - started < 10.0


# --- against DuckDB ---------------------------------------------------------------------------

def _duckdb_matches(pairs: list[tuple[str, str]]) -> list[bool]:
    strings, patterns = (list(column) for column in zip(*pairs))
    query = ("SELECT s GLOB p FROM (SELECT unnest(range(?)) AS k, unnest(?::VARCHAR[]) AS s, "
             "unnest(?::VARCHAR[]) AS p) ORDER BY k")  # unnest walks the lists in step
    return [r[0] for r in duckdb.connect().execute(query, [len(pairs), strings, patterns]).fetchall()]


def _token_match(s: str, pattern: str) -> bool:
    """Match a string against the tokens of ``tokenize`` (the model the overlap search uses)."""
    tokens = tokenize(pattern)

    @lru_cache(maxsize=None)
    def match(i: int, j: int) -> bool:
        if j == len(tokens):
            return i == len(s)
        if tokens[j] is STAR:
            return match(i, j + 1) or (i < len(s) and match(i + 1, j))
        if i == len(s):
            return False
        inside = any(lo <= ord(s[i]) <= hi for lo, hi in tokens[j].ranges)
        return inside != tokens[j].negated and match(i + 1, j + 1)

    return match(0, 0)


def test_tokenizer_reads_patterns_as_duckdb_does():
    # brackets, negation, ranges, escapes, unclosed classes: the quirks the parser must mirror
    rng = random.Random(20240601)
    chars = "ab-]![\\*?/é"
    pairs = [("".join(rng.choice(chars) for _ in range(rng.randint(0, 4))),
              "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))) for _ in range(4000)]
    expected = _duckdb_matches(pairs)
    wrong = [(s, p, e) for (s, p), e in zip(pairs, expected) if _token_match(s, p) != e]
    assert wrong == []


_TOKENS = ["a", "b", "/", "*", "?", "[ab]", "[!a]", "[!b/]", "[a-b]", "[/]"]
# 'c' stands for every character the patterns do not name: they all behave alike
_STRING_ALPHABET = "ab/c"


def _non_star_tokens(pattern: str) -> int:
    return sum(token is not STAR for token in tokenize(pattern))


def test_overlap_agrees_with_brute_force_over_duckdb():
    rng = random.Random(7)
    pairs = [tuple("".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 4))) for _ in range(2))
             for _ in range(400)]
    # A common string, if any, is at most this long: each character read passes a non-star token
    # of one pattern or of both (so at most 8 with 4 tokens a pattern).
    bounds = [_non_star_tokens(a) + _non_star_tokens(b) for a, b in pairs]
    strings = ["".join(t) for n in range(max(bounds) + 1) for t in itertools.product(_STRING_ALPHABET, repeat=n)]
    con = duckdb.connect()
    con.execute("CREATE TABLE strs AS SELECT unnest(?::VARCHAR[]) AS s", [strings])
    con.execute("CREATE TABLE pairs AS SELECT unnest(range(?)) AS k, unnest(?::VARCHAR[]) AS a, "
                "unnest(?::VARCHAR[]) AS b, unnest(?::INTEGER[]) AS bound",
                [len(pairs), [a for a, _ in pairs], [b for _, b in pairs], bounds])
    brute = dict(con.execute("""
        SELECT k, bool_or(s GLOB a AND s GLOB b) FROM pairs JOIN strs ON length(s) <= bound
        GROUP BY k""").fetchall())
    disagreements = [(a, b, brute[k]) for k, (a, b) in enumerate(pairs) if globs_overlap(a, b) != brute[k]]
    assert disagreements == []
    assert 50 < sum(brute.values()) < 350, "the generator should give both outcomes often"


def test_prefilter_keeps_every_tie():
    # catalogue_ties skips pairs by literal prefix and suffix; it must find what all pairs find
    rng = random.Random(11)
    parts = ["s3://", "a", "b", "/", "*", "?", "[ab]", ".csv"]
    patterns = sorted({"".join(rng.choice(parts) for _ in range(rng.randint(1, 5))) for _ in range(300)})
    entries = [_entry(p, f"c:{k}") for k, p in enumerate(patterns)]
    naive = [(wa, wb) for (pa, wa, sa), (pb, wb, sb) in itertools.combinations(entries, 2)
             if sa == sb and pa != pb and globs_overlap(pa, pb)]
    assert catalogue_ties(entries) == naive and len(naive) > 20
