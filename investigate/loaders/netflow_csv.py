"""nfdump CSV exports (format ``netflow_csv``): ``nfdump -r <file> -o csv``.

nfdump writes a header line (``ts,te,td,sa,da,sp,dp,pr,flg,...``), one flow per line, and at
the end a summary block that is not a flow::

    Summary
    flows,bytes,packets,avg_bps,avg_pps,avg_bpp
    5,2046,17,27,0,120

The summary's flow count is the export's own control total: when it differs from the records
loaded, the result note says so. With ``-q`` there is neither header nor summary; the classic
48-field layout is then assumed. Timestamps (``2024-05-02 10:15:01`` or with ``.123``
milliseconds) are the collector's local time: UTC unless the ``timezone`` option names a zone.
"""

from __future__ import annotations

from ..errors import InvestigateError
from .base import STAGED, StageOutput, register
from .native import SpecLoader
from .records import lines_sql
from .sources import SourceFile
from .typed import Params, quote_ident
from .vpc_flow import extra_json, ip_or_null, protocol_sql

CLASSIC = ("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,"
           "dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,"
           "mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr").split(",")
# Fields the columns hold in full (sp/dp go back to extra for ICMP, sa/da when not an address).
IN_COLUMNS = ["ts", "te", "sa", "da", "sp", "dp", "pr"]
TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%g", "%Y-%m-%d %H:%M:%S.%f"]
_NO_LAYOUT = " fields, no header line before it, and not the 48 of nfdump -o csv -q: not a flow record: "
_BAD_TS, _BAD_TE = "unreadable timestamp in ts: '", "unreadable timestamp in te: '"
_BAD_TIME = "' (expected YYYY-MM-DD HH:MM:SS, optionally with .mmm, in the collector's local time)"


def _is_int(v: str) -> str:
    return f"regexp_full_match({v}, '[0-9]+')"


def _sum(a: str, b: str) -> str:
    # Both whole numbers: their sum; otherwise the input figure as written (typed, or rejected).
    return (f"CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL AND {_is_int(a)} AND {_is_int(b)} "
            f"THEN CAST(CAST({a} AS HUGEINT) + CAST({b} AS HUGEINT) AS VARCHAR) ELSE coalesce({a}, {b}) END")


@register
class NetflowCsvLoader(SpecLoader):
    name = "netflow_csv"
    description = "nfdump CSV exports (nfdump -o csv): NetFlow/IPFIX flows with a ts,te,td,sa,da,... header"
    extensions = (".csv",)
    options = {"timezone": "time zone of the collector whose local time the ts/te columns are in "
                           "(e.g. Europe/Berlin; default UTC)"}

    def sniff(self, head: str) -> int:
        """95 when the file starts with nfdump's CSV header."""
        return 95 if head.lstrip("\ufeff").startswith("ts,te,td,sa,da,sp,dp,pr,") else 0

    def stage(self, con, source: SourceFile, mapping, options=None) -> StageOutput:
        p = Params()
        zone = (options or {}).get("timezone") or "UTC"
        try:
            con.execute("SELECT timezone(?, TIMESTAMP '2000-01-01')", [zone]).fetchone()
        except Exception:
            raise InvestigateError(f"option timezone: unknown time zone {zone!r} (use a name such as "
                                   "UTC or Europe/Berlin)") from None
        # Every line once, with its neighbours: the summary block is told by the lines before it.
        con.execute(f"""CREATE TEMP TABLE __nf_lines AS
            SELECT __rec, __line, string_split(__line, ',') AS __parts,
                   coalesce(__line = 'Summary' OR (lag(__line) OVER w = 'Summary' AND starts_with(__line, 'flows,'))
                    OR (lag(__line, 2) OVER w = 'Summary' AND starts_with(lag(__line) OVER w, 'flows,')), false) AS __summary,
                   coalesce(lag(__line, 2) OVER w = 'Summary', false) AS __summary_values,
                   starts_with(__line, 'ts,te,') AS __is_header
            FROM {lines_sql(source, p)} WINDOW w AS (ORDER BY __rec)""", p.values)
        p = Params()  # the lines are read: what follows binds its own parameters
        window = "OVER (ORDER BY __rec ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        classic = p.add(CLASSIC, "VARCHAR[]")
        headed = f"""
            SELECT *, coalesce(__hdr, CASE WHEN len(__parts) = {len(CLASSIC)} THEN {classic} END) AS __layout
            FROM (SELECT *, last_value(CASE WHEN __is_header THEN __parts END IGNORE NULLS) {window} AS __hdr
                  FROM __nf_lines) WHERE NOT __is_header AND NOT __summary"""
        ok = "(__layout IS NOT NULL AND len(__layout) = len(__parts))"
        names = list(dict.fromkeys(CLASSIC))
        cols = ", ".join(f"CASE WHEN {ok} THEN nullif(trim(__parts[list_position(__layout, {p.add(n, 'VARCHAR')})]), '') END "
                         f"AS {quote_ident(n)}" for n in names)
        zone_p, formats = p.add(zone, "VARCHAR"), p.add(TIME_FORMATS, "VARCHAR[]")

        def micros(v: str) -> str:
            return f"CAST(epoch_us(timezone({zone_p}, try_strptime({v}, {formats})::TIMESTAMP)) AS VARCHAR)"

        parsed = f"""(SELECT *, {micros('ts')} AS __ts_us, {micros('te')} AS __te_us,
                         {ip_or_null('sa')} AS __src_ip, {ip_or_null('da')} AS __dst_ip,
                         {protocol_sql('pr', p)} AS __protocol,
                         {_sum('ibyt', 'obyt')} AS __bytes, {_sum('ipkt', 'opkt')} AS __packets
                  FROM (SELECT *, {ok} AS __ok, {cols} FROM ({headed})))"""
        extra = extra_json("__layout", "__parts", p.add(IN_COLUMNS, "VARCHAR[]"), p.add([""], "VARCHAR[]"))
        extra = (f"CASE WHEN __ok THEN json_merge_patch({extra}, json_object("
                 "'sa', CASE WHEN __src_ip IS NULL THEN sa END, 'da', CASE WHEN __dst_ip IS NULL THEN da END, "
                 "'sp', CASE WHEN __protocol IN ('icmp', 'icmpv6') THEN sp END, "
                 "'dp', CASE WHEN __protocol IN ('icmp', 'icmpv6') THEN dp END)) END")

        def msg(text: str) -> str:
            return p.add(text, "VARCHAR")

        sql = self._select(parsed, p, source, extra_sql=extra, pre_reasons=[
            ("__layout IS NULL", f"len(__parts) || {msg(_NO_LAYOUT)} || left(__line, 80)"),
            (f"NOT {ok}", f"len(__parts) || {msg(' fields where the header line names ')} || len(__layout) "
                          f"|| {msg(': ')} || left(__line, 80)"),
            ("ts IS NOT NULL AND __ts_us IS NULL", f"{msg(_BAD_TS)} || ts || {msg(_BAD_TIME)}"),
            ("te IS NOT NULL AND __te_us IS NULL", f"{msg(_BAD_TE)} || te || {msg(_BAD_TIME)}"),
            (f"obyt IS NOT NULL AND NOT {_is_int('obyt')}", f"{msg('obyt is not a whole number: ')} || obyt"),
            (f"opkt IS NOT NULL AND NOT {_is_int('opkt')}", f"{msg('opkt is not a whole number: ')} || opkt"),
        ])
        con.execute(f"CREATE TEMP TABLE {STAGED} AS {sql}", p.values)
        out = StageOutput()
        out.note = self._control_total(con)
        return out

    @staticmethod
    def _control_total(con) -> str:
        """The summary's flow count against the records loaded: a note when they differ."""
        flows = con.execute("SELECT sum(TRY_CAST(__parts[1] AS BIGINT)), count(*) FROM __nf_lines "
                            "WHERE __summary_values").fetchone()
        if not flows[1]:
            return ""
        loaded = con.execute(f"SELECT count(*) FROM {STAGED} WHERE __reason IS NULL AND __apart IS NULL").fetchone()[0]
        if flows[0] == loaded:
            return ""
        if flows[0] is None:  # not a whole number (damaged, or past BIGINT): nothing to compare
            return (f"nfdump's summary flow count cannot be read, so the {loaded:,} flows loaded could not "
                    "be checked against the export's own control total")
        return (f"nfdump's summary counts {flows[0]:,} flows but {loaded:,} were loaded "
                "(the export's own control total disagrees: see the rejects)")
