"""``orchestrate new``: the next migration file of a package, with the header the
strategy document asks for (Migration, Created, Purpose, Context, Changes,
Verification), filled in where it can be.

The number is the next one across *every* source that feeds the database, so two
packages sharing one database never hand out the same number.
"""

from __future__ import annotations

import datetime
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import UsageError
from orchestrator.model import Binding, Database, Migration, canonical_name
from orchestrator.schema.ddl import comment_text
from orchestrator.services import load_workspace
from orchestrator.settings import Settings

_VERBS = ("add", "create", "new", "introduce")
_DROPS = ("drop", "remove", "delete")
HEADER_WIDTH = 88
_NOISE = ("table", "tables")


@dataclass(frozen=True)
class NewMigration:
    """The file ``new`` wrote, and where its number came from."""

    path: Path
    file: str
    number: int
    database: str
    previous: str | None


def create_migration(
    settings: Settings,
    package: str,
    title: str,
    binding: str | None = None,
    env: str | None = None,
    today: datetime.date | None = None,
) -> NewMigration:
    """Write ``NNNN_<title>.sql`` into the package's migrations directory and return it."""
    slug = slugify(title)
    workspace = load_workspace(settings, env)
    chosen = choose_binding(workspace.databases, package, binding, env)
    database = next(d for d in workspace.databases if chosen in d.bindings)
    numbered = (m for m in database.migrations if m.numbered)
    last = max(numbered, key=lambda m: (m.number, m.file), default=None)
    number = last.number + 1 if last else 1
    directory = target_directory(settings.root, workspace.databases, database, chosen)
    file = f"{directory}/{canonical_name(number, slug)}.sql".removeprefix("./")
    header = migration_header(number, title, database, chosen, last, today)
    path = settings.root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:  # never overwrite a file
        handle.write(header)
    return NewMigration(path, file, number, database.name, last.file if last else None)


def target_directory(
    root: Path, databases: tuple[Database, ...], database: Database, chosen: Binding
) -> str:
    """The directory the new file goes to: the binding's own, or the database's existing one.

    A package that binds a database it does not own (a dashboard with two databases and
    the default ``migrations_dir``) would otherwise start a directory that feeds both.
    """
    own = chosen.migrations_dir
    if (root / own).is_dir():
        return own
    existing = sorted({m.source for m in database.migrations if (root / m.source).is_dir()})
    if len(existing) == 1:
        return existing[0]
    if existing:
        raise UsageError(
            f"{own} does not exist and {database.name} is fed by several directories: "
            + ", ".join(existing),
            hint="run `orchestrate new` for the package that owns the one you want",
        )
    sharing = sorted(
        {d.name for d in databases for b in d.bindings if b.migrations_dir == own} - {database.name}
    )
    if sharing:
        raise UsageError(
            f"{own} would feed {database.name} and also {', '.join(sharing)}",
            hint="set a distinct migrations_dir for each database in the wrangler config",
        )
    return own


def slugify(title: str) -> str:
    """``"Add user plugins!"`` -> ``add_user_plugins``."""
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    if not slug:
        raise UsageError(
            f"the title {title!r} has no letters or digits", hint='e.g. "add user plugins"'
        )
    return slug


def choose_binding(
    databases: tuple[Database, ...], package: str, name: str | None, env: str | None
) -> Binding:
    """The binding of ``package`` (path or last part) that the new migration is for."""
    bindings = [
        b for d in databases for b in d.bindings if package in (b.package, _last(b.package))
    ]
    if not bindings:
        where = f" in env {env!r}" if env else ""
        raise UsageError(
            f"no package {package!r} binds a D1 database{where}",
            hint=_known_packages(databases)
            + ("" if env else "; pass --env NAME for env-only bindings"),
        )
    if name is not None:
        bindings = [b for b in bindings if b.binding == name]
        if not bindings:
            raise UsageError(f"{package} has no D1 binding {name!r}")
    if len({b.database_id or b.database_name for b in bindings}) > 1 or len(bindings) > 1:
        listed = ", ".join(f"{b.binding} ({b.database_name})" for b in bindings)
        raise UsageError(f"{package} binds several databases: {listed}", hint="pass --binding NAME")
    return bindings[0]


def _last(package: str) -> str:
    return package.rsplit("/", 1)[-1]


def _known_packages(databases: tuple[Database, ...]) -> str:
    names = sorted({_last(b.package) for d in databases for b in d.bindings})
    return "packages with D1 bindings: " + ", ".join(names) if names else "no package binds D1"


def migration_header(
    number: int,
    title: str,
    database: Database,
    binding: Binding,
    previous: Migration | None,
    today: datetime.date | None = None,
) -> str:
    """The strategy document's header, with a verification query that really runs."""
    day = (today or datetime.date.today()).isoformat()
    heading = comment_text(title.strip()[:1].upper() + title.strip()[1:])
    follows = f"follows {previous.file}" if previous else "first migration of this database"
    context = comment_text(
        f"{database.name} (binding {binding.binding} of {binding.package}); {follows}."
    )
    lines = [
        f"-- Migration: {number:04d} - {heading}",
        f"-- Created: {day}",
        "-- Purpose: TODO: one or two sentences on why this migration exists.",
        *_wrapped("-- Context: ", context),
        "--",
        "-- Changes:",
        f"-- - {heading}",
        "--",
        "-- Verification:",
        f"-- {comment_text(verification_query(title))}",
        "",
        "-- One purpose per migration; IF NOT EXISTS keeps it safe to run twice.",
        "",
    ]
    return "\n".join(lines)


def _wrapped(label: str, text: str) -> list[str]:
    indent = "--" + " " * (len(label) - 2)
    return textwrap.wrap(text, HEADER_WIDTH, initial_indent=label, subsequent_indent=indent)


def verification_query(title: str) -> str:
    """A query that shows whether the change is there, guessed from the title's words."""
    words = slugify(title).split("_")
    gone = words[0] in _DROPS
    if words[0] in _VERBS + _DROPS:
        words = words[1:] or ["new_table"]
    expect = "  -- expect no row" if gone else ""
    joint = "from" if gone else "to"
    if joint in words[1:-1]:  # "add timezone to learners": a column of a table
        at = words.index(joint, 1)
        column, table = "_".join(words[:at]), "_".join(words[at + 1 :])
        return f"SELECT name FROM pragma_table_info('{table}') WHERE name = '{column}';{expect}"
    if words[-1] in ("index", "indexes") and len(words) > 1:  # the indexes of a table
        table = "_".join(words[:-1])
        return f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE '{table}%';{expect}"
    name = "_".join(w for w in words if w not in _NOISE) or "new_table"
    return f"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{name}';{expect}"
