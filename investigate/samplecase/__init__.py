"""Seeded generator of the fictional ReelRiver investigation case.

``generate(out_dir)`` writes a complete case (exports, mappings, reference
tables, manifest) plus ``ground_truth.json`` with the planted facts, and
returns that ground truth. The same access events are also written as the
systems themselves log them (CloudTrail, PostgreSQL/pgaudit, nginx) under
``exports_native/``, with a second manifest ``case_native.yml`` that gives
the same facts. The transfers (edge flows, backup jobs) are also written as network flow
logs (AWS VPC flow logs, Zeek conn.log) under ``exports_flows/``, with manifests
``case_vpc.yml`` and ``case_zeek.yml``. Output bytes depend only on ``seed`` and
``scale``. Events are written a UTC day at a time while the ground truth is
counted, so memory stays bounded even at ``scale=100``.

Everything in the case is fictional; see ``data_samples/README.md``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .activity import AccessActivity
from .documents import write_documents
from .flowlogs import FLOWS_DIR, FlowLogWriters
from .native import NATIVE_DIR, NativeWriters
from .resolve import Resolver
from .timefmt import days, iso_ms, day_start_ms
from .transfers import BackupSchedule, EdgeTraffic
from .truth import Truth
from .world import (
    CATEGORY, JURISDICTION, PARTNER, PERIOD_END, PERIOD_START, PROMISE_DATE, AddressPools,
    host_networks,
)
from .writers import BACKUP_FILE, FLOWS_FILE, AuditWriter, BackupWriter, FlowWriter, GatewayWriter

__all__ = ["generate", "GENERATOR_VERSION"]

GENERATOR_VERSION = 3
TRUTH_FILE = "ground_truth.json"


def _write_access(out: Path, seed: int, scale: float, pools: AddressPools, truth: Truth) -> None:
    """Both access exports, routed by source site, one day at a time; and every event once
    more in the native log that would have recorded it (``exports_native/``)."""
    activity = AccessActivity(seed, scale, pools)
    audit = AuditWriter(out, seed, truth, pools)
    gateway = GatewayWriter(out, seed, truth, pools)
    native = NativeWriters(out, seed, truth, pools)
    for d in days(PERIOD_START, PERIOD_END):
        written = [(ev, (gateway if ev.via_gateway else audit).write(ev)) for ev in activity.day(d)]
        native.write_day(d, written)
    audit.close()
    gateway.close()
    native.close()


def _write_transfers(out: Path, seed: int, scale: float, pools: AddressPools, truth: Truth) -> None:
    """Edge flows (scaled) and backup jobs (a fixed schedule); and both once more as network
    flow logs (``exports_flows/``: AWS VPC flow logs, Zeek conn.log)."""
    traffic = EdgeTraffic(seed, scale, pools)
    schedule = BackupSchedule(seed, pools)
    flows = FlowWriter(out, seed, truth, pools)
    backups = BackupWriter(out, truth)
    flowlogs = FlowLogWriters(out, seed, truth, pools)
    for d in days(PERIOD_START, PERIOD_END):
        day_flows = traffic.day(d)
        flows.write_day(day_flows)
        jobs = schedule.day(d)
        for job in jobs:
            backups.write(job)
        flowlogs.write_day(d, day_flows, jobs)
    flows.close()
    backups.close()
    flowlogs.close(PERIOD_END)


def _backup_host_ips(seed: int, pools: AddressPools) -> dict[str, str]:
    """Each backup host's address, as the schedule will draw it (a dry run of the schedule,
    which draws on its own random stream: the real run is unaffected)."""
    schedule = BackupSchedule(seed, pools)
    for d in days(PERIOD_START, PERIOD_END):
        schedule.day(d)
    return schedule.host_ip


def generate(out_dir, seed: int = 20221, scale: float = 1.0) -> dict:
    """Write the case under ``out_dir`` and return its ground truth.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing; files of the case are overwritten, others left alone,
        except ``exports_native/`` and ``exports_flows/``, which are replaced as a whole.
    seed : int
        Seed of every random choice.
    scale : float
        Multiplies the volume of access events and edge flows (1.0: about
        30,000 access events and 16,000 flows). Planted one-off events and
        the backup schedule do not scale.

    Returns
    -------
    dict
        The ground truth, as written to ``ground_truth.json``.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out = Path(out_dir)
    for sub in ("exports", "mappings", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    # The native logs are many files with seeded names: start from an empty folder, so a
    # regeneration leaves no file of an earlier one behind.
    shutil.rmtree(out / NATIVE_DIR, ignore_errors=True)
    shutil.rmtree(out / FLOWS_DIR, ignore_errors=True)
    pools = AddressPools(seed)
    truth = Truth(Resolver(), shared=(FLOWS_FILE, BACKUP_FILE))
    write_documents(out, host_networks(_backup_host_ips(seed, pools)))
    _write_access(out, seed, scale, pools, truth)
    _write_transfers(out, seed, scale, pools, truth)

    result = {
        "generator": {"module": "investigate.samplecase", "version": GENERATOR_VERSION,
                      "seed": seed, "scale": scale},
        "case": {
            "definition": "Case parameters; timestamps in this file are UTC, "
                          "YYYY-MM-DDTHH:MM:SS.mmmZ; months are UTC YYYY-MM.",
            "period_start": iso_ms(day_start_ms(PERIOD_START)),
            "period_end": iso_ms(day_start_ms(PERIOD_END)),
            "promise_date": iso_ms(day_start_ms(PROMISE_DATE)),
            "jurisdiction": JURISDICTION, "category": CATEGORY, "partner_org": PARTNER,
        },
        **truth.result(),
    }
    with open(out / TRUTH_FILE, "w", encoding="utf-8", newline="\n") as f:
        json.dump(result, f, indent=2, sort_keys=True, ensure_ascii=True)
        f.write("\n")
    # Return exactly what a reader of the file gets (e.g. tuples become lists).
    return json.loads(json.dumps(result))
