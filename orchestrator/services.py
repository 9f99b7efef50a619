"""Services: the library API the CLI calls. Each joins discovery, planning and
targets; none prints or exits."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.dashboard import Dashboard, LintCounts, Origin, build_dashboard
from orchestrator.discovery import require_databases
from orchestrator.discovery.gitinfo import read_git
from orchestrator.discovery.naming import canonical_of
from orchestrator.discovery.selection import display_root as display_root
from orchestrator.discovery.selection import load_workspace as load_workspace
from orchestrator.discovery.selection import select_databases as select_databases
from orchestrator.engines import Batch, Engine, Target
from orchestrator.engines.ledger import (
    EMPTY_STATE,
    LedgerState,
    force_unlock_batch,
    merge_states,
    read_history,
    read_ledger,
)
from orchestrator.engines.select import choose_engine
from orchestrator.errors import AuthError, OrchestrateError
from orchestrator.model import (
    Database,
    LedgerRow,
    Plan,
    Problem,
    RunResult,
    Severity,
)
from orchestrator.planning import build_plan
from orchestrator.planning.copies import with_copies
from orchestrator.planning.history import HistoryEntry, compare_history
from orchestrator.runner import apply_plan
from orchestrator.runner.batches import Refusal, ledger_names, planned_batches
from orchestrator.runner.job import ApplyOptions, Progress
from orchestrator.schema.record import recorded_drift, target_key
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from orchestrator.checks.findings import Finding


@dataclass(frozen=True)
class Survey:
    """A plan together with the ledger states it was built from."""

    plan: Plan
    states: dict[str, LedgerState]


def read_states(
    engine: Engine,
    databases: tuple[Database, ...],
    ledger_table: str,
    jobs: int = 8,
    create: bool = False,
) -> dict[str, LedgerState]:
    """Read every database's ledgers in parallel; nothing is written unless ``create``
    (see ``read_database_state``)."""

    def read(database: Database) -> LedgerState:
        try:
            return read_database_state(engine, database, ledger_table, create)
        except AuthError:
            raise  # the same credentials fail everywhere: stop at once
        except OrchestrateError as exc:
            problem = Problem(
                Severity.ERROR,
                "target.unreadable",
                exc.message,
                exc.file,
                exc.line,
                database.name,
            )
            return replace(EMPTY_STATE, problem=problem)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip([d.key for d in databases], pool.map(read, databases), strict=True))


def read_database_state(
    engine: Engine, database: Database, ledger_table: str, create: bool = False
) -> LedgerState:
    """One database's ledgers on every target of ``engine``: read-only, unless ``create``
    on a remote engine, where the read also creates the ledgers that are missing (one
    request instead of two or three on a database orchestrate has not applied yet)."""
    names = ledger_names(database, ledger_table)
    create = create and engine.remote
    states = []
    targets = engine.targets(database)
    for target in targets:
        if not engine.exists(target):
            states.append(EMPTY_STATE)
            continue
        session = engine.open(target, read_only=not create)
        try:
            states.append(read_ledger(session, names, create=create))
        finally:
            session.close()
    if len(states) < 2:
        return states[0] if states else EMPTY_STATE
    copies = tuple(zip((t.label for t in targets), states, strict=True))
    return replace(merge_states(states), copies=copies)


def resolve_databases(engine: Engine, databases: tuple[Database, ...]) -> tuple[Database, ...]:
    """Each database as the engine reaches it; one that cannot be resolved stays as it is
    (reading its ledger then reports why)."""

    def resolve(database: Database) -> Database:
        try:
            return engine.resolve(database)
        except AuthError:
            raise
        except OrchestrateError:
            return database

    return tuple(resolve(d) for d in databases)


def survey(
    settings: Settings,
    env: str | None = None,
    names: tuple[str, ...] = (),
    engine: Engine | None = None,
    need_databases: bool = False,
    create_ledgers: bool = False,
) -> Survey:
    """Discover, read the target's ledgers (when an engine is given) and plan.

    ``create_ledgers``: a remote read also creates missing ledgers (``apply`` only)."""
    workspace = load_workspace(settings, env, names)
    if need_databases:
        require_databases(workspace)
    if engine is not None and engine.remote:
        workspace = replace(workspace, databases=resolve_databases(engine, workspace.databases))
    states = (
        read_states(
            engine,
            workspace.databases,
            settings.ledger_table,
            settings.concurrency,
            create=create_ledgers,
        )
        if engine
        else {}
    )
    ledgers = {key: state.rows for key, state in states.items() if state.exists}
    target = "remote" if engine is not None and engine.remote else "local"
    plan = build_plan(workspace, ledgers, target=target, root=display_root(settings))
    return Survey(
        with_copies(_with_ledger_warnings(plan, states), _applied_by_copy(states)), states
    )


def _applied_by_copy(
    states: dict[str, LedgerState],
) -> dict[str, tuple[tuple[str, frozenset[str]], ...]]:
    """Canonical names applied in each local copy of the databases that have several."""
    return {
        key: tuple(
            (label, frozenset(canonical_of(r.name) for r in copy.rows))
            for label, copy in state.copies
        )
        for key, state in states.items()
        if state.copies
    }


def _with_ledger_warnings(plan: Plan, states: dict[str, LedgerState]) -> Plan:
    databases = []
    for db in plan.databases:
        state = states.get(db.database.key)
        extra = tuple(
            Problem(
                Severity.WARNING,
                "ledger.foreign-table",
                f"migrations_table {table!r} exists with columns that are not wrangler's; orchestrate leaves it alone",
                database=db.database.name,
            )
            for table in (state.foreign if state else ())
        )
        if state is not None and state.problem is not None:
            extra += (state.problem,)
        databases.append(replace(db, problems=db.problems + extra) if extra else db)
    return replace(plan, databases=tuple(databases))


def make_plan(
    settings: Settings,
    env: str | None = None,
    names: tuple[str, ...] = (),
    engine: Engine | None = None,
) -> Plan:
    """Discover and plan; with an engine, statuses come from that target's ledgers."""
    return survey(settings, env, names, engine).plan


@dataclass(frozen=True)
class ApplyRequest:
    """What the user asked ``apply`` (or ``unlock``) to do."""

    settings: Settings
    env: str | None = None
    names: tuple[str, ...] = ()
    remote: bool = False
    engine: str | None = None
    persist_to: Path | None = None
    to: int | None = None
    fail_fast: bool = False
    batch: str = "database"  # remote: one guarded write per database, or "per-migration"

    def make_engine(self) -> Engine:
        return choose_engine(self.settings, self.remote, self.engine, self.persist_to)

    def options(self) -> ApplyOptions:
        s = self.settings
        flag_given = s.sources.get("allow_out_of_order") == "command line"
        per_database = (
            ()
            if flag_given
            else tuple(
                (name, db.allow_out_of_order)
                for name, db in s.databases.items()
                if db.allow_out_of_order is not None
            )
        )
        return ApplyOptions(
            s.ledger_table,
            self.to,
            s.allow_out_of_order,
            self.fail_fast,
            s.concurrency,
            s.lock_timeout,
            out_of_order_by_database=per_database,
            batch=self.batch,
        )


def apply_databases(
    request: ApplyRequest, progress: Progress | None = None, engine: Engine | None = None
) -> RunResult:
    """Plan against the target, then apply every selected database (``engine``: one
    already made, e.g. by a benchmark that times the client's start-up apart)."""
    engine = engine or request.make_engine()
    # A one-write apply creates the ledgers in its read (per-migration keeps its read
    # before the bookmark it takes ahead of any write).
    create = request.batch == "database"
    found = survey(
        request.settings,
        request.env,
        request.names,
        engine,
        need_databases=True,
        create_ledgers=create,
    )
    outside = pending_outside(request, found.plan, engine) if request.names else {}
    # The plan's read is the one read a one-write apply needs (its write is guarded by it).
    read = tuple((key, state) for key, state in found.states.items() if state.problem is None)
    options = replace(request.options(), states=read)
    return apply_plan(found.plan, engine, options, progress, outside=outside)


def pending_outside(request: ApplyRequest, plan: Plan, engine: Engine) -> dict[str, int]:
    """Pending migrations of each dependency that ``--db`` left out of the run (by name).

    ``depends_on`` holds for a selection too: a database waits for its dependency
    whether or not that dependency is selected. Unknown names are left out here
    (the plan already reports them).
    """
    selected = {db.database.name for db in plan.databases}
    wanted = sorted({n for db in plan.databases for n in db.database.depends_on} - selected)
    pending: dict[str, int] = {}
    for name in wanted:
        try:
            found = survey(request.settings, request.env, (name,), engine)
        except OrchestrateError:
            continue
        for db in found.plan.databases:
            pending[db.database.name] = len(db.pending)
    return pending


def plan_batches(request: ApplyRequest) -> dict[str, list[Batch] | Refusal]:
    """The batches ``apply`` would run, per database, without writing anything."""
    engine = request.make_engine()
    found = survey(request.settings, request.env, request.names, engine, need_databases=True)
    options = request.options()
    result: dict[str, list[Batch] | Refusal] = {}
    for db in found.plan.databases:
        if db.has_errors:
            first = next(p for p in db.problems if p.is_error)
            result[db.database.name] = Refusal(f"plan has errors: {first.message}", first.file)
            continue
        state = found.states.get(db.database.key, EMPTY_STATE)
        result[db.database.name] = planned_batches(
            db,
            state,
            options.ledger_table,
            options.to,
            options.allows_out_of_order(db.database.name),
            one_write=engine.remote and options.batch == "database",
        )
    return result


def unlock_databases(request: ApplyRequest) -> list[str]:
    """Clear the lock of each named database on every target; say what was cleared."""
    engine = request.make_engine()
    workspace = load_workspace(request.settings, request.env, request.names)
    lines = []
    for database in workspace.databases:
        names = ledger_names(database, request.settings.ledger_table)
        for target in engine.targets(database):
            if not engine.exists(target):
                continue
            session = engine.open(target)
            try:
                session.run(force_unlock_batch(names))
            finally:
                session.close()
            lines.append(f"{database.name} ({target.label}): unlocked")
    return lines


@dataclass(frozen=True)
class TargetHistory:
    """The most recent ledger rows of one target of a database."""

    database: Database
    target: str
    label: str
    entries: tuple[HistoryEntry, ...]


def database_history(
    settings: Settings, name: str, env: str | None, engine: Engine, limit: int
) -> tuple[TargetHistory, ...]:
    """Read-only: each target's most recent ledger rows, compared with the files on disk."""
    return tuple(h for _, h in target_histories(settings, name, env, engine, limit))


def target_histories(
    settings: Settings, name: str, env: str | None, engine: Engine, limit: int
) -> list[tuple[Target, TargetHistory]]:
    """``database_history``, each history beside the target it was read from."""
    database = load_workspace(settings, env, (name,)).databases[0]
    names = ledger_names(database, settings.ledger_table)
    where = "remote" if engine.remote else "local"
    histories = []
    for target in engine.targets(database):
        rows: tuple[LedgerRow, ...] = ()
        if engine.exists(target):
            session = engine.open(target, read_only=True)
            try:
                rows = read_history(session, names, limit)
            finally:
                session.close()
        entries = compare_history(database, rows)
        histories.append((target, TargetHistory(database, where, target.label, entries)))
    return histories


def make_dashboard(request: ApplyRequest) -> Dashboard:
    """Read every database of the target in parallel and build the dashboard (read-only).

    Drift comes from the last ``verify`` of this target, and only while the ledger it
    was measured on is still the target's (``schema.record``).
    """
    engine = request.make_engine()
    found = survey(request.settings, request.env, request.names, engine, need_databases=True)
    key = target_key(request.remote, request.env, request.persist_to)
    drift = recorded_drift(request.settings.root, key, found.plan, found.states)
    lint = lint_counts(found.plan, request.settings, request.env, request.names)
    now = time.time()
    return build_dashboard(
        found.plan, found.states, lint, drift, now, dashboard_origin(request, now)
    )


def dashboard_origin(request: ApplyRequest, now: float) -> Origin:
    """When, for which account and at which commit: the page header (read-only)."""
    return workspace_origin(request.settings, request.remote, now)


def workspace_origin(settings: Settings, remote: bool, now: float) -> Origin:
    """The header of a page (the dashboard, a fleet's status) for this workspace."""
    git = read_git(settings.root)
    account = None
    if remote:
        name = str(settings.remote.get("account_id_env", "CLOUDFLARE_ACCOUNT_ID"))
        account = os.environ.get(name, "").strip() or None
    return Origin(now, account, git.commit, git.dirty, git.web_url, git.prefix, _version())


def _version() -> str:
    try:
        return metadata.version("d1-orchestrate")
    except metadata.PackageNotFoundError:
        return ""


def lint_counts(
    plan: Plan, settings: Settings, env: str | None = None, names: tuple[str, ...] = ()
) -> dict[str, LintCounts]:
    """Lint errors and warnings in each database's pending migrations (nothing pending: no lint)."""
    pending = {s.migration.file: db.database.name for db in plan.databases for s in db.pending}
    if not pending:
        return {}
    # Imported here: the checks cost ~0.1 s to import and only `status` with pending needs them.
    from orchestrator.checks.service import lint_workspace

    report = lint_workspace(settings, env, names, [settings.root / file for file in pending])
    found: dict[str, list[Finding]] = {}
    for finding in report.findings:
        database = pending.get(finding.file or "")
        if database is not None and finding.severity is not Severity.INFO:
            found.setdefault(database, []).append(finding)
    return {db: _counts(findings) for db, findings in found.items()}


def _counts(findings: list[Finding]) -> LintCounts:
    errors = sum(1 for f in findings if f.is_error)
    ordered = sorted(findings, key=lambda f: (not f.is_error, f.sort_key))
    return LintCounts(errors, len(findings) - errors, tuple(ordered))
