"""D1's import flow, for SQL that ``/query`` cannot take (a statement over 100 KB, or
a run past 30 s): ``init`` (with the file's md5) -> upload -> ``ingest`` -> ``poll``.

The file carries no parameters, so the few values orchestrate adds (ledger rows)
are written as SQL literals by ``sql_literal``, which quotes every string. The
upload URL is presigned: the API token is never sent there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence

import httpx

from orchestrator.engines import Sql
from orchestrator.engines.d1http import D1_EDIT, D1Http
from orchestrator.engines.ledger import Elapsed
from orchestrator.engines.remote import statement_text
from orchestrator.errors import BatchError, OutcomeUnknown, TargetError

POLL_ATTEMPTS = 120


def sql_literal(value: object) -> str:
    """A value as an SQL literal: NULL, a number, or a quoted string."""
    if value is None or isinstance(value, Elapsed):
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def render_file(statements: Sequence[Sql]) -> str:
    """The statements as one SQL file, parameters inlined as literals."""
    lines = []
    for statement in statements:
        text = statement_text(statement)
        for value in statement.params:
            head, mark, tail = text.partition("?")
            if not mark:
                raise ValueError("more parameters than placeholders")
            text = head + sql_literal(value) + tail
        lines.append(text)
    return "\n".join(lines) + "\n"


def import_sql(
    http: D1Http, database_id: str, sql: str, what: str, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Run ``sql`` on a database through the import flow; raise ``BatchError`` if it failed.

    Once ``ingest`` is sent the outcome may be unknown (``OutcomeUnknown``): the
    caller settles it by reading the ledger, whose rows are in the same file.
    """
    data = sql.encode("utf-8")
    etag = hashlib.md5(data).hexdigest()  # noqa: S324 - D1's etag is an md5, not a secret
    path = http.database_path(database_id, "import")
    init = http.call(
        "POST",
        path,
        {"action": "init", "etag": etag},
        retry_safe=True,
        permission=D1_EDIT,
        what=f"{what} (import init)",
    )
    url, filename = _init_fields(init, what)
    _upload(url, data, what)
    ingest = http.call(
        "POST",
        path,
        {"action": "ingest", "etag": etag, "filename": filename},
        retry_safe=False,
        permission=D1_EDIT,
        what=f"{what} (import ingest)",
    )
    at = ingest.get("at_bookmark") if isinstance(ingest, dict) else None
    if not at:
        raise OutcomeUnknown(f"{what}: ingest returned no bookmark to poll")
    _poll(http, path, str(at), what, sleep)


def _init_fields(result: object, what: str) -> tuple[str, str]:
    if not isinstance(result, dict) or not result.get("upload_url") or not result.get("filename"):
        raise TargetError(f"{what}: import init returned no upload URL")
    return str(result["upload_url"]), str(result["filename"])


def _upload(url: str, data: bytes, what: str) -> None:
    try:
        response = httpx.put(url, content=data, timeout=httpx.Timeout(120.0, connect=10.0))
    except httpx.HTTPError as exc:
        raise TargetError(f"{what}: upload failed: {type(exc).__name__}") from None
    if not response.is_success:
        raise TargetError(f"{what}: upload refused (HTTP {response.status_code})")


def _poll(http: D1Http, path: str, at: str, what: str, sleep: Callable[[float], None]) -> None:
    delay = 0.05
    for _ in range(POLL_ATTEMPTS):
        result = http.call(
            "POST",
            path,
            {"action": "poll", "current_bookmark": at},
            retry_safe=True,
            permission=D1_EDIT,
            what=f"{what} (import poll)",
        )
        status = result.get("status") if isinstance(result, dict) else None
        if status == "complete":
            return
        if status == "error" or (
            isinstance(result, dict) and result.get("success") is False and status != "active"
        ):
            raise BatchError(str(result.get("error") or "import failed"))
        sleep(delay)
        delay = min(2.0, delay * 2)
    raise OutcomeUnknown(f"{what}: the import did not finish while polled")
