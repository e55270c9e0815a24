"""Reference files: the analyst's network inventory, staff roster, data catalogue and policy.

These files are small and human-made, so they are read in Python with strict checks: a bad row
is an error naming ``file:line`` (a reference table that is silently partial would make every
finding built on it wrong). Each file's sha256 is recorded in ``reference_sources``; loading the
same file twice adds nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from ..errors import ReferenceFileError
from ..loaders.sources import sha256_of
from ..workspace import Workspace
from .globs import catalogue_ties
from .locate import PRECEDENCE, categorise_resources, locate_addresses, rebuild_ranges, to_range
from .network_sources import detect_network_format, read_network_source
from .presets import preset_policy
from .tables import read_rows
from .views import refresh

KINDS = ("networks", "actors", "assets", "policy")


def _inventory_rows(path: Path) -> pd.DataFrame:
    """The analyst's own network inventory: ``cidr,country[,org,site,kind]``."""
    out = []
    for line, row in read_rows(path, ("cidr", "country"), ("org", "site", "kind")):
        try:
            net = ipaddress.ip_network(row["cidr"], strict=False)
        except (ValueError, TypeError):
            raise ReferenceFileError(f"{path}:{line}: {row['cidr']!r} is not an IP network "
                                     "(expected e.g. 10.20.0.0/16 or 2001:db8::/32)") from None
        country = (row.get("country") or "").upper() or None
        if country is not None and len(country) != 2:
            raise ReferenceFileError(f"{path}:{line}: country {row['country']!r} is not an ISO "
                                     "3166-1 alpha-2 code (e.g. US, CN, SG)")
        out.append({"cidr": str(net), "country": country, "org": row.get("org"),
                    "site": row.get("site"), "kind": row.get("kind")})
    return pd.DataFrame(out, columns=["cidr", "country", "org", "site", "kind"])


@dataclass
class _Loaded:
    rows: int
    format: str | None = None
    version: str | None = None
    precedence: int | None = None
    note: str | None = None


def _load_networks(ws: Workspace, path: Path, format: str | None = None) -> _Loaded:
    fmt = format or detect_network_format(path)
    if fmt == "inventory":
        rows, label, version, notes = _inventory_rows(path), f"inventory:{path.name}", None, []
    else:
        src = read_network_source(path, fmt)
        rows, label, version, notes = src.rows, f"{fmt}:{src.name}", src.version, src.notes
    precedence = PRECEDENCE[fmt]
    seq = ws.sql("SELECT count(*) FROM reference_sources WHERE kind = 'networks'").fetchall()[0][0] + 1
    ranges = [to_range(c) for c in rows["cidr"]]
    df = rows.assign(ip_start=[str(r[0]) for r in ranges], ip_end=[str(r[1]) for r in ranges],
                     prefix_len=[r[2] for r in ranges], source=label)
    ws.con.register("__networks_in", df)
    try:
        ws.con.execute("""
            INSERT INTO networks SELECT cidr, CAST(ip_start AS UHUGEINT), CAST(ip_end AS UHUGEINT),
                   prefix_len, country, org, site, kind, source, ?, ? FROM __networks_in""",
                       [precedence, seq])
    finally:
        ws.con.unregister("__networks_in")
    rebuild_ranges(ws)
    locate_addresses(ws, everything=True)
    return _Loaded(len(df), fmt, version, precedence, "; ".join(notes) or None)


def _load_actors(ws: Workspace, path: Path) -> int:
    rows = read_rows(path, ("actor_id", "home_country"), ("display_name", "team", "employer", "aliases"))
    known = {r[0] for r in ws.sql("SELECT actor_id FROM actors UNION ALL SELECT alias FROM actor_aliases").fetchall()}
    actors, aliases = [], []
    for line, row in rows:
        ident = row.get("actor_id")
        if not ident:
            raise ReferenceFileError(f"{path}:{line}: empty actor_id")
        names = [ident] + [a.strip() for a in (row.get("aliases") or "").replace("|", ";").split(";") if a.strip()]
        for name in names:
            if name in known:
                raise ReferenceFileError(f"{path}:{line}: identity {name!r} is already in the roster "
                                         "(as an actor_id or alias); each identity must name one person")
            known.add(name)
        country = (row.get("home_country") or "").upper() or None
        if country is not None and len(country) != 2:
            raise ReferenceFileError(f"{path}:{line}: home_country {row['home_country']!r} is not an "
                                     "ISO 3166-1 alpha-2 code")
        actors.append((ident, row.get("display_name"), country, row.get("team"), row.get("employer")))
        aliases.extend((a, ident) for a in names[1:])
    if actors:
        ws.con.executemany("INSERT INTO actors VALUES (?, ?, ?, ?, ?)", actors)
    if aliases:
        ws.con.executemany("INSERT INTO actor_aliases VALUES (?, ?)", aliases)
    return len(actors)


def pattern_specificity(pattern: str) -> int:
    """How specific a glob pattern is: its count of literal characters."""
    return sum(1 for ch in pattern if ch not in "*?[]")


def _load_assets(ws: Workspace, path: Path) -> int:
    rows = read_rows(path, ("resource_pattern", "data_category"), ("jurisdiction", "site"))
    seen: dict[str, int] = {p: 0 for (p,) in ws.sql("SELECT resource_pattern FROM assets").fetchall()}
    out = []
    for line, row in rows:
        pattern = row.get("resource_pattern")
        if not pattern or not row.get("data_category"):
            raise ReferenceFileError(f"{path}:{line}: resource_pattern and data_category are required")
        if pattern in seen:
            raise ReferenceFileError(f"{path}:{line}: pattern {pattern!r} is listed twice; "
                                     "a resource must belong to one entry")
        seen[pattern] = line
        jurisdiction = (row.get("jurisdiction") or "").upper() or None
        out.append((pattern, row["data_category"], jurisdiction, row.get("site"),
                    pattern_specificity(pattern)))
    _refuse_ties(ws, path, out, [line for line, _ in rows])
    if out:
        ws.con.executemany("INSERT INTO assets VALUES (?, ?, ?, ?, ?)", out)
    categorise_resources(ws, everything=True)
    return len(out)


def _refuse_ties(ws: Workspace, path: Path, new: list[tuple], lines: list[str]) -> None:
    """Two patterns equally specific that can match the same resource leave it without one
    answer: an error at load time, naming both (the catalogue's owner has to decide)."""
    entries = [(p, f"{path.name}:{line}", spec) for (p, *_, spec), line in zip(new, lines)]
    entries += [(p, f"an earlier catalogue ({p})", spec)
                for p, spec in ws.sql("SELECT resource_pattern, specificity FROM assets").fetchall()]
    ties = catalogue_ties(entries)
    if ties:
        a, b = ties[0]
        more = f" (and {len(ties) - 1} more)" if len(ties) > 1 else ""
        raise ReferenceFileError(
            f"{path}: the patterns at {a} and {b} are equally specific and can match the same "
            f"resource{more}; make one of them more specific so every resource has one category")


def _timestamp(path: Path, rule: str, key: str, value):
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ReferenceFileError(f"{path}: rule {rule!r}: {key} {value!r} is not a date or time") from None
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


def _load_policy(ws: Workspace, path: Path) -> int:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ReferenceFileError(f"{path}: cannot be read as YAML ({exc})") from None
    return _policy_rules(ws, path, data)


def _policy_rules(ws: Workspace, path, data) -> int:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ReferenceFileError(f"{path}: expected a YAML table with a 'rules' list")
    out = []
    ids = {r for (r,) in ws.sql("SELECT rule_id FROM policy").fetchall()}
    for i, rule in enumerate(data["rules"], start=1):
        if not isinstance(rule, dict) or not rule.get("id") or not rule.get("data_category"):
            raise ReferenceFileError(f"{path}: rule {i}: 'id' and 'data_category' are required")
        if str(rule["id"]) in ids:  # enriched rows name the rule in force by its id
            raise ReferenceFileError(f"{path}: rule {i}: id {rule['id']!r} is already in use; "
                                     "give each rule its own id")
        ids.add(str(rule["id"]))
        lists = {}
        for key in ("access_countries", "storage_countries", "traffic_orgs"):
            val = rule.get(key)
            if val is not None and not isinstance(val, list):
                raise ReferenceFileError(f"{path}: rule {rule['id']!r}: {key} must be a list")
            lists[key] = None if val is None else [str(v) for v in val]
        out.append((str(rule["id"]), rule.get("description"), str(rule["data_category"]),
                    _timestamp(path, rule["id"], "effective_from", rule.get("effective_from")),
                    _timestamp(path, rule["id"], "effective_to", rule.get("effective_to")),
                    lists["access_countries"], lists["storage_countries"], lists["traffic_orgs"],
                    rule.get("approval_required"), data.get("source") or data.get("name")))
    ws.con.executemany("INSERT INTO policy VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", out)
    return len(out)


_LOADERS = {"networks": _load_networks, "actors": _load_actors, "assets": _load_assets,
            "policy": _load_policy}


def load_reference(ws: Workspace, kind: str, path: str | os.PathLike, format: str | None = None,
                   params: dict | None = None) -> int:
    """Load one reference file; returns the number of rows added (0 if already loaded).

    Parameters
    ----------
    kind : {"networks", "actors", "assets", "policy"}
        networks: the analyst's inventory CSV ``cidr,country[,org,site,kind]``, a cloud
        provider's published range file (AWS ``ip-ranges.json``, Google ``cloud.json``, Azure
        Service Tags, Oracle ``public_ip_ranges.json``) or a ``.mmdb`` database; actors: CSV
        ``actor_id,home_country[,display_name,team,employer,aliases]`` (aliases separated by
        ``;``); assets: CSV ``resource_pattern,data_category[,jurisdiction,site]`` (glob
        patterns); policy: YAML with a ``rules`` list.
        A policy can also be a preset shipped with the package: ``preset:trusted_partner`` or
        ``preset:gdpr_chapter_v`` (see ``investigate.enrich.presets``), with ``params``.
    format : str, optional
        networks only: the file's format (``inventory``, ``aws``, ``google``, ``azure``,
        ``oracle``, ``mmdb``); detected from the content when omitted.
    params : dict, optional
        A preset's parameters, e.g. ``{"partner_org": "Ironbridge Cloud", "effective_from":
        "2022-06-17"}``.
    """
    if kind not in _LOADERS:
        raise ReferenceFileError(f"unknown reference kind {kind!r}; use one of {', '.join(KINDS)}")
    if format is not None and kind != "networks":
        raise ReferenceFileError(f"--format applies to networks files only, not {kind}")
    if str(path).startswith(PRESET_PREFIX):
        if kind != "policy":
            raise ReferenceFileError(f"{path}: presets are policies; load them as policy")
        return _load_preset(ws, str(path).removeprefix(PRESET_PREFIX), params or {})
    if params:
        raise ReferenceFileError(f"{path}: parameters apply to policy presets ({PRESET_PREFIX}NAME) only")
    p = Path(path).absolute()
    if not p.is_file():
        raise ReferenceFileError(f"{p}: no such file")
    sha = sha256_of(p)
    if ws.sql("SELECT count(*) FROM reference_sources WHERE kind = ? AND sha256 = ?", [kind, sha]).fetchone()[0]:
        return 0
    with ws.transaction():
        started = datetime.now(timezone.utc)
        loaded = _LOADERS[kind](ws, p, format) if kind == "networks" else _Loaded(_LOADERS[kind](ws, p))
        # The file was read again by the loader: it must still be the file that was hashed.
        after = sha256_of(p)
        if after != sha:
            raise ReferenceFileError(f"{p}: changed while it was being loaded (sha256 {sha[:16]}... before, "
                                     f"{after[:16]}... after); nothing of it was loaded. Load it again "
                                     "once nothing is writing to it.")
        ws.con.execute("INSERT INTO reference_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [kind, str(p), sha, p.name, loaded.rows, started,
                        loaded.format, loaded.version, loaded.precedence, loaded.note,
                        datetime.now(timezone.utc), p.stat().st_size])
        refresh(ws, lookups=False)  # the loaders above redid the lookups they affect
    return loaded.rows


PRESET_PREFIX = "preset:"


def _load_preset(ws: Workspace, name: str, params: dict) -> int:
    """A policy preset: recorded like a file, its hash taken over the rules it builds."""
    data = preset_policy(name, **params)
    text = json.dumps(data, sort_keys=True, default=str)
    sha = hashlib.sha256(text.encode()).hexdigest()
    if ws.sql("SELECT count(*) FROM reference_sources WHERE kind = 'policy' AND sha256 = ?", [sha]).fetchone()[0]:
        return 0
    label = PRESET_PREFIX + name + "".join(f" {k}={v}" for k, v in sorted(params.items()))
    with ws.transaction():
        n = _policy_rules(ws, label, data)
        ws.con.execute("INSERT INTO reference_sources VALUES ('policy', ?, ?, ?, ?, ?, 'preset', ?, NULL, ?, NULL, NULL)",
                       [label, sha, name, n, datetime.now(timezone.utc), data.get("source"), data.get("name")])
        refresh(ws, lookups=False)  # the loaders above redid the lookups they affect
    return n
