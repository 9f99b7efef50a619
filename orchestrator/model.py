"""The domain model: frozen data, no I/O, no rich.

Every path held here is relative to the workspace root and uses ``/`` separators,
so the model prints the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class Severity(StrEnum):
    """How bad a problem or finding is; ``error`` fails the command."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Status(StrEnum):
    """Where one migration stands on one target."""

    APPLIED = "applied"
    PENDING = "pending"
    CHANGED = "changed"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the workspace, a file or a database."""

    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    database: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class Binding:
    """One ``d1_databases`` entry of one wrangler config."""

    package: str
    binding: str
    config: str
    database_name: str
    database_id: str
    preview_database_id: str
    migrations_dir: str
    migrations_table: str
    env: str | None = None
    line: int | None = None
    has_database_id: bool = True
    local_name: str = ""
    migrations_pattern: str = ""  # wrangler >= 4.98: glob relative to migrations_dir ("" = *.sql)
    worker_name: str = (
        ""  # the Worker's ``name`` for this env (``<name>-<env>`` unless the env sets one)
    )

    @property
    def state_key(self) -> str:
        """What miniflare hashes for the local file: ``preview_database_id ?? database_id ?? binding``."""
        if self.local_name:
            return self.local_name
        if self.preview_database_id:
            return self.preview_database_id
        return self.database_id if self.has_database_id else self.binding

    @property
    def package_dir(self) -> str:
        """Directory of the wrangler config, where wrangler runs for this binding."""
        return self.config.rpartition("/")[0] or "."


@dataclass(frozen=True)
class Migration:
    """One SQL migration file, identified by its canonical 4-digit name."""

    number: int
    description: str
    file: str
    source: str
    package: str
    checksum: str
    sql: str = field(repr=False, compare=False)

    @cached_property
    def name(self) -> str:
        """Canonical name: the 4-digit form without ``.sql``; identity across renames."""
        return canonical_name(self.number, self.description)

    @property
    def numbered(self) -> bool:
        """False for a file with no numeric prefix (wrangler applies it after the numbered ones)."""
        return self.number != NO_NUMBER

    @property
    def filename(self) -> str:
        """Canonical file name, the ledger's ``filename``."""
        return self.name + ".sql"

    @property
    def wrangler_name(self) -> str:
        """Wrangler's ledger name: the path relative to ``migrations_dir``."""
        return self.file[len(self.source) + 1 :] if self.source != "." else self.file


NO_NUMBER = 2**62
"""The number of a migration whose file name has none: it sorts after every numbered one."""


def canonical_name(number: int, description: str) -> str:
    """``(9, "user_plugins")`` -> ``0009_user_plugins``; an unnumbered file keeps its stem."""
    if number == NO_NUMBER:
        return description
    return f"{number:04d}_{description}"


@dataclass(frozen=True)
class Database:
    """A D1 database and everything that feeds it."""

    key: str
    name: str
    id: str
    bindings: tuple[Binding, ...]
    migrations: tuple[Migration, ...]
    depends_on: tuple[str, ...] = ()
    # Set when ``id`` was resolved remotely by this name (a binding without ``database_id``).
    lookup_name: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """Migration directories that feed this database, sorted."""
        return tuple(sorted({b.migrations_dir for b in self.bindings}))

    @property
    def env(self) -> str | None:
        """The wrangler environment (``[env.NAME]``) its bindings come from, if any: the
        ``--env`` a printed command for it needs."""
        return next((b.env for b in self.bindings if b.env), None)


@dataclass(frozen=True)
class Workspace:
    """Everything discovery found under one root."""

    root: str
    env: str | None
    databases: tuple[Database, ...]
    problems: tuple[Problem, ...]
    packages: tuple[str, ...] = ()
    known_databases: tuple[str, ...] = ()  # every database discovered, selected or not
    envs: tuple[str, ...] = ()  # every [env.NAME] the configs define
    d1_envs: tuple[str, ...] = ()  # the environments that bind D1


@dataclass(frozen=True)
class LedgerRow:
    """One applied migration as a target's ledger records it."""

    name: str
    checksum: str | None = None
    applied_at: str | None = None
    execution_time_ms: int | None = None
    source: str | None = None
    bookmark: str | None = None


@dataclass(frozen=True)
class Step:
    """One migration in a database's plan, with its status on the target."""

    migration: Migration
    status: Status
    after: tuple[str, ...] = ()
    applied_at: str | None = None
    out_of_order: bool = False


@dataclass(frozen=True)
class CopyStatus:
    """One local copy of a database bound by several packages (each has its own state file)."""

    package: str
    applied: int
    missing: tuple[str, ...] = ()  # canonical names another copy has applied and this one lacks


@dataclass(frozen=True)
class DatabasePlan:
    """A database's migrations in apply order, and what is wrong with them."""

    database: Database
    steps: tuple[Step, ...]
    problems: tuple[Problem, ...]
    inferred_edges: tuple[tuple[str, str], ...] = ()
    ledger_read: bool = False
    copies: tuple[CopyStatus, ...] = ()  # local copies, when several packages each hold one

    @property
    def pending(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.status is Status.PENDING)

    @property
    def changed(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.status is Status.CHANGED)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)


@dataclass(frozen=True)
class Plan:
    """The whole workspace's plan for one target."""

    root: str
    target: str
    env: str | None
    databases: tuple[DatabasePlan, ...]
    problems: tuple[Problem, ...]
    database_edges: tuple[tuple[str, str], ...] = ()

    @property
    def all_problems(self) -> tuple[Problem, ...]:
        """Workspace problems first, then each database's, in plan order."""
        nested = tuple(p for d in self.databases for p in d.problems)
        return self.problems + nested

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.all_problems)

    def database(self, name: str) -> DatabasePlan | None:
        """The plan of the database called ``name`` (or keyed so), if any."""
        for db in self.databases:
            if name in (db.database.name, db.database.key):
                return db
        return None


class RunStatus(StrEnum):
    """How applying to one database ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    UP_TO_DATE = "up-to-date"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class AppliedMigration:
    """One migration that committed, and how long it took (``timed`` is False when
    its commit was only confirmed afterwards, from the ledger: the time is unknown)."""

    name: str
    file: str
    ms: float
    timed: bool = True


@dataclass(frozen=True)
class Result:
    """What happened to one database in an apply run."""

    database: str
    status: RunStatus
    applied: tuple[AppliedMigration, ...] = ()
    error: str | None = None
    file: str | None = None
    line: int | None = None
    targets: tuple[str, ...] = ()
    bookmark: str | None = None
    restore_command: str | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    # Migrations another writer (wrangler, a second orchestrate) recorded while this
    # run was applying: not run by this run, settled from the ledger.
    elsewhere: tuple[str, ...] = ()
    # (package, status, migrations applied) per local copy, when there are several
    copies: tuple[tuple[str, str, int], ...] = ()

    def __bool__(self) -> bool:
        # A skipped database was not brought up to date either: the run has failed it.
        return self.status in (RunStatus.OK, RunStatus.UP_TO_DATE)


@dataclass(frozen=True)
class RunResult:
    """The whole apply run; falsy when any database failed."""

    target: str
    results: tuple[Result, ...]
    interrupted: bool = False
    dry_run: bool = False
    problems: tuple[Problem, ...] = ()  # workspace errors (a broken config): the run fails on them
    # (database, id, name it was resolved by or ""), for every database of the plan
    ids: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return not self.interrupted and all(self.results) and not self.problems
