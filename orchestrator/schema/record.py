"""The last ``verify`` result per database, kept so ``status`` can show drift
without replaying and reading every schema again.

``verify`` writes ``.orchestrate/verify.json`` under the workspace root (git-ignored
by a ``.gitignore`` it puts there): for each target and database, the number of
differences and a fingerprint of the ledger it was measured against. ``status``
shows a count only while that fingerprint still matches the target's ledger, so a
release applied since the last verify hides the stale figure instead of showing it.
This file is the only thing verify writes; targets are never written.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.dashboard import DriftRecord
from orchestrator.engines.ledger import LedgerState
from orchestrator.model import Plan
from orchestrator.schema.files import write_atomically

RECORD_DIR = ".orchestrate"
RECORD_FILE = "verify.json"


def record_path(root: Path) -> Path:
    """Where the verify record lives for the workspace at ``root``."""
    return root / RECORD_DIR / RECORD_FILE


def target_key(remote: bool, env: str | None, persist_to: Path | None) -> str:
    """Which target a record is about: ``local``, ``remote``, plus env and --persist-to."""
    parts = ["remote" if remote else "local"]
    parts += [f"env={env}"] if env else []
    parts += [f"persist-to={persist_to.resolve()}"] if persist_to else []
    return " ".join(parts)


def ledger_fingerprint(state: LedgerState) -> str:
    """A hash of the applied migrations (names and checksums) a result was measured on."""
    rows = sorted((r.name, r.checksum or "") for r in state.rows)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def write_record(root: Path, key: str, entries: Mapping[str, dict[str, Any]]) -> Path:
    """Merge ``{database: {"drift", "ledger"}}`` into the record, atomically."""
    path = record_path(root)
    document = read_record(root)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    section = document.setdefault("targets", {}).setdefault(key, {})
    section.update({name: {**entry, "checked_at": stamp} for name, entry in entries.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by orchestrate verify\n*\n", encoding="utf-8")
    write_atomically(path, json.dumps({"version": 1, **document}, indent=2, sort_keys=True) + "\n")
    return path


def read_record(root: Path) -> dict[str, Any]:
    """The record as data (empty when there is none or it cannot be read)."""
    try:
        document = json.loads(record_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in document.items() if k != "version"} if isinstance(document, dict) else {}
    )


# The record keeps the first differences of each database for the dashboard page.
DIFFERENCES_KEPT = 20


def recorded_drift(
    root: Path, key: str, plan: Plan, states: Mapping[str, LedgerState]
) -> dict[str, DriftRecord]:
    """Drift still valid for the target's current ledgers, by database name."""
    section = read_record(root).get("targets", {}).get(key, {})
    drift: dict[str, DriftRecord] = {}
    for db in plan.databases:
        entry = section.get(db.database.name)
        state = states.get(db.database.key)
        if not isinstance(entry, dict) or state is None:
            continue
        if entry.get("ledger") == ledger_fingerprint(state) and isinstance(entry.get("drift"), int):
            drift[db.database.name] = _drift_record(entry)
    return drift


def _drift_record(entry: dict[str, Any]) -> DriftRecord:
    listed = entry.get("differences")
    differences = tuple(str(d) for d in listed) if isinstance(listed, list) else ()
    checked = entry.get("checked_at")
    return DriftRecord(entry["drift"], differences, checked if isinstance(checked, str) else None)
