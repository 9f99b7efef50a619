"""SQLite lexing: statements split where SQLite would, nowhere else."""

from __future__ import annotations

import pytest

from orchestrator.sqltext import Kind, leading_comments, split_statements, tokenize


def test_semicolons_in_strings_and_comments_do_not_split() -> None:
    sql = "-- a; b\nINSERT INTO t VALUES ('x; y');\n/* c; d */ SELECT 1;"
    statements = split_statements(sql)
    assert [s.text for s in statements] == [
        "INSERT INTO t VALUES ('x; y');",
        "SELECT 1;",
    ]
    assert [s.line for s in statements] == [2, 3]


def test_trigger_body_stays_one_statement() -> None:
    sql = (
        "CREATE TABLE t(a);\n"
        "CREATE TRIGGER IF NOT EXISTS t_ai AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO log VALUES (new.a);\n"
        "  UPDATE t SET a = 1 WHERE a = 'end;';\n"
        "END;\n"
        "SELECT 2;"
    )
    statements = split_statements(sql)
    assert len(statements) == 3
    assert statements[1].text.startswith("CREATE TRIGGER") and statements[1].text.endswith("END;")
    assert statements[2].line == 6


def test_case_end_inside_trigger() -> None:
    sql = (
        "CREATE TRIGGER x AFTER UPDATE ON t BEGIN\n"
        "  UPDATE t SET a = CASE WHEN new.a > 1 THEN 1 ELSE 0 END;\n"
        "END;\nSELECT 1;"
    )
    assert len(split_statements(sql)) == 2


def test_last_statement_without_semicolon_is_kept() -> None:
    assert [s.text for s in split_statements("SELECT 1;\nSELECT 2\n-- tail")] == [
        "SELECT 1;",
        "SELECT 2",
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("'it''s'", Kind.STRING),
        ('"Quoted ""id"""', Kind.QUOTED),
        ("[bracket id]", Kind.QUOTED),
        ("`tick`", Kind.QUOTED),
        ("x'0aff'", Kind.BLOB),
        ("1.5e3", Kind.NUMBER),
        ("?1", Kind.PARAM),
        (":name", Kind.PARAM),
        ("->>", Kind.OP),
    ],
)
def test_token_kinds(text: str, kind: Kind) -> None:
    assert next(iter(tokenize(text))).kind is kind


def test_leading_comments_are_the_header() -> None:
    head = leading_comments("-- Migration: 0001\n-- Purpose: x\n\nCREATE TABLE t(a); -- not header")
    assert [t.text for t in head] == ["-- Migration: 0001", "-- Purpose: x"]


def test_executable_text_keeps_inner_comments_like_wrangler_4_164() -> None:
    text = "CREATE TABLE t (\n  a TEXT DEFAULT '--x', -- note\n  b /* c */ INT\n);"
    (statement,) = split_statements("-- header\n" + text + " -- after")
    assert statement.executable == text
    assert [e.text for e in split_executable("-- header\n" + text + " -- after")] == [text]


from pathlib import Path  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from orchestrator.sqltext import split_executable  # noqa: E402

FRAGMENTS = [
    "SELECT 1",
    ";",
    " ",
    "\n",
    "'a;b'",
    "''",
    '"q;"',
    "[x;y]",
    "`t`",
    "-- c;\n",
    "/* c; */",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN ",
    "INSERT INTO t VALUES (1);",
    " END",
    "CASE WHEN 1 THEN 2 END",
    "x'00'",
    "trigger",
    "'unterminated",
    "/* open",
    "--tail",
    "-",
    "/",
    "*/",
    "\u00a0",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14))
def test_fast_splitter_equals_the_tokenizer(parts: list[str]) -> None:
    sql = "".join(parts)
    expected = [(s.executable, s.line) for s in split_statements(sql)]
    assert [(e.text, e.line) for e in split_executable(sql)] == expected


def test_fast_splitter_on_every_fixture_migration() -> None:
    for path in Path(__file__).resolve().parent.parent.glob("fixtures/monorepo/**/*.sql"):
        sql = path.read_text()
        assert [(e.text, e.line) for e in split_executable(sql)] == [
            (s.executable, s.line) for s in split_statements(sql)
        ], path


def test_crlf_to_lf_outside_literals_as_wrangler_4_124() -> None:
    from orchestrator.sqltext import crlf_to_lf

    sql = "SELECT 'a\r\nb', \"c\r\nd\", [e\r\nf] -- x\r\nFROM t /* y\r\n */\r\n;"
    assert crlf_to_lf(sql) == "SELECT 'a\r\nb', \"c\r\nd\", [e\r\nf] -- x\nFROM t /* y\n */\n;"
    assert crlf_to_lf("SELECT 1;\r\n") == "SELECT 1;\n"
    assert crlf_to_lf("no carriage returns") == "no carriage returns"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14))
def test_statement_tokens_read_on_demand_are_the_tokenizers(parts: list[str]) -> None:
    # Statements read their tokens when first asked, from their own span of the text:
    # together with the `;` that end them, they are every code token of the text, in order.
    sql = "".join(parts)
    code = [t for t in tokenize(sql) if t.is_code]
    statements = split_statements(sql)
    read = [t for s in statements for t in s.tokens]
    assert read == [t for t in code if t.kind is not Kind.SEMI or t in read]
    assert all(s.tokens and s.line == s.tokens[0].line for s in statements)
