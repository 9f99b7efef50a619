"""The D1 API engine: each batch is ONE ``POST …/query`` request.

The request body is ``{"batch": [{"sql": "…;", "params": […]}, …]}``: one item per
statement, every value a parameter (never pasted into SQL), each ``sql`` ending
with ``;``. D1 runs a request's statements as one transaction, so a migration and
its ledger rows commit together or not at all. Remote targets are keyed by
``database_id``: a database bound by several packages is applied once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from orchestrator.commandline import restore_point_kind
from orchestrator.engines import Batch, BatchResult, Restored, Target
from orchestrator.engines.d1http import D1_EDIT, D1_READ, D1Http, credentials_from
from orchestrator.engines.remote import (
    batch_result,
    bound_params,
    locate_failure,
    lookup_name,
    not_found,
    reads_only,
    remote_target,
    remote_text,
    restored,
    retry_safe,
    unnamed_binding,
)
from orchestrator.errors import BatchError, NotFound, TargetError
from orchestrator.model import Database


class ApiEngine:
    """Cloudflare's D1 REST API, through one shared ``D1Http`` client."""

    name = "api"
    remote = True

    def __init__(self, http: D1Http) -> None:
        self.http = http
        self._resolved: dict[str, str | TargetError] = {}  # lookup name -> uuid, or why not
        self._resolving = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        remote: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> ApiEngine:
        """Build the engine from ``[remote]`` and the environment (``transport`` for tests)."""
        credentials = credentials_from(remote, os.environ if environ is None else environ)
        return cls(D1Http(credentials, transport=transport))

    def __repr__(self) -> str:
        return f"ApiEngine({self.http!r})"

    def targets(self, database: Database) -> tuple[Target, ...]:
        """One target per database, addressed by its ``database_id`` (resolved by name if need be)."""
        return (remote_target(self.resolve(database)),)

    def resolve(self, database: Database) -> Database:
        """``database`` with the id the API gives its name, when no binding has a
        ``database_id``; the same request as wrangler >= 4.102, once per name per run."""
        binding = unnamed_binding(database)
        if binding is None:
            return database
        name = lookup_name(binding)
        with self._resolving:
            if name not in self._resolved:
                self._resolved[name] = self._lookup(name, database.name)
            found = self._resolved[name]
        if isinstance(found, TargetError):
            raise not_found(binding, name)
        return replace(database, id=found, lookup_name=name)

    def _lookup(self, name: str, what: str) -> str | TargetError:
        path = f"{self.http.database_path(quote(name, safe=''))}?fields=uuid%2Cname"
        try:
            result = self.http.get(path, f"{what} (lookup by name {name!r})")
        except NotFound as exc:
            return exc
        uuid = result.get("uuid") if isinstance(result, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise TargetError(f"{what}: the API answered the lookup of {name!r} without a uuid")
        return uuid

    def exists(self, target: Target) -> bool:
        """A remote database exists once it has an id; a missing one fails on first use."""
        return True

    def open(self, target: Target, *, read_only: bool = False) -> ApiSession:
        """Sessions are cheap: they share the engine's connection pool."""
        return ApiSession(self.http, target)

    def close(self) -> None:
        """Close the shared connection pool."""
        self.http.close()


class ApiSession:
    """Batches and bookmarks of one remote database."""

    def __init__(self, http: D1Http, target: Target) -> None:
        self.http = http
        self.target = target

    def run(self, batch: Batch) -> BatchResult:
        """Send ``batch`` as one request; a failing statement raises ``BatchError`` with its index."""
        body = {
            "batch": [{"sql": remote_text(s), "params": bound_params(s)} for s in batch.statements]
        }
        what = f"{self.target.database} ({batch.label or 'query'})"
        path = self.http.database_path(self.target.locator, "query")
        permission = D1_READ if reads_only(batch) else D1_EDIT
        try:
            result = self.http.call(
                "POST", path, body, retry_safe=retry_safe(batch), permission=permission, what=what
            )
        except BatchError as exc:
            index = locate_failure(batch.statements, exc.sqlite_message)
            raise BatchError(exc.sqlite_message, index) from None
        return batch_result(result, batch, what)

    def bookmark(self) -> str | None:
        """The Time Travel bookmark of the database's current state."""
        path = self.http.database_path(self.target.locator, "time_travel", "bookmark")
        result = self.http.get(path, f"{self.target.database} (time travel bookmark)")
        bookmark = result.get("bookmark") if isinstance(result, dict) else None
        if not isinstance(bookmark, str) or not bookmark:
            raise TargetError(f"{self.target.database}: the API returned no bookmark")
        return bookmark

    def restore(self, point: str) -> Restored:
        """``POST …/time_travel/restore?bookmark=|timestamp=``: D1 puts the database back to
        ``point``. Retry-safe: restoring to one point twice leaves the same state."""
        path = self.http.database_path(self.target.locator, "time_travel", "restore")
        result = self.http.call(
            "POST",
            f"{path}?{urlencode({restore_point_kind(point): point})}",
            None,
            retry_safe=True,
            permission=D1_EDIT,
            what=f"{self.target.database} (time travel restore)",
        )
        return restored(result)

    def close(self) -> None:
        """Nothing to release: the connection pool belongs to the engine."""
