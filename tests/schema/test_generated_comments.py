"""Generated files (revert, recreate, new, types): a name or title never leaves its
comment. Before issue 14 a newline in a table name turned the rest of a comment
line of ``revert --write`` into a live statement (a ``DROP TABLE`` of another table).

Properties: for any text, the generated file's statements are exactly the intended
ones (SQL), and no comment can end early (TypeScript).
"""

from __future__ import annotations

import datetime
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.checks.schema import Column, SchemaSnapshot, Table
from orchestrator.lifecycle.new import migration_header
from orchestrator.model import Binding, Database
from orchestrator.schema.ddl import Block, Header, render_blocks, render_header
from orchestrator.schema.types import render_types
from orchestrator.sqltext import split_executable

# Any text at all, with the characters that end comments made likely.
HOSTILE = st.lists(
    st.one_of(
        st.sampled_from(
            ["\n", "\r", "\u2028", "\u2029", "*/", "--", ";", "DROP TABLE t", "'", '"']
        ),
        st.text(max_size=3),
    ),
    max_size=12,
).map("".join)


def statements(sql: str) -> list[str]:
    return [s.text for s in split_executable(sql)]


@settings(max_examples=300, deadline=None)
@given(title=HOSTILE, purpose=HOSTILE, context=HOSTILE, change=HOSTILE, check=HOSTILE)
def test_a_header_is_only_comments(
    title: str, purpose: str, context: str, change: str, check: str
) -> None:
    header = Header(3, title, purpose, (context,), (change,), (check,), created="2026-01-01")
    assert statements(render_header(header)) == []


@settings(max_examples=300, deadline=None)
@given(comment=HOSTILE, name=HOSTILE)
def test_a_step_runs_exactly_its_statements(comment: str, name: str) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    intended = f"DROP TABLE IF EXISTS {quoted}"
    body = render_blocks([Block((f"drop {name}", comment), (intended,))])
    assert statements(body) == [intended + ";"]


def database(name: str) -> tuple[Database, Binding]:
    binding = Binding(
        package=f"pkg{name}", binding="DB", config="p/wrangler.toml", database_name=name,
        database_id="i", preview_database_id="", migrations_dir="p/migrations",
        migrations_table="d1_migrations",
    )  # fmt: skip
    return Database(key=name, name=name, id="i", bindings=(binding,), migrations=()), binding


@settings(max_examples=300, deadline=None)
@given(title=HOSTILE.map(lambda t: "add " + t), name=HOSTILE)
def test_new_writes_a_header_that_runs_nothing(title: str, name: str) -> None:
    db, binding = database(name)
    header = migration_header(7, title, db, binding, None, datetime.date(2026, 1, 1))
    assert statements(header) == []


# Where a JavaScript line comment ends, and where a block comment does.
JS_LINE_END = re.compile("[\n\r\u2028\u2029]")


@settings(max_examples=300, deadline=None)
@given(database_name=HOSTILE, table=HOSTILE, column=HOSTILE, default=HOSTILE)
def test_types_comments_never_end_early(
    database_name: str, table: str, column: str, default: str
) -> None:
    columns = (Column(column or "c", "TEXT", False, default, 0),)
    snapshot = SchemaSnapshot((Table(table or "t", "", columns, (), ()),), ())
    text = render_types(database_name, snapshot, lambda _: False)
    lines = text.split("\n")
    assert JS_LINE_END.split(text) == lines  # no hidden line break anywhere
    for line in lines:
        if line.startswith("/**"):
            assert line.endswith("*/") and line.count("*/") == 1, line
        elif "//" in line and not line.startswith("//"):
            comment = line.partition("; // ")[2]
            assert "*/" not in comment, line
