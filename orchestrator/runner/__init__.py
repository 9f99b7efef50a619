"""The runner: databases in parallel (``--jobs``), each strictly in plan order,
``depends_on`` respected, one failure isolated unless ``--fail-fast``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from orchestrator.engines import Engine
from orchestrator.model import Database, DatabasePlan, Plan, Result, RunResult, RunStatus
from orchestrator.runner.job import ApplyOptions, Owner, Progress, apply_database

__all__ = ["ApplyOptions", "Progress", "apply_plan"]


def apply_plan(
    plan: Plan,
    engine: Engine,
    options: ApplyOptions,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    outside: Mapping[str, int] | None = None,
) -> RunResult:
    """Apply every database of ``plan``; Ctrl-C finishes the migrations in flight, then stops.

    ``outside``: pending migration counts of dependencies not in ``plan`` (``--db``
    left them out); a database whose dependency there has pending migrations is skipped.
    """
    progress = progress or Progress()
    cancel = cancel or threading.Event()
    scheduler = _Scheduler(plan, engine, options, progress, cancel, dict(outside or {}))
    # Databases a broken config hides are not in the plan: their errors fail the run.
    errors = tuple(p for p in plan.problems if p.is_error)
    ids = tuple((d.database.name, d.database.id, d.database.lookup_name) for d in plan.databases)
    try:
        scheduler.run()
    except KeyboardInterrupt:
        cancel.set()
        scheduler.drain()
        return RunResult(
            plan.target, scheduler.results(), interrupted=True, problems=errors, ids=ids
        )
    return RunResult(plan.target, scheduler.results(), problems=errors, ids=ids)


class _Scheduler:
    """Starts a database once everything it depends on has finished well."""

    def __init__(
        self,
        plan: Plan,
        engine: Engine,
        options: ApplyOptions,
        progress: Progress,
        cancel: threading.Event,
        outside: dict[str, int] | None = None,
    ) -> None:
        self.outside = outside or {}
        self.plan = plan
        self.engine = engine
        self.options = options
        self.progress = progress
        self.cancel = cancel
        self.owner = Owner()
        self.done: dict[str, Result] = {}
        self.running: dict[Future[Result], str] = {}
        self.waiting = [db for db in plan.databases]
        # A database whose depends_on names no database is not applied: its order is unknown.
        self.unknown_dependency = {
            p.database: p for p in plan.problems if p.code == "config.depends-on" and p.database
        }
        self.pool = ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="apply")

    def run(self) -> None:
        try:
            while self.waiting or self.running:
                self._start_ready()
                if not self.running:
                    break
                finished, _ = wait(list(self.running), timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._finish(future)
            for db in self.waiting:  # still waiting on each other: a depends_on cycle
                self._record(
                    Result(
                        db.database.name, RunStatus.SKIPPED, error="not started: depends_on cycle"
                    )
                )
            self.waiting = []
        except KeyboardInterrupt:
            self.cancel.set()  # before the pool waits: workers stop after their migration in flight
            raise
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def drain(self) -> None:
        """After Ctrl-C: let the migrations in flight end, record what happened."""
        for future in list(self.running):
            self._finish(future)
        for db in self.waiting:
            self._record(
                Result(db.database.name, RunStatus.SKIPPED, error="not started: interrupted")
            )
        self.waiting = []

    def _start_ready(self) -> None:
        for db in list(self.waiting):
            if len(self.running) >= self.options.jobs:
                return  # queue here, not in the pool, so --fail-fast can still skip the rest
            verdict = self._verdict(db)
            if verdict == "wait":
                continue
            self.waiting.remove(db)
            if isinstance(verdict, Result):
                self._record(verdict)
            else:
                future = self.pool.submit(
                    apply_database,
                    self.engine,
                    db.database,
                    self.options,
                    self.progress,
                    self.cancel,
                    self.owner,
                    db.copies,
                )
                self.running[future] = db.database.name

    def _verdict(self, db: DatabasePlan) -> Result | str:
        name = db.database.name
        if self.cancel.is_set():
            return Result(name, RunStatus.SKIPPED, error=self._stop_reason())
        if name in self.unknown_dependency:
            problem = self.unknown_dependency[name]
            return Result(name, RunStatus.SKIPPED, error=f"not started: {problem.message}")
        if db.has_errors:
            first = next(p for p in db.problems if p.is_error)
            return Result(
                name,
                RunStatus.SKIPPED,
                error=f"plan has errors: {first.message}",
                file=first.file,
                line=first.line,
            )
        for needed in db.database.depends_on:
            if needed in self.done:
                if not self.done[needed]:
                    return Result(name, RunStatus.SKIPPED, error=f"not started: {needed} failed")
            elif self._known(needed):
                return "wait"
            elif self.outside.get(needed, 0) > 0:
                return Result(
                    name,
                    RunStatus.SKIPPED,
                    error=(
                        f"not started: it depends on {needed}, which has {self.outside[needed]} "
                        f"pending migration(s); apply {needed} first, or select it too (--db {needed})"
                    ),
                )
        return "go"

    def _stop_reason(self) -> str:
        if not self._failed_any():
            return "not started: interrupted"
        if self.options.fail_fast:
            return "not started: --fail-fast"
        return "not started: the credentials were refused"  # the only other reason to stop all

    def _known(self, name: str) -> bool:
        return any(d.database.name == name for d in self.plan.databases)

    def _finish(self, future: Future[Result]) -> None:
        name = self.running.pop(future)
        try:
            result = future.result()
        except Exception as exc:  # a bug in an engine must not hide the other databases' results
            result = Result(
                name, RunStatus.FAILED, error=f"internal error: {type(exc).__name__}: {exc}"
            )
        self._record(result)

    def _record(self, result: Result) -> None:
        self.done[result.database] = result
        self.progress.finished(result)
        if not result and self.options.fail_fast:
            self.cancel.set()

    def _failed_any(self) -> bool:
        return any(not r for r in self.done.values())

    def results(self) -> tuple[Result, ...]:
        order = [db.database.name for db in self.plan.databases]
        return tuple(self.done[n] for n in order if n in self.done)


def databases_of(plan: Plan) -> tuple[Database, ...]:
    """The databases a plan covers, in plan order."""
    return tuple(db.database for db in plan.databases)
