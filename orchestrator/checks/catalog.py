"""The rule catalog: every code, its slug, default severity, what it catches and the fix.

Codes are stable: a letter for the family and three digits. ``docs/lint-rules.md``
documents each one; a test keeps the two in step.
"""

from __future__ import annotations

from orchestrator.checks.findings import Rule
from orchestrator.model import Severity

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
# A convention (idempotency, headers, naming, style) is a warning by default and an
# error under ``[lint] profile = "strict"``; every other error fails or loses data on D1.
CONVENTION = True
PROFILES = ("default", "strict")

RULES: tuple[Rule, ...] = (
    Rule("N001", "naming/four-digit-prefix", WARN,
         "the number prefix is not 4 digits",
         "rename to NNNN_description.sql (`orchestrate normalize` will do it)", CONVENTION),
    Rule("N002", "naming/numeric-prefix", WARN,
         "the file name has no numeric prefix: wrangler applies it after every numbered file",
         "rename to NNNN_description.sql", CONVENTION),
    Rule("N003", "naming/duplicate-number", WARN,
         "two migrations of one database share a number",
         "renumber the newer migration", CONVENTION),
    Rule("N004", "naming/snake-case", WARN,
         "the description is not lowercase snake case",
         "rename to NNNN_lowercase_words.sql", CONVENTION),
    Rule("I001", "idempotency/create-if-not-exists", WARN,
         "CREATE TABLE/INDEX/VIEW/TRIGGER without IF NOT EXISTS fails on a second run",
         "write CREATE … IF NOT EXISTS", CONVENTION),
    Rule("I002", "idempotency/drop-if-exists", WARN,
         "DROP without IF EXISTS fails on a second run",
         "write DROP … IF EXISTS", CONVENTION),
    Rule("I003", "idempotency/seed-insert", WARN,
         "a plain INSERT of literal seed rows fails or duplicates rows on a second run",
         "write INSERT OR IGNORE (or ON CONFLICT DO NOTHING)", CONVENTION),
    Rule("I004", "idempotency/alter-column", WARN,
         "ALTER TABLE … ADD/DROP/RENAME COLUMN cannot be re-run: SQLite has no IF [NOT] EXISTS for it",
         "keep the ALTER alone in its migration and rely on the ledger; suppress with a reason"),
    Rule("I005", "idempotency/second-run", WARN,
         "measured: the migration fails or changes the schema when run a second time",
         "make every statement re-runnable (IF NOT EXISTS, INSERT OR IGNORE …)", CONVENTION),
    Rule("H001", "header/fields", WARN,
         "the header comment lacks fields the strategy document requires",
         "start the file with -- Migration:, Created:, Purpose:, Changes:, Verification:", CONVENTION),
    Rule("H002", "header/verification-query", INFO,
         "the header has no verification query",
         "add a commented query under -- Verification:, e.g. -- SELECT … FROM sqlite_master …"),
    Rule("S001", "design/single-purpose", WARN,
         "the migration creates or alters more than one table",
         "split it: one table per migration", CONVENTION),
    Rule("S002", "design/foreign-key-index", WARN,
         "a foreign-key column has no index",
         "CREATE INDEX IF NOT EXISTS idx_<table>_<column> ON <table>(<column>)"),
    Rule("S003", "design/timestamp-text", INFO,
         "a timestamp column is not TEXT with DEFAULT (datetime('now'))",
         "declare it TEXT DEFAULT (datetime('now'))", CONVENTION),
    Rule("R001", "recreation/lost-objects", ERR,
         "a table recreation does not recreate an index, trigger or view of the old table",
         "recreate every index, trigger and view after the RENAME"),
    Rule("R002", "recreation/select-star", ERR,
         "INSERT INTO new SELECT * copies by position, and the columns differ in count or order",
         "list the columns: INSERT INTO new (a, b) SELECT a, b FROM old"),
    Rule("D001", "d1/foreign-keys-pragma", WARN,
         "PRAGMA foreign_keys has no effect on D1, which enforces foreign keys always",
         "use PRAGMA defer_foreign_keys = on (it only defers the check to the end)"),
    Rule("D002", "d1/cascade-data-loss", ERR,
         "DROP TABLE of a table others reference with ON DELETE CASCADE/SET NULL deletes or nulls child rows on D1",
         "back up the child rows, recreate, re-insert, drop the backup, in one migration"),
    Rule("D003", "d1/transaction-statement", ERR,
         "D1 rejects BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT and RELEASE",
         "remove it: each migration already runs as one batch"),
    Rule("D004", "d1/forbidden-statement", ERR,
         "D1 rejects ATTACH, DETACH and VACUUM",
         "remove it"),
    Rule("D005", "d1/reserved-name", ERR,
         "names starting with _cf_ (D1) or sqlite_ (SQLite) are reserved",
         "choose another name"),
    Rule("D006", "d1/statement-size", ERR,
         "D1 rejects a statement over 100 KB",
         "split the statement (e.g. one INSERT per batch of rows)"),
    Rule("D007", "d1/temp-object", ERR,
         "D1 refuses CREATE TEMP TABLE/VIEW/TRIGGER (not authorized)",
         "use an ordinary table and drop it at the end of the migration"),
    Rule("D008", "d1/glued-comment", WARN,
         "a block comment with no space on either side: wrangler before 4.137 strips it and the tokens merge",
         "put a space before or after the comment"),
    Rule("X001", "destructive/drop", WARN,
         "DROP TABLE or DROP COLUMN outside a table recreation destroys data",
         "back up first (export or copy into a table) and say so in the header"),
    Rule("X002", "destructive/drop-copied-column", WARN,
         "a column is dropped in the same migration that copies its data",
         "drop the old column in the next migration, after checking the copy"),
    Rule("L001", "limits/add-not-null", ERR,
         "ADD COLUMN … NOT NULL without a non-NULL default is refused by SQLite",
         "give it a DEFAULT, or recreate the table"),
    Rule("L002", "limits/add-unique", ERR,
         "ADD COLUMN with UNIQUE or PRIMARY KEY is refused by SQLite",
         "add the column, then CREATE UNIQUE INDEX on it"),
    Rule("L003", "limits/unsupported", ERR,
         "a statement form SQLite refuses (ALTER COLUMN, ADD CONSTRAINT, non-constant ADD COLUMN default …)",
         "use the table-recreation pattern, or a constant default"),
    Rule("L004", "limits/shadow-failure", ERR,
         "the statement fails when the plan is replayed on an in-memory SQLite",
         "fix the statement; the message is SQLite's own"),
    Rule("P001", "probe/data-loss", ERR,
         "measured: a table lost rows (or foreign-key values) it was not asked to delete",
         "see D002: back up and restore the child rows in the same migration",
         confirms=("D002",)),
    Rule("Q001", "suppression/reason", WARN,
         "a suppression comment gives no reason",
         "write -- orchestrate: ignore[CODE] why it is safe"),
    Rule("Q002", "suppression/unknown-rule", WARN,
         "a suppression names a rule that does not exist",
         "use a code from docs/lint-rules.md"),
    Rule("Q003", "suppression/unused", INFO,
         "a suppression matches no finding (reported by `check` only)",
         "remove it"),
)  # fmt: skip

CONVENTIONS = frozenset(rule.code for rule in RULES if rule.convention)
# Rules a generated migration (drizzle-kit, prisma migrate diff) is exempt from by default.
STYLE = (CONVENTIONS - {"N002", "N003"}) | {"I004", "H002"}

BY_CODE = {rule.code: rule for rule in RULES}
# Measured rule -> the static rules it confirms (one finding where both see the same tables).
CONFIRMS = {rule.code: rule.confirms for rule in RULES if rule.confirms}
BY_SLUG = {rule.slug: rule for rule in RULES}
FAMILIES = frozenset(rule.family for rule in RULES)
PREFIXES = frozenset(rule.code[0] for rule in RULES)


def rule(code: str) -> Rule:
    """The rule with this code."""
    return BY_CODE[code]


def resolve(selector: str) -> frozenset[str]:
    """Codes a selector names: a code, a slug, a family, a code letter, or ``all``."""
    text = selector.strip()
    if text.upper() in BY_CODE:
        return frozenset({text.upper()})
    if text in BY_SLUG:
        return frozenset({BY_SLUG[text].code})
    if text in FAMILIES:
        return frozenset(r.code for r in RULES if r.family == text)
    if text.upper() in PREFIXES:
        return frozenset(r.code for r in RULES if r.code[0] == text.upper())
    if text == "all":
        return frozenset(BY_CODE)
    return frozenset()


def selector_names() -> list[str]:
    """Every valid selector, for "did you mean" hints."""
    return sorted({*BY_CODE, *BY_SLUG, *FAMILIES, *PREFIXES, "all"})
