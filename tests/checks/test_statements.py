"""Statement shapes and column definitions, read from SQLite tokens."""

from __future__ import annotations

import pytest

from orchestrator.checks.columns import literals, parse_table
from orchestrator.checks.parsed import parse_migration
from orchestrator.checks.statements import shape_of
from orchestrator.sqltext import split_statements

SHAPES = [
    ('CREATE TABLE IF NOT EXISTS "Quoted Name" (a)', {"verb": "CREATE", "object": "TABLE", "name": "quoted name", "if_clause": True}),
    ("CREATE UNIQUE INDEX idx ON main.t (a)", {"object": "INDEX", "name": "idx", "if_clause": False, "on_table": "t"}),
    ("CREATE TEMPORARY VIEW v AS SELECT 1", {"object": "VIEW", "temp": True}),
    ("CREATE TABLE temp.scratch (a)", {"temp": True, "name": "scratch"}),
    ("CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(a)", {"virtual": True, "if_clause": True}),
    ("CREATE TRIGGER IF NOT EXISTS tr AFTER UPDATE OF a ON t BEGIN SELECT 1; END", {"object": "TRIGGER", "on_table": "t"}),
    ("CREATE TABLE c AS SELECT * FROM t", {"copy_from": "t", "source": "SELECT"}),
    ("DROP VIEW IF EXISTS v", {"verb": "DROP", "object": "VIEW", "if_clause": True, "name": "v"}),
    ("ALTER TABLE t RENAME TO u", {"action": "RENAME TABLE", "name": "t", "new_name": "u"}),
    ("ALTER TABLE t RENAME COLUMN a TO b", {"action": "RENAME COLUMN", "column": "a", "new_name": "b"}),
    ("ALTER TABLE t RENAME a TO b", {"action": "RENAME COLUMN", "column": "a"}),
    ("ALTER TABLE t ADD c TEXT", {"action": "ADD COLUMN", "column": "c"}),
    ("ALTER TABLE t DROP COLUMN c", {"action": "DROP COLUMN", "column": "c"}),
    ("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", {"action": "ADD OTHER"}),
    ("ALTER TABLE t ALTER COLUMN a TYPE TEXT", {"action": "OTHER"}),
    ("INSERT INTO main.t (a, b) VALUES (1, 2)", {"verb": "INSERT", "name": "t", "source": "VALUES", "columns": ("a", "b")}),
    ("REPLACE INTO t VALUES (1)", {"verb": "INSERT", "conflict": "REPLACE"}),
    ("INSERT OR IGNORE INTO t SELECT * FROM s", {"conflict": "IGNORE", "select_star": True, "copy_from": "s"}),
    ("WITH x AS (SELECT 1 AS a) INSERT INTO t (a) SELECT a FROM x", {"verb": "INSERT", "name": "t", "source": "SELECT"}),
    ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO NOTHING", {"upsert": True}),
    ("INSERT INTO t DEFAULT VALUES", {"source": "DEFAULT"}),
    ("UPDATE OR IGNORE t SET a = 1", {"verb": "UPDATE", "name": "t"}),
    ("DELETE FROM t WHERE a = 1", {"verb": "DELETE", "name": "t"}),
    ("PRAGMA foreign_keys = OFF", {"verb": "PRAGMA", "name": "foreign_keys", "new_name": "off"}),
    ("PRAGMA main.defer_foreign_keys(1)", {"name": "defer_foreign_keys", "new_name": "1"}),
    ("begin immediate", {"verb": "BEGIN"}),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "expected"), SHAPES)
def test_shape(sql: str, expected: dict[str, object]) -> None:
    [statement] = split_statements(sql)
    shape = shape_of(statement)
    assert {key: getattr(shape, key) for key in expected} == expected


def test_columns_and_references() -> None:
    sql = """CREATE TABLE t (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL CONSTRAINT fk_owner REFERENCES owners(id) ON DELETE SET NULL ON UPDATE CASCADE,
      price NUMERIC(10, 2) DEFAULT -1 CHECK (price >= -1),
      kind TEXT COLLATE NOCASE NOT NULL DEFAULT 'a' CHECK (kind IN ('a', 'b')),
      doubled INTEGER GENERATED ALWAYS AS (price * 2) STORED,
      group_id INTEGER,
      UNIQUE (owner_id, kind),
      FOREIGN KEY (group_id) REFERENCES groups ON DELETE CASCADE,
      CHECK (group_id > 0)
    )"""
    table = parse_table(split_statements(sql)[0].tokens)
    assert table is not None
    assert [c.name for c in table.columns] == [
        "id",
        "owner_id",
        "price",
        "kind",
        "doubled",
        "group_id",
    ]
    owner = table.column("owner_id")
    assert owner is not None and owner.not_null and owner.reference is not None
    assert (owner.reference.table, owner.reference.on_delete, owner.line) == (
        "owners",
        "SET NULL",
        3,
    )
    price = table.column("price")
    assert (
        price is not None
        and price.type == "NUMERIC"
        and [t.text for t in price.default or ()] == ["-", "1"]
    )
    kind = table.column("kind")
    assert kind is not None and literals(kind.checks[0]) == ("a", "b") and kind.not_null
    assert table.column("doubled").generated == "STORED"  # type: ignore[union-attr]
    [_, group] = table.references
    assert (group.columns, group.table, group.parent_columns, group.on_delete) == (
        ("group_id",),
        "groups",
        (),
        "CASCADE",
    )
    assert len(table.checks) == 1


def test_recreation_in_both_spellings() -> None:
    new_then_rename = "CREATE TABLE t_new (a);\nINSERT INTO t_new SELECT * FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;"
    rename_then_new = "ALTER TABLE t RENAME TO t_old;\nCREATE TABLE t (a);\nINSERT INTO t SELECT * FROM t_old;\nDROP TABLE t_old;"
    for sql, dropped in ((new_then_rename, "t"), (rename_then_new, "t_old")):
        [recreation] = parse_migration("m.sql", sql).recreations
        assert recreation.table == "t" and recreation.dropped == dropped
        assert recreation.steps == frozenset({0, 1, 2, 3})


def test_backup_tables_are_transient() -> None:
    parsed = parse_migration(
        "m.sql", "CREATE TABLE b AS SELECT * FROM c;\nDROP TABLE b;\nDROP TABLE c;"
    )
    assert parsed.transient == frozenset({"b"})


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from orchestrator.checks.statements import shapes_of, token_shape  # noqa: E402

_INSERT_PARTS = [
    "INSERT", "insert", " ", "\n", "\t", "\u00a0", "OR ", "or ", "IGNORE ", "ROLLBACK ", "INTO ",
    "t", "T2", "main.t", '"t"', "(", ")", ",", "a", "b_1", "VALUES", "values", "$", "é", "ſ",
    "SELECT", "'x'", "x'00'", "ON", "CONFLICT", "DO NOTHING", "/* c */", "-- c\n", "DEFAULT",
    "UPDATE", "WITH", "fts", ";", "1",
]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_INSERT_PARTS), max_size=18))
def test_shapes_read_from_the_text_equal_the_tokens_shapes(parts: list[str]) -> None:
    # shape_of reads a plain INSERT … VALUES and a verb it has no parser for from the text
    # alone; whatever it reads that way must be exactly what the tokens say.
    for statement in split_statements("".join(parts)):
        assert shape_of(statement) == token_shape(statement), statement.text


def test_a_plain_seed_insert_is_read_from_its_text() -> None:
    [plain, upsert] = split_statements(
        "INSERT OR ignore INTO Seed (Id, v) VALUES (1, 'a');\n"
        "INSERT INTO seed (id) VALUES (1) ON CONFLICT DO NOTHING;"
    )
    shape = shape_of(plain)
    assert (shape.verb, shape.name, shape.conflict, shape.source, shape.columns) == (
        "INSERT", "seed", "IGNORE", "VALUES", ("id", "v"),
    )  # fmt: skip
    assert plain._tokens is None  # never tokenized
    assert shape_of(upsert).upsert and upsert._tokens is not None


_TAILS = [
    "",
    " ",
    "(1)",
    "\u00a0(1)",
    "x (1)",
    "$ (1)",
    "é",
    "_1 (2)",
    "(1) ON CONFLICT DO NOTHING",
    "\n(2), (3)",
    ";",
    " -- c\n(1)",
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_INSERT_PARTS), max_size=12),
    st.lists(st.sampled_from(_TAILS), min_size=1, max_size=6),
)
def test_a_repeated_insert_head_has_the_tokens_shape(head: list[str], tails: list[str]) -> None:
    # shapes_of reuses the previous plain INSERT's shape when the next statement starts with
    # the same head; whatever follows the head, the shape must be what the tokens say.
    for start in ("INSERT INTO t (a) VALUES", "insert or ignore into T2 (a, b_1) values"):
        text = "".join(f"{start}{''.join(head)}{tail};\n" for tail in tails)
        statements = split_statements(text)
        assert shapes_of(statements) == tuple(token_shape(s) for s in statements), text


def test_statement_indexes_by_verb_keep_file_order() -> None:
    parsed = parse_migration(
        "m.sql",
        "CREATE TABLE a (x);\nINSERT INTO a (x) VALUES (1);\nALTER TABLE a ADD COLUMN y;\n"
        "CREATE INDEX i ON a(x);\nDROP INDEX i;",
    )
    assert parsed.indexes("CREATE", "ALTER") == [0, 2, 3]
    assert parsed.indexes("INSERT") == [1] and parsed.indexes("UPDATE") == []
