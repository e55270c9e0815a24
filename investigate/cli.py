"""The ``investigate`` command: one subcommand per public function, flags mirror its arguments.

Errors print one line naming the file (and record) and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import duckdb

from . import case as case_mod
from . import checks, enrich, findings, loaders, queries
from .engines import DEFAULT_ENGINE, ENGINES
from .enrich.network_sources import NETWORK_FORMATS
from .errors import InvestigateError
from .pseudonymise import ENV_KEY, ENV_KEY_FILE
from .workspace import (DEFAULT_MEMORY_LIMIT, ENV_MEMORY_LIMIT, ENV_TEMP_DIRECTORY, Workspace,
                        memory_error, parse_size)

EXIT_ERROR = 2      # bad input or arguments
EXIT_CHANGED = 1    # verify found a difference
EXIT_FAILED = 1     # a data check found violations


def _open(args, read_only=False) -> Workspace:
    if _is_export_folder(args.workspace):
        raise InvestigateError(f"{args.workspace}: is an export (investigate export), not a workspace; "
                               "queries, findings and verify run on it with --engine spark")
    return Workspace.open(args.workspace, memory_limit=args.memory_limit, read_only=read_only,
                          temp_directory=args.temp_dir)


def _is_export_folder(path) -> bool:
    from .export import MANIFEST

    return bool(path) and (Path(path) / MANIFEST).is_file()


@contextmanager
def _source(args):
    """What a query runs on: the workspace; with --engine spark, an export (folder or URI) as it
    is, or a workspace (exported beside it first: see investigate.engines)."""
    if args.engine == "spark" and ("://" in str(args.workspace) or _is_export_folder(args.workspace)):
        yield args.workspace
    else:
        with _open(args, read_only=True) as ws:
            yield ws


@contextmanager
def _settings_in_env(args):
    """--memory-limit and --temp-dir for the workspaces that notebooks open (their kernels
    inherit the environment), for as long as the command runs."""
    given = {ENV_MEMORY_LIMIT: args.memory_limit, ENV_TEMP_DIRECTORY: args.temp_dir}
    if args.memory_limit is not None:
        parse_size(args.memory_limit)  # refused here, not in each notebook's first cell
    before = {name: os.environ.get(name) for name in given}
    os.environ.update({name: value for name, value in given.items() if value is not None})
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cmd_formats(args) -> int:
    print(f"{'auto':<15} {'(format decides)':<18} recognise each file's format from its first records")
    for name, loader in loaders.formats().items():
        table = loader.table or "(mapping decides)"
        mapping = "needs --mapping" if loader.needs_mapping else ""
        print(f"{name:<15} {table:<18} {loader.description} {mapping}".rstrip())
        for option, meaning in getattr(loader, "options", {}).items():
            print(f"{'':<15} {'':<18} --option {option} VALUE: {meaning}")
    return 0


def cmd_ingest(args) -> int:
    failed = 0
    with _open(args) as ws:
        for _, result, error in loaders.base.iter_ingest(ws, args.files, args.format,
                                                         mapping=args.mapping, strict=args.strict,
                                                         options=_params(args.option) or None):
            if error is not None:
                print(f"error: {error}", file=sys.stderr)
                failed += 1
                continue
            line = result.summary()
            if result.rejects and not args.show_rejects:
                first = result.rejects[0]
                line += f"; first reject: record {first.record}: {first.reason}"
            print(line)
            for rej in result.rejects[: args.show_rejects]:
                print(f"  record {rej.record}: {rej.reason}")
    return EXIT_ERROR if failed else 0


def cmd_reference(args) -> int:
    with _open(args) as ws:
        n = enrich.load_reference(ws, args.kind, args.file, format=args.format,
                                  params=dict(args.param) if args.param else None)
        source = ws.sql("SELECT format, version, note FROM reference_sources WHERE kind = ? "
                        "ORDER BY loaded_at DESC LIMIT 1", [args.kind]).fetchall()
    line = f"{Path(args.file).name}: {n} {args.kind} rows" + ("" if n else " (already loaded)")
    if n and source and source[0][0]:
        fmt, version, note = source[0]
        line += f" ({fmt}{', ' + version if version else ''})" + (f"; {note}" if note else "")
    print(line)
    return 0


def cmd_case(args) -> int:
    with _open(args) as ws:
        load = case_mod.ingest_case(ws, args.manifest, strict=args.strict)
    print(load.summary())
    return 0


def _params(pairs) -> dict:
    return {name: value for name, value in (pairs or [])}


def _key(args):
    """--pseudonymise / --pseudonym-key-file as the API's ``pseudonymise=``: None, True (the key
    from the environment) or the key file's path."""
    if args.pseudonym_key_file:
        return args.pseudonym_key_file
    return True if args.pseudonymise else None


def cmd_query(args) -> int:
    if args.list:
        for q in queries.list_queries():
            params = ", ".join(p.name + (f"={p.default}" if p.default else "") + (" (required)" if p.required else "")
                               for p in q.params.values())
            print(f"{q.name}({params})\n    {q.question}")
        return 0
    if not args.workspace or not args.name:
        raise InvestigateError("query needs WORKSPACE and NAME (or --list)")
    if args.output:  # written as the rows come: a listing of millions never sits in memory
        with _source(args) as source:
            rows = queries.write_query(source, args.name, args.output, engine=args.engine,
                                       pseudonymise=_key(args), **_params(args.param))
        print(f"{rows} rows -> {args.output}")
    else:
        with _source(args) as source:
            df = queries.run_query(source, args.name, engine=args.engine, pseudonymise=_key(args),
                                   **_params(args.param))
        import pandas as pd

        with pd.option_context("display.max_rows", args.max_rows, "display.width", 200,
                               "display.max_columns", 50):
            print(df.to_string(index=False) if len(df) <= args.max_rows else df)
    return 0


def cmd_findings(args) -> int:
    with _source(args) as source:
        result = findings.run_findings(source, args.spec, out=args.out, pseudonymise=_key(args),
                                       engine=args.engine)
    for f in result:
        print(f"- {f.sentence}")
    print(f"wrote {Path(args.out) / 'findings.json'} and findings.md")
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    with _open(args, read_only=True) as ws:
        result = write_report(ws, args.spec, args.out, pseudonymise=_key(args))
    for f in result.findings:
        print(f"- {f.sentence}")
    print(f"wrote {result.html} and {result.pdf.name} (with findings.json, findings.md, tables/ and figures/)")
    return 0


def cmd_check(args) -> int:
    if args.show < 0:
        raise InvestigateError(f"--show takes a number of rows, 0 or more; got {args.show}")
    with _open(args, read_only=True) as ws:
        results = checks.check_results(ws)
    width = max(len("check"), *(len(c.name) for c, _ in results))
    print(f"{'check':<{width}}  violations  result  rule")
    for check, df in results:
        print(f"{check.name:<{width}}  {len(df):>10,}  {'pass' if df.empty else 'FAIL':<6}  {check.rule}")
    failed = [(check, df) for check, df in results if not df.empty]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed" if failed
          else f"all {len(results)} checks passed")
    if args.show:
        import pandas as pd

        for check, df in failed:
            shown = df.head(args.show)
            print(f"\n{check.name}: {len(shown)} of {len(df):,} violating rows")
            with pd.option_context("display.width", 200, "display.max_columns", 50,
                                   "display.max_colwidth", 80):
                for line in shown.to_string(index=False, na_rep="NULL").splitlines():
                    print(f"  {line}")
    return EXIT_FAILED if failed else 0


def cmd_custody(args) -> int:
    from .custody import custody

    with _open(args, read_only=True) as ws:
        df = custody(ws, csv=args.csv)
    import pandas as pd

    for r in df.itertuples():
        size = "" if pd.isna(r.bytes) else f"{int(r.bytes):,} bytes, "
        if r.kind == "export":
            counts = (f"read {r.rows_read:,}, loaded {r.rows_loaded:,}, rejected {r.rows_rejected:,}"
                      + (f", set apart {r.rows_set_apart:,}" if r.rows_set_apart else ""))
        else:
            counts = f"{r.rows_loaded:,} rows"
        checked = "not a file" if pd.isna(r.checked_at) else f"hash checked again {r.checked_at:%Y-%m-%d %H:%M:%S} UTC"
        print(f"{r.path}\n  {r.kind}, {r.format or '-'}, {size}sha256 {r.sha256}\n"
              f"  {counts}; loaded {r.loaded_at:%Y-%m-%d %H:%M:%S} UTC, {checked}")
    print(f"{len(df)} inputs" + (f"; written to {args.csv}" if args.csv else ""))
    return 0


def cmd_export(args) -> int:
    from .export import export

    with _open(args, read_only=True) as ws:
        manifest = export(ws, args.out, overwrite=args.overwrite)
    tables = manifest["tables"]
    for name, t in tables.items():
        parts = f", {len(t['files'])} files by {', '.join(t['partition_columns'])}" if t["partition_columns"] else ""
        print(f"{name}: {t['rows']:,} rows{parts}")
    print(f"{len(tables)} tables -> {args.out} (manifest.json: {len(manifest['inputs'])} inputs with their hashes)")
    return 0


def cmd_verify(args) -> int:
    with _source(args) as source:
        verdicts = findings.verify(source, args.findings, pseudonymise=_key(args), engine=args.engine)
    for c in verdicts:
        print(f"{c.id}: {c.status}" + (f" ({c.detail})" if c.detail else ""))
        if c.status == "changed":
            print(f"    was: {json.dumps(c.old)}\n    now: {json.dumps(c.new)}")
    return EXIT_CHANGED if any(c.status != "same" for c in verdicts) else 0


def cmd_reproduce(args) -> int:
    from .reproduce import reproduce

    with _settings_in_env(args):
        result = reproduce(args.out, case=args.case, notebooks=args.notebooks)
    print(f"\nHeadline findings (written to {Path(args.out) / 'findings.md'}; the report: "
          f"{Path(args.out) / 'report.html'} and report.pdf):")
    for f in result:
        print(f"- {f.sentence}")
    return 0


def cmd_run_notebook(args) -> int:
    from .notebooks import run_notebook
    from .reproduce import project_root

    path = Path(args.notebook)
    if not path.is_file():
        folder = project_root() / "notebooks"
        matches = sorted(folder.glob(f"{args.notebook}*.ipynb")) + sorted(folder.glob(f"*_{args.notebook}.ipynb"))
        if not matches:
            raise InvestigateError(f"no notebook {args.notebook!r} in {folder}")
        path = matches[0]
    output = Path(args.output or Path("reports/notebooks") / path.name)
    with _settings_in_env(args):
        run_notebook(path, parameters=_params(args.param), output=output)
    print(f"{path.name}: executed -> {output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="investigate",
        description="Investigate cross-border data access from exported logs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_settings(p):
        p.add_argument("--memory-limit", default=None, metavar="SIZE",
                       help=f"memory the workspace may use, e.g. 8GB; work beyond it spills to disk "
                            f"(default: ${ENV_MEMORY_LIMIT}, else 4GB)")
        p.add_argument("--temp-dir", default=None, metavar="DIR",
                       help=f"where work beyond the memory limit spills (default: "
                            f"${ENV_TEMP_DIRECTORY}, else WORKSPACE.tmp next to the workspace)")
        return p

    def with_pseudonyms(p, what="show actor ids, display names and IP addresses as keyed pseudonyms "
                                "(HMAC-SHA256; countries and organisations stay)"):
        p.add_argument("--pseudonymise", action="store_true",
                       help=f"{what}; the key from ${ENV_KEY_FILE} (its file) or "
                            f"${ENV_KEY}")
        p.add_argument("--pseudonym-key-file", metavar="FILE",
                       help="the pseudonymisation key's file (implies --pseudonymise); see docs/security.md")
        return p

    def with_engine(p):
        p.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                       help="where the SQL runs: duckdb (the workspace), or spark: WORKSPACE is then "
                            "an export (a folder or URI written by investigate export), or a workspace, "
                            "exported to WORKSPACE.export/ first; see docs/scale.md")
        return p

    def with_ws(p, optional=False):
        if optional:
            p.add_argument("workspace", nargs="?", help="the workspace (a DuckDB file)")
        else:
            p.add_argument("workspace", help="the workspace (a DuckDB file; created if missing)")
        return with_settings(p)

    p = sub.add_parser("formats", help="list the input formats")
    p.set_defaults(func=cmd_formats)

    p = with_ws(sub.add_parser("ingest", help="load export files into a workspace"))
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="files, directories or archives (.zip, .tar, .tar.gz: loaded member by member)")
    p.add_argument("--format", required=True, help="input format (see: investigate formats)")
    p.add_argument("--mapping", help="mapping file (YAML) for csv/jsonl/parquet")
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p.add_argument("--option", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a format option (investigate formats lists them)")
    p.add_argument("--show-rejects", type=int, default=0, metavar="N",
                   help="list the first N rejects of each file on lines of their own (default: the "
                        "first one, on the file's line; all are in the workspace's rejects table)")
    p.set_defaults(func=cmd_ingest)

    p = with_ws(sub.add_parser("reference", help="load a reference file (networks, actors, assets, policy)"))
    p.add_argument("kind", choices=enrich.KINDS)
    p.add_argument("file", help="the file, or for a policy a preset: preset:trusted_partner, "
                                "preset:gdpr_chapter_v")
    p.add_argument("--format", choices=NETWORK_FORMATS, default=None,
                   help="networks only: the file's format (detected from its content when omitted)")
    p.add_argument("--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a policy preset's parameter (e.g. --param partner_org 'Ironbridge Cloud')")
    p.set_defaults(func=cmd_reference)

    p = with_ws(sub.add_parser("case", help="load every file of a case manifest (case.yml)"))
    p.add_argument("manifest", help="case.yml or the folder holding it")
    p.add_argument("--strict", action="store_true")
    p.set_defaults(func=cmd_case)

    p = with_ws(sub.add_parser("query", help="run a query from the library"), optional=True)
    p.add_argument("name", nargs="?")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"))
    p.add_argument("--output", "-o", help="write CSV, Parquet or JSON (by extension)")
    p.add_argument("--list", action="store_true", help="list the queries and their parameters")
    p.add_argument("--max-rows", type=int, default=60)
    with_pseudonyms(p)
    with_engine(p)
    p.set_defaults(func=cmd_query)

    p = with_ws(sub.add_parser("findings", help="compute the findings of a spec"))
    p.add_argument("spec", help="findings spec (YAML)")
    p.add_argument("--out", default="reports", help="folder for findings.json/.md and tables")
    with_pseudonyms(p)
    with_engine(p)
    p.set_defaults(func=cmd_findings)

    p = with_ws(sub.add_parser(
        "report", help="write report.html and report.pdf: findings with charts and provenance, "
                       "data checks, coverage, limits"))
    p.add_argument("spec", help="findings spec (YAML), with a chart under each finding to draw")
    p.add_argument("--out", default="reports", help="folder for the report and everything behind it")
    with_pseudonyms(p)
    p.set_defaults(func=cmd_report)

    p = with_ws(sub.add_parser(
        "check", help="run the data checks (exit 0: all pass, 1: a check failed, 2: error)",
        description="Run every data check (investigate/checks/*.sql) at its default parameters "
                    "and print each with its count of violating rows, pass or FAIL, and its rule. "
                    "Exit status: 0 when every check passes, 1 when any fails, 2 on an error "
                    "(such as a workspace that cannot be opened)."))
    p.add_argument("--show", type=int, default=0, metavar="N",
                   help="also print the first N violating rows of each failing check")
    p.set_defaults(func=cmd_check)

    p = with_ws(sub.add_parser("custody", help="every input with its hash, size, format, counts and load time"))
    p.add_argument("--csv", metavar="FILE", help="also write the list as CSV (for the methodology note)")
    p.set_defaults(func=cmd_custody)

    p = with_ws(sub.add_parser(
        "export", help="write every table as Parquet (events partitioned by UTC date) with a manifest",
        description="Write the workspace's tables under OUT/<table>/ as Parquet: access_events and "
                    "transfer_events hive-partitioned by event_date (the UTC date of ts / ts_start), "
                    "every other table in one folder; IP ranges as 32 hex digits; OUT/manifest.json "
                    "lists the inputs and every file with its sha256. See docs/scale.md."))
    p.add_argument("out", metavar="OUT", help="the folder to write (new or empty, unless --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace what OUT holds, once the new export is complete")
    p.set_defaults(func=cmd_export)

    p = with_ws(sub.add_parser("verify", help="re-run the findings of a findings.json"))
    p.add_argument("findings", help="findings.json")
    with_pseudonyms(p, what="check pseudonymised findings in full, with the key that made them")
    with_engine(p)
    p.set_defaults(func=cmd_verify)

    p = with_settings(sub.add_parser("run-notebook", help="execute a notebook headless with parameters"))
    p.add_argument("notebook", help="a path, or a name such as 01 or cross_border_access")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="set a parameter of the notebook's parameters cell (as text)")
    p.add_argument("--output", "-o", help="where the executed notebook goes (default reports/notebooks/)")
    p.set_defaults(func=cmd_run_notebook)

    p = with_settings(sub.add_parser("reproduce", help="run the notebooks on the sample case, write reports/"))
    p.add_argument("--out", default="reports")
    p.add_argument("--case", help="case folder (default: data_samples/)")
    p.add_argument("--notebooks", help="notebooks folder (default: notebooks/)")
    p.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InvestigateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except duckdb.OutOfMemoryException as exc:  # from a step that does not say so itself
        limit = getattr(args, "memory_limit", None) or os.environ.get(ENV_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
        temp = getattr(args, "temp_dir", None) or os.environ.get(ENV_TEMP_DIRECTORY)
        print(f"error: {memory_error(exc, limit, temp, args.command)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
