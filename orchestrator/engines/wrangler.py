"""The wrangler engine: ``wrangler d1 execute <db> --remote --json -c <config> [--env E]``,
run in the binding's package directory, as an argv list (never a shell).

It serves ``--remote`` where no API token is set, since wrangler keeps its own
login; and, through the very same code, ``--local`` (``d1 execute --local``), so
it can be proven end to end against real wrangler.

A batch is ONE ``--command``: remotely wrangler sends the text as one
``POST …/query`` (one D1 transaction); locally it runs it as one ``db.batch``
(atomic, docs/d1-facts.md). ``--file`` is not used remotely, because there it
goes through Cloudflare's ``/import`` flow instead of ``/query``; a local batch
too long for one argument goes through ``--file``, which is atomic locally.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.commandline import restore_flag
from orchestrator.engines import Batch, BatchResult, Restored, Sql, Target
from orchestrator.engines.d1http import D1_EDIT, D1_READ
from orchestrator.engines.localstate import state_file
from orchestrator.engines.ratelimit import RateBudget, RetryPolicy
from orchestrator.engines.remote import (
    batch_result,
    locate_failure,
    lookup_name,
    reads_only,
    remote_target,
    restored,
    retry_safe,
    unnamed_binding,
)
from orchestrator.engines.wranglercli import (
    Failure,
    Runner,
    WranglerTimeout,
    find_wrangler,
    parse_output,
    render_batch,
    run_process,
    wrangler_environment,
)
from orchestrator.errors import AuthError, BatchError, OutcomeUnknown, TargetError
from orchestrator.model import Binding, Database
from orchestrator.settings import Settings

COMMAND_LIMIT = 100_000  # bytes: Linux refuses any single argument over 128 KiB
WRANGLER_TIMEOUT_S = 180.0
_RNG = random.Random()  # noqa: S311 - retry jitter, not cryptography


class WranglerEngine:
    """``wrangler d1 execute`` against remote D1 (``remote=True``) or local state."""

    name = "wrangler"

    def __init__(
        self,
        root: Path,
        command: Sequence[str],
        *,
        remote: bool,
        runner: Runner = run_process,
        environ: Mapping[str, str] | None = None,
        persist_to: Path | None = None,
        preview: bool = False,
        budget: RateBudget | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = WRANGLER_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.root = root
        self.command = tuple(command)
        self.remote = remote
        self.runner = runner
        self.environ = dict(os.environ if environ is None else environ)
        self.persist_to = persist_to
        self.preview = preview
        self.budget = budget or RateBudget()
        self.policy = policy or RetryPolicy(attempts=4, base_delay=1.0)
        self.timeout = timeout
        self.sleep = sleep

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        remote: bool,
        persist_to: Path | None = None,
        preview: bool = False,
    ) -> WranglerEngine:
        """Find wrangler and hand it the credentials ``[remote]`` names."""
        environ = wrangler_environment(settings.remote, os.environ)
        command = find_wrangler(settings.root, environ)
        return cls(
            settings.root,
            command,
            remote=remote,
            environ=environ,
            persist_to=persist_to,
            preview=preview,
        )

    def __repr__(self) -> str:
        return f"WranglerEngine(command={self.command!r}, remote={self.remote})"

    def targets(self, database: Database) -> tuple[Target, ...]:
        """Remote: one per database id. Local: one per binding package's state file."""
        if self.remote:
            return (remote_target(self.resolve(database)),)
        seen: dict[Path, Target] = {}
        for binding in database.bindings:
            path = state_file(self.root, binding, self.persist_to, self.preview)
            label = binding.package if self.persist_to is None else "persist-to"
            seen.setdefault(path, Target(database.name, label, str(path), _extra(binding)))
        return tuple(seen.values())

    def resolve(self, database: Database) -> Database:
        """Remotely, a database no binding gives an id is named by its binding: wrangler
        itself looks it up by name on every call (orchestrate, with no API token here,
        cannot learn the id)."""
        binding = unnamed_binding(database) if self.remote else None
        if binding is None:
            return database
        return replace(database, lookup_name=lookup_name(binding))

    def exists(self, target: Target) -> bool:
        """Local state that does not exist yet is not created by reading it."""
        return self.remote or Path(target.locator).is_file()

    def open(self, target: Target, *, read_only: bool = False) -> WranglerSession:
        """A session is just the target: every call is its own process."""
        return WranglerSession(self, target)

    def execute_argv(self, target: Target, sql_args: Sequence[str]) -> list[str]:
        """``wrangler d1 execute`` for ``target``; ``sql_args`` is ``--command …`` or ``--file …``."""
        where = ["--remote"] if self.remote else ["--local", *self._local_flags()]
        return [
            *self.command,
            *("d1", "execute", target.extra["binding"]),
            *where,
            "--json",
            *self._config_flags(target),
            *sql_args,
        ]

    def bookmark_argv(self, target: Target) -> list[str]:
        """``wrangler d1 time-travel info`` for ``target``."""
        info = ("d1", "time-travel", "info", target.extra["binding"], "--json")
        return [*self.command, *info, *self._config_flags(target)]

    def restore_argv(self, target: Target, point: str) -> list[str]:
        """``wrangler d1 time-travel restore`` for ``target`` (``--json``: no prompt)."""
        restore = ("d1", "time-travel", "restore", target.extra["binding"], restore_flag(point))
        return [*self.command, *restore, "--json", *self._config_flags(target)]

    def cwd(self, target: Target) -> Path:
        """Wrangler runs where the binding's config lives, as a person would."""
        return self.root / target.extra["package_dir"]

    def _config_flags(self, target: Target) -> list[str]:
        flags = ["-c", target.extra["config"].rpartition("/")[2]]
        return flags + (["--env", target.extra["env"]] if target.extra.get("env") else [])

    def _local_flags(self) -> list[str]:
        flags = ["--persist-to", str(self.persist_to)] if self.persist_to is not None else []
        return flags + (["--preview"] if self.preview else [])


def _extra(binding: Binding) -> dict[str, str]:
    return {
        "config": binding.config,
        "package_dir": binding.package_dir,
        "binding": binding.binding,
        "env": binding.env or "",
    }


class WranglerSession:
    """Runs batches on one target, one wrangler process per batch."""

    def __init__(self, engine: WranglerEngine, target: Target) -> None:
        self.engine = engine
        self.target = target

    def run(self, batch: Batch) -> BatchResult:
        """One ``d1 execute`` per batch; a failing statement raises ``BatchError``."""
        text = render_batch(batch, remote=self.engine.remote)
        what = f"{self.target.database} ({batch.label or 'query'})"
        permission = D1_READ if reads_only(batch) else D1_EDIT
        with tempfile.TemporaryDirectory(prefix="orchestrate-") as scratch:
            argv = self.engine.execute_argv(self.target, self._sql_args(text, Path(scratch), what))
            document = self._call(argv, retry_safe(batch), permission, what, batch.statements)
        return batch_result(document, batch, what)

    def bookmark(self) -> str | None:
        """Remote: the Time Travel bookmark (``d1 time-travel info``). Local state has none."""
        if not self.engine.remote:
            return None
        what = f"{self.target.database} (time travel bookmark)"
        argv = self.engine.bookmark_argv(self.target)
        document = self._call(argv, True, D1_READ, what, (), requests=2)
        bookmark = document.get("bookmark") if isinstance(document, dict) else None
        if not isinstance(bookmark, str) or not bookmark:
            raise TargetError(f"{what}: wrangler returned no bookmark")
        return bookmark

    def restore(self, point: str) -> Restored:
        """Remote: ``d1 time-travel restore`` (a name lookup, a bookmark for a time, the
        restore: three requests). Retry-safe: restoring to one point twice is the same."""
        what = f"{self.target.database} (time travel restore)"
        if not self.engine.remote:
            raise TargetError(
                f"{self.target.database}: local D1 has no Time Travel to restore from"
            )
        argv = self.engine.restore_argv(self.target, point)
        return restored(self._call(argv, True, D1_EDIT, what, (), requests=3))

    def close(self) -> None:
        """Nothing stays open between calls."""

    def _sql_args(self, text: str, scratch: Path, what: str) -> list[str]:
        if len(text.encode("utf-8")) <= COMMAND_LIMIT:
            return [f"--command={text}"]  # one token: text starting with "-" stays a value
        if self.engine.remote:
            raise TargetError(
                f"{what}: {len(text.encode()) // 1024} KiB is too long for `d1 execute --command`",
                hint="apply it with the api engine (set CLOUDFLARE_API_TOKEN)",
            )
        path = scratch / "batch.sql"
        path.write_text(text, encoding="utf-8")
        return [f"--file={path}"]

    def _call(
        self,
        argv: list[str],
        safe: bool,
        permission: str,
        what: str,
        statements: Sequence[Sql],
        requests: int = 1,
    ) -> Any:
        policy = self.engine.policy
        reason = ""
        for attempt in range(1, policy.attempts + 1):
            for _ in range(requests if self.engine.remote else 0):
                self.engine.budget.acquire()
            outcome = self._attempt(argv, safe, permission, what, statements)
            if isinstance(outcome, _Done):
                return outcome.document
            reason = outcome
            if attempt < policy.attempts:
                self.engine.sleep(policy.backoff(attempt, _RNG))
        raise TargetError(f"{what}: gave up after {policy.attempts} attempts: {reason}")

    def _attempt(
        self, argv: list[str], safe: bool, permission: str, what: str, statements: Sequence[Sql]
    ) -> _Done | str:
        engine = self.engine
        try:
            completed = engine.runner(argv, engine.cwd(self.target), engine.environ, engine.timeout)
        except WranglerTimeout as exc:
            if not safe:
                raise OutcomeUnknown(f"{what}: {exc}; the batch may or may not have run") from None
            return str(exc)
        parsed = parse_output(completed)
        if not isinstance(parsed, Failure):
            return _Done(parsed)
        return _act_on(parsed, safe, permission, what, statements)


@dataclass(frozen=True)
class _Done:
    document: Any


def _act_on(
    failure: Failure, safe: bool, permission: str, what: str, statements: Sequence[Sql]
) -> str:
    """Raise what cannot be retried; return the reason for what can."""
    if failure.kind == "auth":
        raise AuthError(
            f"{what}: wrangler was refused ({failure.message}); its API token or login "
            f"needs the {permission} permission",
            hint="`wrangler login`, or set CLOUDFLARE_API_TOKEN",
        )
    if failure.kind == "sql":
        raise BatchError(failure.message, locate_failure(statements, failure.message))
    if failure.kind == "rate":
        return failure.message  # a 429 ran nothing: any batch may be resent
    if failure.kind == "transient":
        if not safe:
            raise OutcomeUnknown(f"{what}: {failure.message}; the batch may or may not have run")
        return failure.message
    raise TargetError(f"{what}: wrangler: {failure.message}")
