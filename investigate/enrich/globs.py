"""Catalogue ties: two glob patterns of equal specificity that can match the same resource.

The data catalogue maps resources to data categories with DuckDB ``GLOB`` patterns and the most
specific pattern wins (specificity = count of literal characters). Two patterns with the same
specificity that both match one resource leave that resource's category to chance, so the loader
must refuse them. Whether two patterns can match a common string is decided exactly here, by a
search over the product of the two patterns' token sequences (no sampling).

The pattern syntax follows what DuckDB's ``GLOB`` does (checked against DuckDB in the tests):

* ``*`` any run of characters, empty and ``/`` included; ``?`` exactly one character;
* ``[abc]``, ``[a-z]``, ``[!abc]`` one character in / not in the class; a ``]`` right after
  ``[`` or ``[!`` is a member; a ``-`` first or last is a member; ``\\`` is literal in a class;
* ``\\x`` outside a class is the literal ``x``;
* an unclosed ``[`` or a trailing ``\\`` makes the pattern match nothing;
* every other character is literal; characters are Unicode code points.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Valid Unicode scalar values: DuckDB strings are UTF-8, so they never hold a surrogate.
_UNIVERSE = ((0, 0xD7FF), (0xE000, 0x10FFFF))


@dataclass(frozen=True)
class CharSet:
    """One pattern position that consumes one character: the code-point ranges it accepts
    (``negated`` = it accepts everything outside them)."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False


STAR = None  # a token that is not a CharSet: any run of characters
ANY = CharSet((), negated=True)
NOTHING = CharSet(())  # an unclosed class or trailing backslash: DuckDB matches no string


def _literal(ch: str) -> CharSet:
    return CharSet(((ord(ch), ord(ch)),))


def _parse_class(pattern: str, i: int) -> tuple[CharSet, int]:
    """Parse the class whose ``[`` is at ``i - 1``; returns the set and the index after ``]``."""
    n = len(pattern)
    negated = i < n and pattern[i] == "!"
    if negated:
        i += 1
    first = i
    ranges: list[tuple[int, int]] = []
    while i < n:
        ch = pattern[i]
        if ch == "]" and i > first:
            return CharSet(tuple(ranges), negated), i + 1
        if i + 2 < n and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            lo, hi = ord(ch), ord(pattern[i + 2])
            if lo <= hi:  # a reversed range accepts nothing
                ranges.append((lo, hi))
            i += 3
        else:
            ranges.append((ord(ch), ord(ch)))
            i += 1
    return NOTHING, n


@lru_cache(maxsize=4096)
def tokenize(pattern: str) -> tuple[CharSet | None, ...]:
    """The pattern as tokens: ``STAR`` (None) or a ``CharSet`` consuming one character.

    Runs of ``*`` are collapsed to one ``STAR``.
    """
    tokens: list[CharSet | None] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if not tokens or tokens[-1] is not STAR:
                tokens.append(STAR)
            i += 1
        elif ch == "?":
            tokens.append(ANY)
            i += 1
        elif ch == "[":
            token, i = _parse_class(pattern, i + 1)
            tokens.append(token)
        elif ch == "\\":
            tokens.append(_literal(pattern[i + 1]) if i + 1 < n else NOTHING)
            i += 2
        else:
            tokens.append(_literal(ch))
            i += 1
    return tuple(tokens)


def _merged(ranges) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-adjacent ranges covering the same code points."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _covered(lo: int, hi: int, merged: list[tuple[int, int]]) -> bool:
    """True when every code point in lo..hi lies in one of the merged ranges."""
    return any(mlo <= lo and hi <= mhi for mlo, mhi in merged)


def _clip_to_universe(ranges) -> list[tuple[int, int]]:
    return [(max(lo, ulo), min(hi, uhi)) for lo, hi in ranges for ulo, uhi in _UNIVERSE
            if max(lo, ulo) <= min(hi, uhi)]


@lru_cache(maxsize=65536)
def sets_intersect(a: CharSet, b: CharSet) -> bool:
    """True when some (valid Unicode) character is accepted by both sets."""
    if not a.negated and not b.negated:
        return any(alo <= bhi and blo <= ahi for alo, ahi in _clip_to_universe(a.ranges)
                   for blo, bhi in _clip_to_universe(b.ranges))
    if a.negated and b.negated:  # the complement of the union must leave a character
        excluded = _merged(list(a.ranges) + list(b.ranges))
        return not all(_covered(lo, hi, excluded) for lo, hi in _UNIVERSE)
    positive, negative = (a, b) if b.negated else (b, a)
    excluded = _merged(negative.ranges)
    return any(not _covered(lo, hi, excluded) for lo, hi in _clip_to_universe(positive.ranges))


def _accepts_something(token: CharSet) -> bool:
    return sets_intersect(token, ANY)


def globs_overlap(a: str, b: str) -> bool:
    """True when some string matches both glob patterns (DuckDB ``GLOB`` semantics).

    Exact: a reachability search over states (i, j) = (tokens of ``a`` consumed, tokens of ``b``
    consumed), each state visited once, so O(len(a) * len(b)). From (i, j) one may let a ``*``
    match nothing more (i + 1 or j + 1), or read one character that both current tokens accept
    (a ``*`` accepts any character and stays). Both patterns are done at (len(a), len(b)).
    """
    ta, tb = tokenize(a), tokenize(b)
    end = (len(ta), len(tb))
    seen = {(0, 0)}
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) == end:
            return True
        for nxt in _moves(ta, tb, i, j):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _moves(ta, tb, i: int, j: int):
    """The states reachable from (i, j) by one step (see ``globs_overlap``)."""
    if i < len(ta) and ta[i] is STAR:
        yield i + 1, j
    if j < len(tb) and tb[j] is STAR:
        yield i, j + 1
    if i == len(ta) or j == len(tb):
        return  # a finished pattern reads no more characters
    x, y = ta[i], tb[j]
    if x is STAR and y is STAR:
        return  # reading a character under both stars leads back to (i, j)
    if x is STAR:
        if _accepts_something(y):
            yield i, j + 1
    elif y is STAR:
        if _accepts_something(x):
            yield i + 1, j
    elif sets_intersect(x, y):
        yield i + 1, j + 1


def _is_literal(token) -> bool:
    return token is not STAR and not token.negated and len(token.ranges) == 1 \
        and token.ranges[0][0] == token.ranges[0][1]


def _literal_end(tokens, reverse: bool = False) -> str:
    """The literal text a pattern's tokens start with (or end with, when ``reverse``)."""
    out = []
    for token in (reversed(tokens) if reverse else tokens):
        if not _is_literal(token):
            break
        out.append(chr(token.ranges[0][0]))
    return "".join(reversed(out) if reverse else out)


def _compatible_suffixes(a: str, b: str) -> bool:
    """Two literal suffixes can end one string only if one ends with the other."""
    return a.endswith(b) or b.endswith(a)


def _candidate_pairs(group: list[tuple[int, str, str]]):
    """Pairs of a group whose literal prefixes and suffixes agree; only these can overlap.

    Sorted by literal prefix, the patterns whose prefix extends pattern k's prefix follow k
    contiguously, so catalogues of distinct paths (``s3://bucket-0001/...``) pair almost nothing.
    """
    keyed = []
    for order, pattern, where in group:
        tokens = tokenize(pattern)
        keyed.append((_literal_end(tokens), _literal_end(tokens, reverse=True), order, pattern, where))
    keyed.sort()
    for k, (prefix, suffix, order, pattern, where) in enumerate(keyed):
        for m in range(k + 1, len(keyed)):
            other_prefix, other_suffix, other_order, other, other_where = keyed[m]
            if not other_prefix.startswith(prefix):
                break
            if _compatible_suffixes(suffix, other_suffix):
                yield (order, pattern, where), (other_order, other, other_where)


def catalogue_ties(entries: list[tuple[str, str, int]]) -> list[tuple[str, str]]:
    """Pairs ``(where_a, where_b)`` of catalogue patterns that tie: equal specificity, different
    pattern text, and some resource matches both. ``where_a`` comes first in ``entries``.

    ``entries`` are ``(pattern, where, specificity)``; ``site:<name>`` entries are patterns like
    any other. The same pattern listed twice is not a tie here (the loader reports it itself).
    Only patterns of equal specificity are compared, and of those only pairs whose literal
    prefixes and suffixes agree get the exact overlap search.
    """
    groups: dict[int, list[tuple[int, str, str]]] = {}
    for order, (pattern, where, specificity) in enumerate(entries):
        groups.setdefault(specificity, []).append((order, pattern, where))
    ties: list[tuple[int, int, str, str]] = []
    for group in groups.values():
        for a, b in _candidate_pairs(group):
            (oa, pa, wa), (ob, pb, wb) = sorted((a, b))
            if pa != pb and globs_overlap(pa, pb):
                ties.append((oa, ob, wa, wb))
    return [(wa, wb) for _, _, wa, wb in sorted(ties)]


def literal_prefix(pattern: str) -> str:
    """The text before the pattern's first wildcard, class or escape: every resource it
    matches starts with it (DuckDB side: ``regexp_extract(pattern, '^[^*?\\[\\\\]*')``)."""
    for i, ch in enumerate(pattern):
        if ch in "*?[\\":
            return pattern[:i]
    return pattern


def _java_set(token: CharSet) -> str:
    if not token.ranges:
        return "." if token.negated else "(?!)"  # every character / none
    if not token.negated and len(token.ranges) == 1 and token.ranges[0][0] == token.ranges[0][1]:
        return f"\\x{{{token.ranges[0][0]:X}}}"
    body = "".join(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in token.ranges)
    return f"[{'^' if token.negated else ''}{body}]"


def to_java_regex(pattern: str) -> str:
    """The GLOB pattern as a Java regular expression matching the same whole strings (Spark's
    ``RLIKE`` has no GLOB): ``*`` is ``.*``, every character is written by its code point, and
    the match is anchored at both ends (``\\z``, not ``$``, which also matches before a final
    line break)."""
    parts = [".*" if token is STAR else _java_set(token) for token in tokenize(pattern)]
    return "(?s)\\A" + "".join(parts) + "\\z"
