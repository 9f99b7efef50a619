"""What each plan problem code means and how to go on: the SARIF rule metadata and the
"Plan problems" section of ``docs/lint-rules.md`` for codes that discovery and planning
raise (``config.depends-on``, ``source.orphan`` …). A test keeps this, the code and the
documentation in step.
"""

from __future__ import annotations

from typing import NamedTuple


class ProblemInfo(NamedTuple):
    """A plan problem's one-line meaning and its fix."""

    summary: str
    fix: str


PLAN_PROBLEMS: dict[str, ProblemInfo] = {
    "config.binding": ProblemInfo(
        "a d1_databases entry has no binding name, or one that is not a JavaScript identifier",
        "give the entry a `binding` that is a JavaScript identifier, as wrangler requires"),
    "config.depends-cycle": ProblemInfo(
        "depends_on between databases forms a cycle, so no order applies them",
        "remove one depends_on edge of the cycle in workspace.toml"),
    "config.depends-on": ProblemInfo(
        "depends_on names a database the workspace does not bind",
        "name a database that a wrangler config binds, or remove the entry"),
    "config.env-only": ProblemInfo(
        "the config binds D1 only inside [env.NAME] tables",
        "run with --env NAME (-e NAME) to include those bindings"),
    "config.gitignored": ProblemInfo(
        "a wrangler config that binds D1 is ignored by .gitignore",
        "un-ignore it, or pass its directory explicitly"),
    "config.invalid": ProblemInfo(
        "the wrangler config cannot be read (syntax or shape), so wrangler refuses it too",
        "fix the file at the line given"),
    "config.ledger-clash": ProblemInfo(
        "a binding's migrations_table is orchestrate's own ledger table",
        "name the migrations_table differently, or set ledger_table in workspace.toml"),
    "config.d1-type": ProblemInfo(
        "a d1_databases field has the wrong type (a string or a list is expected)",
        "fix the field at the line given, as wrangler would refuse it too"),
    "config.migrations-dir": ProblemInfo(
        "migrations_dir points outside the workspace root",
        "point migrations_dir at a directory under the workspace root"),
    "config.migrations-pattern": ProblemInfo(
        "migrations_pattern is not a glob wrangler can use under migrations_dir",
        "write a relative glob such as `*/migration.sql`"),
    "config.name-clash": ProblemInfo(
        "two different databases share one database_name",
        "give each database its own database_name, or bind the same database_id"),
    "config.names": ProblemInfo(
        "one database id is bound under several database names",
        "use one database_name for the id in every config"),
    "config.no-d1": ProblemInfo(
        "wrangler configs exist under the root, but none binds a D1 database",
        "add a [[d1_databases]] entry, or pass --env NAME if only an environment binds one"),
    "config.none": ProblemInfo(
        "no wrangler.toml, wrangler.json or wrangler.jsonc under the root",
        "run from the monorepo root, or pass it with --root"),
    "config.shadowed": ProblemInfo(
        "a second wrangler config in one directory is ignored: wrangler reads another first",
        "remove the unused config, or move it to its own directory"),
    "copies.behind": ProblemInfo(
        "a database bound by several packages: one package's local copy lacks migrations "
        "another copy applied (as after per-package `wrangler d1 migrations apply`)",
        "run the command the message names for that copy (`orchestrate apply --db NAME`)"),
    "fleet.missing": ProblemInfo(
        "a database listed in the fleet's ids_file is not in the account",
        "remove it from ids_file, or create it"),
    "ledger.changed": ProblemInfo(
        "an applied migration's file has changed since it was applied",
        "restore the file, or accept the change with `orchestrate repair`"),
    "ledger.foreign-table": ProblemInfo(
        "the migrations table exists with columns that are not wrangler's",
        "rename that table, or set another migrations_table"),
    "ledger.unknown": ProblemInfo(
        "the ledger records migrations whose files are gone",
        "restore the files, or remove the rows with `orchestrate repair`"),
    "naming.dash": ProblemInfo(
        "a dash separates the number from the description",
        "rename to NNNN_description.sql (wrangler accepts both)"),
    "naming.duplicate": ProblemInfo(
        "two files of one directory share a number",
        "renumber the newer file"),
    "naming.gap": ProblemInfo(
        "the numbers of a database's migrations have gaps",
        "nothing to fix if a migration was removed on purpose; otherwise restore it"),
    "naming.no-number": ProblemInfo(
        "a file has no number: wrangler applies it after every numbered file",
        "rename to NNNN_description.sql"),
    "naming.shared-number": ProblemInfo(
        "two migrations of one database share a number",
        "renumber the newer migration"),
    "naming.short-prefix": ProblemInfo(
        "number prefixes are shorter than 4 digits",
        "rename to NNNN_description.sql (`orchestrate normalize` will do it)"),
    "naming.unnumbered": ProblemInfo(
        "a file has no number prefix",
        "rename to NNNN_description.sql"),
    "plan.cycle": ProblemInfo(
        "the migrations' references form a cycle, so no order creates every object first",
        "split one migration so that each object is created before it is used"),
    "plan.duplicate-name": ProblemInfo(
        "two migrations of one database have the same name, so the ledger cannot tell them apart",
        "rename one of them"),
    "plan.out-of-order": ProblemInfo(
        "a pending migration sorts before one already applied: wrangler applies it next anyway",
        "renumber it after the last applied migration"),
    "seed.duplicate": ProblemInfo(
        "two seed files of one database have the same file name",
        "rename one of them"),
    "source.encoding": ProblemInfo(
        "a migration file is not UTF-8",
        "re-save the file as UTF-8"),
    "source.missing": ProblemInfo(
        "a binding's migrations directory does not exist, so there is nothing to apply "
        "(wrangler: \"No migrations folder found\")",
        "nothing to fix if the Worker uses D1 without migrations; else set migrations_dir"),
    "source.nested": ProblemInfo(
        "migrations_dir has no *.sql files but nested ones (drizzle-kit's folder layout)",
        "set migrations_pattern (e.g. `*/migration.sql`) so the nested files are read"),
    "source.orphan": ProblemInfo(
        "a migrations directory that no wrangler config binds",
        "bind it in a wrangler config, or remove it"),
    "source.pattern-empty": ProblemInfo(
        "migrations_pattern matches no file",
        "fix the pattern, or add the migrations"),
    "source.shared": ProblemInfo(
        "one migrations directory feeds several databases",
        "nothing to fix if that is intended; each database gets every file"),
    "source.skipped": ProblemInfo(
        "a file in the migrations directory is not a migration wrangler reads",
        "move it out of the directory if it should not be there"),
    "source.unreadable": ProblemInfo(
        "a migrations directory or file cannot be read",
        "fix its permissions"),
    "target.unreadable": ProblemInfo(
        "a database's ledger cannot be read (local state file or remote API)",
        "fix the cause the message names; nothing was written"),
}  # fmt: skip
