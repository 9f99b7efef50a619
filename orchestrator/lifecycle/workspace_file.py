"""``orchestrate init``: write ``workspace.toml`` from what discovery found.

The file is edited with tomlkit, so a second run only adds what is missing (new
keys, newly discovered databases) and keeps every value and comment the user
wrote. Only keys that ``orchestrator.settings`` accepts are written.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Array, Table
from tomlkit.toml_document import TOMLDocument

from orchestrator.errors import ConfigError
from orchestrator.model import Database
from orchestrator.settings import WORKSPACE_FILE, Settings, read_config_text

HEADER = (
    "orchestrate settings for this workspace. Every key is optional: without this",
    "file orchestrate uses the defaults shown. `orchestrate init` adds what is missing",
    "and never changes a value you set.",
)


@dataclass(frozen=True)
class Key:
    """One top-level key ``init`` writes, with the comment that explains it."""

    name: str
    comment: str


TOP_KEYS = (
    Key(
        "ledger_table",
        "Table orchestrate keeps in every database to record applied migrations "
        "(the strategy document's `_migrations`). Renaming it later loses the record.",
    ),
    Key("concurrency", "Databases `orchestrate apply` migrates at once (`--jobs` overrides)."),
    Key(
        "lock_timeout",
        "Seconds `apply` waits for another run's lock on a database before failing.",
    ),
    Key(
        "allow_out_of_order",
        "Apply a pending migration numbered below one already applied (a late-merged "
        "branch) instead of refusing. Per database: [databases.NAME] allow_out_of_order.",
    ),
    Key("include", "Only discover wrangler configs under these directory globs (empty: all)."),
    Key(
        "exclude",
        "Directory globs discovery skips, besides .gitignore, node_modules, .wrangler, build output.",
    ),
)
COMMENT_WIDTH = 86
DEPENDS_COMMENT = "Databases that `apply` migrates before this one (by name)."


@dataclass(frozen=True)
class InitResult:
    """Where ``init`` wrote, and what it added or left as it was."""

    path: Path
    created: bool
    added: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added)


def init_workspace(settings: Settings, databases: tuple[Database, ...]) -> InitResult:
    """Write (or complete) ``workspace.toml`` for ``databases``, keeping the user's edits."""
    path = settings.config_file or settings.root / WORKSPACE_FILE
    created = not path.is_file()
    doc = tomlkit.document() if created else _parse(path)
    if created:
        for line in HEADER:
            doc.add(tomlkit.comment(line))
    added, kept = _add_top_keys(doc, settings)
    (added if _add_lint(doc) else kept).append("lint.profile")
    added_dbs, kept_dbs = _add_databases(doc, databases)
    if created or added or added_dbs:
        path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return InitResult(path, created, tuple(added + added_dbs), tuple(kept + kept_dbs))


def _parse(path: Path) -> TOMLDocument:
    text = read_config_text(path)
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(path), line=exc.line) from None


def _add_top_keys(doc: TOMLDocument, settings: Settings) -> tuple[list[str], list[str]]:
    added, kept = [], []
    for key in TOP_KEYS:
        if key.name in doc:
            kept.append(key.name)
            continue
        _add_commented(doc, key.name, _default(settings, key.name), key.comment)
        added.append(key.name)
    return added, kept


def _default(settings: Settings, name: str) -> Any:
    value = getattr(settings, name)
    if isinstance(value, tuple):
        return _array(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _add_commented(doc: TOMLDocument, name: str, value: Any, comment: str) -> None:
    # tomlkit puts a new key above the first table but appends comment items at the
    # very end, so the explanation travels in the key's own leading trivia instead.
    item = tomlkit.item(value)
    lines = "".join(f"# {line}\n" for line in textwrap.wrap(comment, COMMENT_WIDTH))
    item.trivia.indent = "\n" + lines
    doc.add(name, item)


LINT_COMMENT = (
    'What `orchestrate check` fails on. "default": only what fails or loses data on D1 '
    "(cascade loss, transaction statements, a real replay failure …); conventions "
    '(idempotency, headers, naming) are warnings. "strict": conventions are errors too, for '
    "teams whose migrations must all be re-runnable. docs/lint-rules.md lists both severities."
)


def _add_lint(doc: TOMLDocument) -> bool:
    """Add ``[lint] profile`` with its explanation; False when the user already chose."""
    section = doc.get("lint")
    if isinstance(section, Table) and "profile" in section:
        return False
    if section is None:
        doc.add(tomlkit.nl())
        section = tomlkit.table()
        doc.add("lint", section)
    if not isinstance(section, Table):
        raise ConfigError("`lint` must be a table", file=WORKSPACE_FILE)
    for line in textwrap.wrap(LINT_COMMENT, COMMENT_WIDTH):
        section.add(tomlkit.comment(line))
    section.add("profile", "default")
    return True


def _add_databases(
    doc: TOMLDocument, databases: tuple[Database, ...]
) -> tuple[list[str], list[str]]:
    if "databases" not in doc:
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment("One section per database; its comments say what feeds it."))
        doc.add("databases", tomlkit.table(is_super_table=True))
    section = doc["databases"]
    if not isinstance(section, Table):
        raise ConfigError("`databases` must be a table", file=WORKSPACE_FILE)
    added, kept = [], []
    for database in sorted(databases, key=lambda d: d.name):
        label = f"databases.{database.name}"
        if database.name in section:
            kept.append(label)
            continue
        section.add(database.name, _database_table(database))
        added.append(label)
    return added, kept


def _database_table(database: Database) -> Table:
    table = tomlkit.table()
    for line in describe_database(database):
        table.add(tomlkit.comment(line))
    table.add(tomlkit.comment(DEPENDS_COMMENT))
    table.add("depends_on", _array(database.depends_on))
    return table


def _array(values: tuple[str, ...]) -> Array:
    array = tomlkit.array()
    array.extend(values)
    return array


def describe_database(database: Database) -> tuple[str, ...]:
    """What discovery found for a database, as comment lines."""
    envs = sorted({b.env for b in database.bindings if b.env})
    fed = ", ".join(s for s in database.sources if any(m.source == s for m in database.migrations))
    bound = ", ".join(sorted({f"{b.package} ({b.binding})" for b in database.bindings}))
    lines = [f"Bound by {bound}" + (f" in env {', '.join(envs)}." if envs else ".")]
    count = len(database.migrations)
    lines.append(
        f"{count} migration{'s' if count != 1 else ''} from {fed}." if fed else "No migrations yet."
    )
    return tuple(lines)
