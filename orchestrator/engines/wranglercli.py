"""Running wrangler: where it is, how SQL text reaches it, what its output means.

``wrangler d1 execute`` takes SQL text only (``--command`` or ``--file``): it has
no way to bind parameters. So this engine, and only this engine, renders values
as SQL literals, through the one function ``sql_literal``. The values are
orchestrate's own ledger values (file names, checksums, lock owners, times),
never user input, and anything that is not NULL, an integer, a finite float or a
plain string is refused rather than guessed at.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from orchestrator.engines import Batch, Sql
from orchestrator.engines.remote import bound_params, clean_message, is_sql_error, statement_text
from orchestrator.errors import TargetError, UsageError
from orchestrator.sqltext import Kind, tokenize

WRANGLER_ENV = "ORCHESTRATE_WRANGLER"
_INT64 = (-(2**63), 2**63 - 1)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE_RE = re.compile(r"^\s*✘\s*\[ERROR\]\s*(.*)$", re.MULTILINE)
# wrangler >= 4.87 refuses Node 20 before doing anything (>= 4.160 asks for 22.12).
_NODE_TOO_OLD_RE = re.compile(r"requires at least Node\.js (v[\d.]+)\. You are using (v[\d.]+)")


@dataclass(frozen=True)
class Completed:
    """What a wrangler process left behind."""

    returncode: int
    stdout: str
    stderr: str


class WranglerTimeout(Exception):
    """The process ran past its time and was killed (its request may have been sent)."""


Runner = Callable[[Sequence[str], Path, Mapping[str, str], float], Completed]


def run_process(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> Completed:
    """Run ``argv`` (never through a shell); on timeout kill its whole process group."""
    try:
        process = subprocess.Popen(  # noqa: S603 - an argv list, no shell
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # wrangler starts workerd; a timeout must end both
        )
    except OSError as exc:
        raise TargetError(f"cannot run wrangler ({argv[0]}): {exc.strerror}") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise WranglerTimeout(f"wrangler did not finish within {timeout:g} s") from None
    return Completed(process.returncode, stdout, stderr)


def find_wrangler(root: Path, environ: Mapping[str, str]) -> tuple[str, ...]:
    """``$ORCHESTRATE_WRANGLER``, else the monorepo's ``node_modules/.bin``, else PATH, else npx."""
    chosen = environ.get(WRANGLER_ENV)
    if chosen:
        return (chosen,)
    local = root / "node_modules" / ".bin" / "wrangler"
    if local.is_file():
        return (str(local),)
    path = environ.get("PATH")
    found = shutil.which("wrangler", path=path)
    if found:
        return (found,)
    npx = shutil.which("npx", path=path)
    if npx:
        return (npx, "--no-install", "wrangler")
    raise UsageError(
        "wrangler not found (node_modules/.bin, PATH, npx)",
        hint=f"`npm install -D wrangler` in the monorepo, or set ${WRANGLER_ENV}",
    )


def wrangler_environment(remote: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: ours, quiet, with credentials under wrangler's names."""
    env = dict(environ)
    env.setdefault("WRANGLER_SEND_METRICS", "false")
    env["FORCE_COLOR"] = "0"
    for ours, theirs in (
        (remote.get("api_token_env"), "CLOUDFLARE_API_TOKEN"),
        (remote.get("account_id_env"), "CLOUDFLARE_ACCOUNT_ID"),
    ):
        if ours and ours != theirs and environ.get(str(ours)) and not environ.get(theirs):
            env[theirs] = environ[str(ours)]
    if remote.get("base_url") and not environ.get("CLOUDFLARE_API_BASE_URL"):
        env["CLOUDFLARE_API_BASE_URL"] = str(remote["base_url"])
    return env


def sql_literal(value: object) -> str:
    """``value`` as a SQLite literal: NULL, an integer, a finite float or a quoted string.

    Negative numbers are parenthesized: ``x -?`` must never become a ``--`` comment.
    Floats are written with ``repr`` (shortest exact form); SQLite reads them back to
    within an ulp, which is all the ledger's times need.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"cannot write a {type(value).__name__} as a SQL literal")
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("integer out of SQLite's 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("SQLite has no literal for NaN or infinity")
    text = repr(value)
    return f"({text})" if text.startswith("-") else text  # -0.0 too


def _string_literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a NUL character cannot travel in SQL text")
    value.encode("utf-8")  # lone surrogates raise UnicodeEncodeError (a ValueError)
    return "'" + value.replace("'", "''") + "'"


def render_statement(statement: Sql) -> str:
    """The statement with each ``?`` replaced by its value's literal, ending with ``;``."""
    values = bound_params(statement)
    if not values:
        return statement_text(statement)
    pieces: list[str] = []
    count = 0
    for token in tokenize(statement.text):
        if token.kind is Kind.PARAM:
            if token.text != "?" or count >= len(values):
                raise ValueError(f"placeholder {token.text!r} does not match the parameters")
            pieces.append(sql_literal(values[count]))
            count += 1
        else:
            pieces.append(token.text)
    if count != len(values):
        raise ValueError(f"{len(values)} parameters for {count} placeholders")
    return statement_text(Sql("".join(pieces)))


def render_batch(batch: Batch) -> str:
    """The whole batch as SQL text, one statement per line."""
    try:
        return "\n".join(render_statement(s) for s in batch.statements)
    except ValueError as exc:
        raise TargetError(f"{batch.label}: cannot hand this batch to wrangler: {exc}") from None


FailureKind = Literal["sql", "auth", "rate", "transient", "other"]


@dataclass(frozen=True)
class Failure:
    """Why a wrangler call failed, in the terms the engine acts on."""

    kind: FailureKind
    message: str


def parse_output(completed: Completed) -> Any | Failure:
    """The JSON wrangler printed on success, or why it failed."""
    node = _NODE_TOO_OLD_RE.search(completed.stderr + completed.stdout)
    if completed.returncode != 0 and node:
        return Failure("other", node_too_old(node[1], node[2]))
    document = _json_in(completed.stdout)
    if completed.returncode == 0 and document is not None and not _is_error(document):
        return document
    if _is_error(document):
        error = document["error"]
        texts = [str(n.get("text", "")) for n in error.get("notes") or () if isinstance(n, dict)]
        return classify_failure([*texts, str(error.get("text", ""))], error.get("code"))
    lines = _ERROR_LINE_RE.findall(_ANSI_RE.sub("", completed.stderr))
    texts = [line.strip() for line in lines] or _tail(completed)
    return classify_failure(texts, None)


def node_too_old(needed: str, found: str) -> str:
    """One line: this wrangler cannot start on the ``node`` it was given, and what to do."""
    return (
        f"this wrangler needs Node.js {needed} or newer, but it ran on {found}; put Node 22 first "
        f"on PATH, or set ${WRANGLER_ENV} to a wrangler that runs on {found} (4.86.0 is the last "
        "for Node 20)"
    )


def classify_failure(texts: Sequence[str], code: object) -> Failure:
    """Sort wrangler's error texts (most specific first) into what the engine does next."""
    joined = " | ".join(t for t in texts if t)
    sql = next((t for t in texts if is_sql_error(t)), None)
    if code == 10000 or "Authentication error" in joined or "CLOUDFLARE_API_TOKEN" in joined:
        return Failure("auth", clean_message(texts[0]) if texts else joined)
    if sql is not None:
        return Failure("sql", clean_message(sql))
    if code == 971 or "throttling your request" in joined:
        return Failure("rate", joined)
    if _looks_transient(joined, code):
        return Failure("transient", joined)
    return Failure("other", clean_message(joined) or "wrangler failed without a message")


def _looks_transient(text: str, code: object) -> bool:
    markers = ("fetch failed", "malformed response", "ECONNRESET", "socket hang up", "-> 5")
    return code == 7500 or any(m in text for m in markers)


def _json_in(text: str) -> Any:
    """The JSON document in ``text``: at its start or at the start of a line (after any banner)."""
    decoder = json.JSONDecoder()
    starts = [0] + [m.end() for m in re.finditer(r"\n(?=[\[{])", text)]
    for start in starts:
        try:
            return decoder.raw_decode(text.lstrip() if start == 0 else text[start:])[0]
        except ValueError:
            continue
    return None


def _is_error(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("error"), dict)


def _tail(completed: Completed) -> list[str]:
    text = _ANSI_RE.sub("", completed.stderr or completed.stdout).strip()
    return [text.splitlines()[-1]] if text else [f"wrangler exited with {completed.returncode}"]
