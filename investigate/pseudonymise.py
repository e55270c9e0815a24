"""Pseudonyms: actor ids, display names and IP addresses replaced by keyed HMAC-SHA256 digests,
for results that are published or shared. Countries, organisations, sites and every other
enrichment column are left as they are, so a finding still says where an access came from.

A pseudonym is the kind, a dash, and the first hex digits of HMAC-SHA256(key, kind NUL value)::

    actor-3f9a1c2b7d04          an actor id (also a roster id, an alias, a list of identities)
    name-0b6e2a91c4d7           a display name
    ip-5c1d09e8a7f4b2c3         an IP address (16 digits: flow logs hold millions of addresses)

The same value gives the same pseudonym for the same key and kind, in every run and every output;
another key gives other pseudonyms. NULL stays NULL and an empty value stays empty. The value is
hashed as written in the export (``::ffff:10.0.0.1`` and ``10.0.0.1`` are two addresses, as the
queries see them). This is pseudonymisation, not anonymisation: anyone holding the key can
re-identify a pseudonym by hashing candidate values (docs/security.md says what it guarantees).

The key comes from a file (``load_key(path)``, ``$INVESTIGATE_PSEUDONYM_KEY_FILE``) or from
``$INVESTIGATE_PSEUDONYM_KEY``; it is never printed, logged or written. Outputs carry its
*fingerprint* instead: HMAC-SHA256(key, a fixed label), which tells which key was used without
revealing anything about it.

The work is done inside DuckDB (SHA-256 twice over the padded key: the HMAC construction of RFC
2104, vectorised), so a query's result is pseudonymised as it streams, however large.

Examples
--------
>>> key = load_key("case.key")
>>> pseudonymise(ws.df("SELECT * FROM actors"), key)       # a DataFrame
>>> run_query(ws, "cross_border_access", pseudonymise=key)   # a query's result
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from pathlib import Path

import duckdb
import pandas as pd

from .errors import PseudonymisationError, PseudonymKeyError

ENV_KEY_FILE = "INVESTIGATE_PSEUDONYM_KEY_FILE"
ENV_KEY = "INVESTIGATE_PSEUDONYM_KEY"
MIN_KEY_BYTES = 32          # 256 bits when random; also refuses a short passphrase
MAX_KEY_FILE_BYTES = 1024   # a key file holds one key: anything bigger is another file
MAKE_KEY = "python -c \"import secrets; print(secrets.token_hex(32))\" > case.key"

#: kind -> (prefix, hex digits kept). 12 digits (48 bits) keep actor labels short in charts: a
#: collision among 100,000 identities has odds of about 1 in 56,000. Addresses get 16 (64 bits):
#: among 10 million, about 1 in 370,000.
KINDS = {"actor": ("actor-", 12), "name": ("name-", 12), "ip": ("ip-", 16)}

#: How each identifying column of the toolkit's tables, views and queries is pseudonymised.
#: ``actor``, ``name``, ``ip``: the value (each element, for a list column). ``actor list``: text
#: of identities separated by ", " (actor_foreign_access.identities). ``who``: an actor on
#: access rows; on transfer rows an IP address when it is one, else left as it is (a host or
#: site name: policy_breaches.who). ``summary``: the words equal to the row's own identifying
#: values replaced (entity_timeline.summary).
IDENTIFYING_COLUMNS: dict[str, str] = {
    "actor_id": "actor", "roster_actor_id": "actor", "alias": "actor", "identity": "actor",
    "display_name": "name",
    "src_ip": "ip", "dst_ip": "ip", "ip": "ip",
    "identities": "actor list",
    "who": "who",
    "summary": "summary",
}
RULES = (*KINDS, "actor list", "who", "summary")

_FINGERPRINT_LABEL = b"investigate pseudonym key fingerprint v1"  # no NUL: never a pseudonym's message
_IP_RE = r"[0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*"
_W = "__pz_w"  # the lambda's word


class PseudonymKey:
    """A pseudonymisation key. Its ``repr`` shows the fingerprint only; the key itself is never
    printed or written by the toolkit.

    Parameters
    ----------
    key : bytes
        At least :data:`MIN_KEY_BYTES` bytes (e.g. 64 hex digits from ``secrets.token_hex(32)``).
    source : str
        Where it came from, for error messages (a path or an environment variable's name).
    """

    __slots__ = ("_key", "fingerprint", "source")

    def __init__(self, key: bytes, source: str = "the key"):
        if not isinstance(key, bytes):
            raise TypeError("a pseudonymisation key is bytes; load a key file with load_pseudonym_key()")
        if not key:
            raise PseudonymKeyError(f"{source}: the key is empty; make one with: {MAKE_KEY}")
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"{source}: the key is {len(key)} bytes long; a key needs at least "
                                    f"{MIN_KEY_BYTES} (make one with: {MAKE_KEY})")
        self._key = key
        self.source = source
        #: HMAC-SHA256(key, fixed label), 16 hex digits: names the key in outputs.
        self.fingerprint = hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"PseudonymKey(fingerprint={self.fingerprint!r})"

    def pseudonym(self, value, kind: str = "actor") -> str | None:
        """The pseudonym of one value: ``None`` for a missing value, ``""`` for an empty one.

        >>> key.pseudonym("alice")            # doctest: +SKIP
        'actor-3f9a1c2b7d04'
        """
        prefix, digits = _kind(kind)
        if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return None
        text = str(value)
        if text == "":
            return ""
        digest = hmac.new(self._key, kind.encode() + b"\0" + text.encode("utf-8"), hashlib.sha256)
        return prefix + digest.hexdigest()[:digits]

    def _pads(self) -> tuple[bytes, bytes]:
        """RFC 2104's inner and outer padded keys (computed when needed, never kept)."""
        key = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        key = key.ljust(64, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _kind(kind: str) -> tuple[str, int]:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}") from None


# --- the key -----------------------------------------------------------------------------------

def load_key(path: str | os.PathLike | None = None) -> PseudonymKey:
    """The key from ``path``, else from the file named by ``$INVESTIGATE_PSEUDONYM_KEY_FILE``, else
    from ``$INVESTIGATE_PSEUDONYM_KEY`` (the key itself). Surrounding white space (a trailing
    newline) is not part of the key.

    Raises
    ------
    PseudonymKeyError
        No key given, both variables set, a missing, empty, too short or multi-line key.
    """
    if path is not None:
        return _key_file(Path(path), f"{path}")
    named, given = os.environ.get(ENV_KEY_FILE), os.environ.get(ENV_KEY)
    if named is not None and given is not None:
        raise PseudonymKeyError(f"both ${ENV_KEY_FILE} and ${ENV_KEY} are set; set one of them")
    if named is not None:
        if not named.strip():
            raise PseudonymKeyError(f"${ENV_KEY_FILE} is set but empty; set it to the key file's path")
        return _key_file(Path(named), f"{named} (${ENV_KEY_FILE})")
    if given is not None:
        return PseudonymKey(given.strip().encode("utf-8"), f"${ENV_KEY}")
    raise PseudonymKeyError(
        f"pseudonymising needs a key: give a key file (--pseudonym-key-file FILE), or set "
        f"${ENV_KEY_FILE} to its path or ${ENV_KEY} to the key; make one with: {MAKE_KEY}")


def _key_file(path: Path, source: str) -> PseudonymKey:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise PseudonymKeyError(f"{source}: not a file; give the path of a key file")
        if size > MAX_KEY_FILE_BYTES:
            raise PseudonymKeyError(f"{source}: {size:,} bytes is not a key file (one key, at most "
                                    f"{MAX_KEY_FILE_BYTES} bytes); is it the right file?")
        data = path.read_bytes().strip()
    except FileNotFoundError:
        raise PseudonymKeyError(f"{source}: no such key file; make one with: {MAKE_KEY}") from None
    except OSError as exc:
        raise PseudonymKeyError(f"{source}: cannot read the key file ({exc.strerror})") from None
    if b"\n" in data or b"\r" in data:
        raise PseudonymKeyError(f"{source}: a key file holds one line, the key; this one has several")
    return PseudonymKey(data, source)


def resolve_key(option) -> PseudonymKey | None:
    """What a ``pseudonymise=`` option means: ``None``/``False`` none; ``True`` the key from the
    environment; a path a key file; a :class:`PseudonymKey` itself."""
    if option is None or option is False:
        return None
    if option is True:
        return load_key()
    if isinstance(option, PseudonymKey):
        return option
    if isinstance(option, (str, os.PathLike)):
        return load_key(option)
    raise TypeError("pseudonymise takes True (key from the environment), a key file's path or a "
                    f"PseudonymKey; got {type(option).__name__}")


# --- SQL ---------------------------------------------------------------------------------------

def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _hash_sql(value: str, kind: str) -> str:
    """SQL for the pseudonym of the VARCHAR expression ``value`` (NULL stays NULL)."""
    prefix, digits = _kind(kind)
    digest = f"sha256($__pz_outer || unhex(sha256($__pz_{kind} || encode({value}))))"
    return f"(CASE WHEN {value} = '' THEN '' ELSE '{prefix}' || left({digest}, {digits}) END)"


def _rules(names, columns: dict | None) -> dict[str, str]:
    rules = dict(IDENTIFYING_COLUMNS)
    for name, rule in (columns or {}).items():
        if rule is not None and rule not in RULES:
            raise ValueError(f"column {name!r}: the rule must be one of {', '.join(RULES)} or None; got {rule!r}")
        rules[name] = rule
    return {n: rules[n] for n in names if rules.get(n)}


def _replacements(types: dict[str, str], columns: dict | None) -> tuple[dict[str, str], set[str]]:
    """column -> the SQL expression of its pseudonymised value; and the kinds used."""
    rules = _rules(types, columns)
    exprs: dict[str, str] = {}
    kinds: set[str] = set()
    for name, rule in rules.items():
        col = _ident(name)
        text = f"CAST({col} AS VARCHAR)"
        if rule in KINDS:
            if types[name].endswith("[]"):
                exprs[name] = f"list_transform({col}, lambda {_W}: {_hash_sql(f'CAST({_W} AS VARCHAR)', rule)})"
            else:
                exprs[name] = _hash_sql(text, rule)
            kinds.add(rule)
        elif rule == "actor list":
            exprs[name] = (f"array_to_string(list_transform(string_split({text}, ', '), "
                           f"lambda {_W}: {_hash_sql(_W, 'actor')}), ', ')")
            kinds.add("actor")
        elif rule == "who":
            actor = _hash_sql(text, "actor")
            kinds.add("actor")
            if "table_name" in types:
                exprs[name] = (f"CASE WHEN table_name = 'access_events' THEN {actor} "
                               f"WHEN regexp_full_match({text}, '{_IP_RE}') THEN {_hash_sql(text, 'ip')} "
                               f"ELSE {text} END")
                kinds.add("ip")
            else:
                exprs[name] = actor
        elif rule == "summary":
            words = [(n, r) for n, r in rules.items() if r in KINDS and not types[n].endswith("[]")]
            if not words:
                raise PseudonymisationError(
                    f"column {name!r} is text that may name people or addresses, and the result has no "
                    f"identifying column (actor_id, src_ip, ...) to find them by; leave the column out "
                    f"of the result, or pass columns={{{name!r}: None}} to keep it as it is")
            whens = " ".join(f"WHEN {_W} = CAST({_ident(n)} AS VARCHAR) THEN {_hash_sql(_W, r)}"
                             for n, r in words)
            exprs[name] = (f"array_to_string(list_transform(string_split({text}, ' '), "
                           f"lambda {_W}: CASE {whens} ELSE {_W} END), ' ')")
            kinds.update(r for _, r in words)
    return exprs, kinds


def _params(key: PseudonymKey, kinds: set[str]) -> dict[str, bytes]:
    inner, outer = key._pads()
    params = {"__pz_outer": outer}
    for kind in kinds:
        params[f"__pz_{kind}"] = inner + kind.encode() + b"\0"
    return params


def _statement(text: str) -> str:
    """A query's text as a subquery: without its trailing semicolon and comments."""
    lines = text.rstrip().splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("--")):
        lines.pop()
    return re.sub(r";\s*(--[^\n]*)?$", "", "\n".join(lines).rstrip())


def wrap_sql(con: duckdb.DuckDBPyConnection, text: str, params: dict | None, key: PseudonymKey,
             columns: dict | None = None) -> tuple[str, dict]:
    """The query ``text`` with its identifying columns pseudonymised, and its parameters (the
    query's own, and the padded keys, bound: never pasted into the SQL). The result has the same
    columns in the same order and rows; a query with no identifying column comes back unchanged.
    """
    inner = _statement(text)
    probe = con.execute(f"SELECT * FROM (\n{inner}\n) LIMIT 0", params or None)
    types = {d[0]: str(d[1]) for d in probe.description}
    exprs, kinds = _replacements(types, columns)
    if not exprs:
        return text, dict(params or {})
    replace = ", ".join(f"{expr} AS {_ident(name)}" for name, expr in exprs.items())
    sql = f"SELECT * REPLACE ({replace}) FROM (\n{inner}\n) AS __pz_result"
    return sql, {**(params or {}), **_params(key, kinds)}


# --- DataFrames --------------------------------------------------------------------------------

ATTR = "investigate_pseudonym_key"  # DataFrame.attrs: the fingerprint of the key used


def mark(df: pd.DataFrame, key: PseudonymKey | None) -> pd.DataFrame:
    """Record on ``df.attrs`` which key pseudonymised it (so it is not done twice)."""
    if key is not None:
        df.attrs[ATTR] = key.fingerprint
    return df


def pseudonymise(df: pd.DataFrame, key=True, *, columns: dict | None = None) -> pd.DataFrame:
    """A copy of ``df`` with its identifying columns pseudonymised (see :data:`IDENTIFYING_COLUMNS`);
    every other column, countries and organisations included, as it was.

    Parameters
    ----------
    df : pandas.DataFrame
        E.g. a query's result, or a table read from the workspace.
    key : PseudonymKey, path or True
        The key, a key file, or ``True`` (default): the key from the environment.
    columns : dict, optional
        More columns, or other rules: ``{"employee": "actor", "summary": None}`` (``None``: leave
        the column as it is). Rules: ``actor``, ``name``, ``ip``, ``actor list``, ``who``,
        ``summary``.

    Examples
    --------
    >>> df = investigate.pseudonymise(ws.df("SELECT * FROM actors"), "case.key")
    """
    key = resolve_key(key)
    if key is None:
        raise PseudonymKeyError("pseudonymise needs a key (True: from the environment, or a key file)")
    done = df.attrs.get(ATTR)
    if done == key.fingerprint:
        return df.copy()
    if done is not None:
        raise PseudonymisationError(f"this table is already pseudonymised, with key {done}; "
                                    f"pseudonymise the original rows with key {key.fingerprint}")
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    try:
        con.register("__pz_frame", df)
        types = {d[0]: str(d[1]) for d in con.execute("SELECT * FROM __pz_frame LIMIT 0").description}
        exprs, kinds = _replacements(types, columns)
        out = df.copy()
        if exprs:
            select = ", ".join(f"{expr} AS {_ident(name)}" for name, expr in exprs.items())
            result = con.execute(f"SELECT {select} FROM __pz_frame", _params(key, kinds)).df()
            for name in exprs:
                values = result[name].to_numpy()
                out[name] = (pd.array(values, dtype=df[name].dtype)
                             if isinstance(df[name].dtype, pd.StringDtype) else values)
    finally:
        con.close()
    return mark(out, key)


def pseudonymise_value(column: str, value, key: PseudonymKey, columns: dict | None = None):
    """What ``value`` becomes in ``column`` (to select rows of a pseudonymised result by a value
    written in clear). A column that is not identifying keeps its value."""
    rule = _rules([column], columns).get(column)
    if rule is None:
        return value
    if rule in KINDS:
        return key.pseudonym(value, rule)
    if rule == "who":
        return key.pseudonym(value, "ip" if re.fullmatch(_IP_RE, str(value)) else "actor")
    raise PseudonymisationError(f"rows cannot be selected by {column!r} once pseudonymised (its "
                                f"identities are inside text); select them by actor_id, src_ip, ...")


def identity_in(source, value) -> str | None:
    """What ``value`` is in the workspace's events or roster (``an actor identity``, ``an IP
    address``, ``a display name``), or None: for parameters that would be published in clear.
    ``source``: a workspace, or a Spark source (:mod:`investigate.engines`)."""
    from .engines import exists

    if not isinstance(value, str) or not value:
        return None
    checks = (
        ("an actor identity", "SELECT 1 FROM actors WHERE actor_id = $v UNION ALL "
                              "SELECT 1 FROM actor_aliases WHERE alias = $v UNION ALL "
                              "SELECT 1 FROM access_events WHERE actor_id = $v"),
        ("a display name", "SELECT 1 FROM actors WHERE display_name = $v"),
        ("an IP address", "SELECT 1 FROM access_events WHERE src_ip = $v UNION ALL "
                          "SELECT 1 FROM transfer_events WHERE src_ip = $v OR dst_ip = $v"),
    )
    for what, sql in checks:
        if exists(source, sql, {"v": value}):
            return what
    return None


def describe(fingerprint: str | None) -> str:
    """One sentence for outputs: whether identities are pseudonymised, and with which key (its
    fingerprint)."""
    if fingerprint is None:
        return ("Not pseudonymised: actor ids, display names and IP addresses are shown as they "
                "appear in the logs.")
    return (f"Pseudonymised: actor ids, display names and IP addresses are shown as keyed pseudonyms "
            f"(HMAC-SHA256, key fingerprint {fingerprint}); countries, organisations and sites "
            f"are not. Anyone holding the key can re-identify them.")
