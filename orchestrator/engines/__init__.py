"""Engines: one small protocol over the places a D1 database lives.

- ``local``: the SQLite file that ``wrangler dev`` / ``d1 execute --local`` use;
- ``api``: the Cloudflare D1 REST API (httpx);
- ``wrangler``: ``wrangler d1 execute --remote`` as a subprocess.

Every engine runs the same SQL (built in ``engines.ledger``); a ``Batch`` is
atomic on every engine: all of it commits, or none of it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.model import Database

Params = tuple[Any, ...]


@dataclass(frozen=True)
class Sql:
    """One statement with its parameters, and where it came from (for errors)."""

    text: str
    params: Params = ()
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Batch:
    """Statements that commit together or not at all.

    ``retry_safe``: running it twice has the effect of running it once (reads,
    lock, unlock), so a remote engine may resend it when a send's outcome is
    unknown. A migration batch is never retry-safe: the runner verifies first.
    """

    statements: tuple[Sql, ...]
    label: str = ""
    retry_safe: bool = False


@dataclass(frozen=True)
class BatchResult:
    """Rows returned per statement, and the server-side time taken."""

    rows: tuple[tuple[dict[str, Any], ...], ...]
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Target:
    """One physical copy of a database an engine can reach."""

    database: str
    label: str
    locator: str
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Restored:
    """A Time Travel restore that D1 accepted: the bookmark it restored to, and the one of
    the state it replaced (restoring to that undoes the restore)."""

    bookmark: str | None
    previous_bookmark: str | None


class Session(Protocol):
    """An open connection to one target."""

    def run(self, batch: Batch) -> BatchResult:
        """Run ``batch`` atomically; raise ``MigrationError``/``TargetError`` on failure."""
        ...

    def bookmark(self) -> str | None:
        """A Time Travel bookmark for the target's current state (None where there is none)."""
        ...

    def restore(self, point: str) -> Restored:
        """Time Travel the target back to ``point``: a bookmark, or an RFC 3339 time.
        Remote only: local state has no Time Travel (``TargetError``)."""
        ...

    def close(self) -> None: ...


class Engine(Protocol):
    """Finds a database's targets and opens sessions on them."""

    @property
    def name(self) -> str: ...

    @property
    def remote(self) -> bool: ...

    def targets(self, database: Database) -> tuple[Target, ...]:
        """Every copy of ``database`` this engine writes to."""
        ...

    def resolve(self, database: Database) -> Database:
        """``database`` as this engine reaches it (remotely, an id looked up by name)."""
        ...

    def open(self, target: Target, *, read_only: bool = False) -> Session:
        """Open a session; ``read_only`` sessions never create or change anything."""
        ...

    def exists(self, target: Target) -> bool:
        """False when the target has never been created (nothing applied)."""
        ...
