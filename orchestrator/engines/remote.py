"""What the two remote engines (D1 API, wrangler) share: which binding names a
database remotely, which batches may be resent, and what a D1 error message means.

D1 reports a failed batch as one message, ``<sqlite message>: SQLITE_<CODE>``
(wrangler adds `` [code: 7500]``), without saying which statement of the batch
failed. ``locate_failure`` finds the statement that names the object in the
message; it is a best guess, so the message itself is always shown too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from orchestrator.commandline import shell_command
from orchestrator.discovery.wrangler import is_placeholder_id
from orchestrator.engines import Batch, BatchResult, Restored, Sql, Target
from orchestrator.engines.ledger import Elapsed
from orchestrator.errors import BatchError, OutcomeUnknown, TargetError
from orchestrator.model import Binding, Database
from orchestrator.sqltext import Kind, crlf_to_lf, tokenize

_SQL_ERROR_RE = re.compile(r"\bSQLITE_[A-Z_]+\b")
_CODE_SUFFIX_RE = re.compile(r"\s*\[code: \d+\]\s*$")
# D1's refusal of BEGIN/COMMIT/SAVEPOINT carries no SQLITE_ code.
_TRANSACTION_REFUSAL = "state.storage.transaction"
_CONTROL_WORDS = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")

# (pattern, what the first group names); tried in order.
_NAMED = (
    (re.compile(r"(?:table|index|view|trigger) ([^\s:]+) already exists"), "created"),
    (re.compile(r"no such (?:table|index|view|trigger|function|module): ([^\s:]+)"), "object"),
    (re.compile(r"no such column: ([^\s:]+)"), "object"),
    (re.compile(r"duplicate column name: ([^\s:]+)"), "object"),
    (re.compile(r"(?:UNIQUE|NOT NULL|PRIMARY KEY) constraint failed: ([^\s:.,]+)"), "object"),
    (re.compile(r'near "([^"]+)": syntax error'), "token"),
)
Matcher = Callable[[tuple[str, ...], set[str]], bool]


def remote_binding(database: Database) -> Binding:
    """The binding that names ``database`` remotely: the first one carrying its real id,
    or, once resolved by name (``lookup_name``), the first one.

    A placeholder id (all zeros) cannot be reached remotely: wrangler would send it
    as it is, and guessing a production target by name is not a risk worth taking.
    """
    for binding in database.bindings:
        if binding.database_id == database.id and not is_placeholder_id(binding.database_id):
            return binding
    if database.lookup_name:
        return database.bindings[0]
    first = database.bindings[0]
    raise TargetError(
        f"binding {first.binding} ({database.name}) has no database_id, which remote "
        "operations need",
        file=first.config,
        line=first.line,
        hint=f"create it (`{shell_command('wrangler', 'd1', 'create', database.name)}`) and put its id in the config",
    )


def remote_target(database: Database) -> Target:
    """One remote target per database, however many packages bind it."""
    binding = remote_binding(database)
    extra = {
        "config": binding.config,
        "package_dir": binding.package_dir,
        "binding": binding.binding,
        "env": binding.env or "",
    }
    return Target(database.name, "remote", database.id or binding.database_id, extra)


def unnamed_binding(database: Database) -> Binding | None:
    """The binding to resolve by name: a database none of whose bindings has a ``database_id``
    (wrangler >= 4.102 looks those up; an empty string counts as none, as in wrangler)."""
    if database.id or database.lookup_name:
        return None
    if any(b.database_id for b in database.bindings):
        return None  # a placeholder id: refused by remote_binding, as before
    return database.bindings[0]


def lookup_name(binding: Binding) -> str:
    """What wrangler asks the API for: ``database_name``, else the name ``wrangler deploy``
    auto-provisions (``<worker>-<binding, lower case, _ as ->``)."""
    if binding.database_name:
        return binding.database_name
    if not binding.worker_name:
        raise TargetError(
            f"binding {binding.binding} has no database_name or database_id, and the Worker "
            "has no name, so it cannot be looked up remotely; set database_name or "
            "database_id in the binding",
            file=binding.config,
            line=binding.line,
        )
    return f"{binding.worker_name}-{binding.binding.lower().replace('_', '-')}"


def not_found(binding: Binding, name: str) -> TargetError:
    """wrangler's words for a name the API does not know (the way on in the same line:
    plan reports it as a problem, which has no separate hint)."""
    if binding.database_name:
        message = (
            f"no D1 database named {name!r} (bound as {binding.binding!r}) in the API; "
            f"create it with `{shell_command('wrangler', 'd1', 'create', name)}`"
        )
    else:
        message = (
            f"no auto-provisioned D1 database named {name!r} for binding {binding.binding!r} "
            "in the API; run `wrangler deploy` to provision it, or set database_name or "
            "database_id in the binding"
        )
    return TargetError(message, file=binding.config, line=binding.line)


def reads_only(batch: Batch) -> bool:
    """Does ``batch`` only read?"""
    return all(_is_select(s.text) for s in batch.statements)


def retry_safe(batch: Batch) -> bool:
    """May ``batch`` be resent when the outcome of a send is unknown?"""
    return batch.retry_safe or reads_only(batch)


def _is_select(text: str) -> bool:
    head = text.lstrip().split(None, 1)
    return bool(head) and head[0].upper() in ("SELECT", "WITH", "PRAGMA", "EXPLAIN")


def statement_text(statement: Sql) -> str:
    """The statement as sent: always ending with ``;``."""
    text = statement.text.rstrip()
    return text if text.endswith(";") else text + ";"


def remote_text(statement: Sql) -> str:
    """The statement as sent to remote D1: CRLF outside literals as LF, as wrangler >= 4.124."""
    return crlf_to_lf(statement_text(statement))


def bound_params(statement: Sql) -> list[object]:
    """Parameters as sent; the elapsed-time placeholder is NULL (unknown before commit)."""
    return [None if isinstance(p, Elapsed) else p for p in statement.params]


def is_sql_error(message: str) -> bool:
    """Did D1 reject a statement (rather than fail to run the batch at all)?"""
    return bool(_SQL_ERROR_RE.search(message)) or _TRANSACTION_REFUSAL in message


def clean_message(message: str) -> str:
    """The database's words, without wrangler's `` [code: N]`` suffix."""
    return _CODE_SUFFIX_RE.sub("", message.strip())


def locate_failure(statements: Sequence[Sql], message: str) -> int | None:
    """Best guess at the failing statement's index, or None when nothing points at one."""
    if _TRANSACTION_REFUSAL in message:
        return _first(statements, lambda words, _names: bool(words) and words[0] in _CONTROL_WORDS)
    named = _named_object(message)
    return _first(statements, _matcher(*named)) if named is not None else None


def _named_object(message: str) -> tuple[str, str] | None:
    for pattern, kind in _NAMED:
        found = pattern.search(message)
        if found is not None:
            name = found.group(1).strip("\"'`[]").lower()
            return kind, name.removeprefix("main.")
    return None


def _matcher(kind: str, wanted: str) -> Matcher:
    table = wanted.split(".")[0]
    if kind == "token":
        return lambda _words, names: wanted in names
    if kind == "created":
        return lambda words, names: words[:1] == ("CREATE",) and wanted in names
    return lambda _words, names: wanted in names or table in names


def _first(statements: Sequence[Sql], test: Matcher) -> int | None:
    for index, statement in enumerate(statements):
        tokens = [t for t in tokenize(statement.text) if t.is_code]
        words = tuple(t.upper for t in tokens)
        names = {t.name for t in tokens} | {t.text.lower() for t in tokens if t.kind is Kind.OP}
        if test(words, names):
            return index
    return None


def restored(document: object) -> Restored:
    """A restore's answer (the API's ``result``, or ``wrangler … restore --json``):
    ``{"bookmark", "previous_bookmark", "message"}``; fields that are not text are None."""
    found = document if isinstance(document, dict) else {}
    bookmark, previous = found.get("bookmark"), found.get("previous_bookmark")
    return Restored(
        bookmark if isinstance(bookmark, str) and bookmark else None,
        previous if isinstance(previous, str) and previous else None,
    )


def batch_result(document: object, batch: Batch, what: str) -> BatchResult:
    """Rows per statement from D1's result array (the API's ``result``, wrangler's ``--json``).

    An answer of the wrong shape (``result`` not a list, an entry without its ``results``
    list) is never read as "no rows": for a read that is one clear error, for a write an
    unknown outcome, which the runner settles from the ledger. ``meta`` is optional.
    """
    listed = document if isinstance(document, list) else []
    for index, entry in enumerate(listed):
        if isinstance(entry, dict) and entry.get("success") is False:  # D1 fails whole requests
            message = clean_message(str(entry.get("error") or "statement failed"))
            raise BatchError(message, index)
    shape = _shape_problem(document)
    if shape:
        if retry_safe(batch):
            raise TargetError(f"{what}: the answer has the wrong shape: {shape}")
        raise OutcomeUnknown(
            f"{what}: the answer to a write has the wrong shape ({shape}); its outcome is unknown"
        )
    entries = cast("list[dict[str, Any]]", document)
    if len(entries) != len(batch.statements) and retry_safe(batch):
        # Rows are matched to statements by position; a mismatch would misread the ledger.
        raise TargetError(f"{what}: {len(entries)} results for {len(batch.statements)} statements")
    rows = tuple(tuple(e["results"]) for e in entries)
    duration = sum(_duration(e.get("meta")) for e in entries)
    return BatchResult(rows, duration)


def _shape_problem(document: object) -> str:
    """What is wrong with a result array, in words ("" when nothing is)."""
    if not isinstance(document, list):
        return f"result is {_json_kind(document)}, not a list"
    for index, entry in enumerate(document):
        if not isinstance(entry, dict):
            return f"result[{index}] is {_json_kind(entry)}, not an object"
        if entry.get("success") is False:
            continue  # a failed statement carries an error, not results
        results = entry.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            return f"result[{index}].results is {_json_kind(results)}, not a list of rows"
    return ""


def _json_kind(value: object) -> str:
    if value is None:
        return "missing"
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return next((w for k, w in kinds.items() if isinstance(value, k)), "a number")


def _duration(meta: object) -> float:
    """``meta.duration`` in ms when it is a number; missing or odd, 0."""
    value = meta.get("duration") if isinstance(meta, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 0.0
