"""`orchestrate apply` on real SQLite files: atomicity, refusals, ordering, dry run."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from tests.apply.helpers import cli, cli_json, ledger, query, schema, state_path
from tests.conftest import TreeWriter, toml_binding

ID_A = "aaaaaaaa-0000-0000-0000-000000000001"
ID_B = "bbbbbbbb-0000-0000-0000-000000000002"
T = "CREATE TABLE IF NOT EXISTS {0} (id INTEGER PRIMARY KEY);\n"


def test_fixture_monorepo_applies_then_is_up_to_date(monorepo: Path) -> None:
    code, doc = cli_json("apply", "--all", "--root", str(monorepo))
    assert code == 0, doc
    assert doc["version"] == 1 and doc["target"] == "local"
    by_name = {d["name"]: d for d in doc["databases"]}
    assert by_name["io-db"]["status"] == "ok" and len(by_name["io-db"]["applied"]) == 12
    assert {d["status"] for d in doc["databases"]} == {"ok"}
    code, doc = cli_json("apply", "--all", "--root", str(monorepo))
    assert code == 0 and {d["status"] for d in doc["databases"]} == {"up-to-date"}
    code, plan = cli_json("plan", "--root", str(monorepo))
    assert sum(d["pending"] for d in plan["databases"]) == 0
    io = state_path(monorepo, "io-db", "packages/io")
    assert ledger(io)[8] == "0009_user_plugins.sql"
    assert query(io, "SELECT name FROM d1_migrations ORDER BY id")[8] == ("009_user_plugins.sql",)


def test_ledger_rows_carry_checksum_time_and_source(monorepo: Path) -> None:
    cli("apply", "--db", "agency-db", "--root", str(monorepo))
    rows = query(
        state_path(monorepo, "agency-db"),
        "SELECT filename, checksum, execution_time_ms, source, applied_at FROM _migrations",
    )
    assert len(rows) == 6
    filename, checksum, ms, source, applied_at = rows[0]
    assert filename == "0001_clients.sql" and checksum.startswith("sha256:")
    assert isinstance(ms, int) and source == "packages/agency/migrations" and applied_at


def test_database_bound_by_several_packages_reaches_every_package_state(monorepo: Path) -> None:
    cli("apply", "--db", "create-something-db", "--root", str(monorepo))
    for package in ("packages/space", "packages/analytics", "packages/admin"):
        path = state_path(monorepo, "create-something-db", package)
        assert len(ledger(path)) == 15, package
        assert ("page_views",) in query(path, "SELECT name FROM sqlite_master WHERE type='table'")


def test_failing_statement_leaves_nothing_and_names_file_and_line(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_ok.sql": T.format("one"),
            "a/migrations/0002_bad.sql": "-- header\nCREATE TABLE IF NOT EXISTS two (id INTEGER);\nINSERT INTO two VALUES (1);\n\nINSERT INTO nope VALUES (1);\n",
            "a/migrations/0003_later.sql": T.format("three"),
            "b/wrangler.toml": toml_binding("b-db", ID_B),
            "b/migrations/0001_fine.sql": T.format("fine"),
        }
    )
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1
    a, b = doc["databases"]
    assert (a["status"], a["file"], a["line"]) == ("failed", "a/migrations/0002_bad.sql", 5)
    assert "no such table: nope" in a["error"]
    assert [m["name"] for m in a["applied"]] == ["0001_ok"]
    assert b["status"] == "ok"
    path = state_path(root, "a-db")
    tables = {r[0] for r in query(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "two" not in tables and "three" not in tables and "one" in tables
    assert ledger(path) == ["0001_ok.sql"]
    assert query(path, "SELECT name FROM d1_migrations") == [("0001_ok.sql",)]


def test_text_error_is_one_line_with_file_and_line(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_bad.sql": "SELECT 1;\nSELECT nope FROM x;\n",
        }
    )
    code, out, _ = cli("apply", "--all", "--root", str(root))
    assert code == 1 and "a/migrations/0001_bad.sql:2: no such table: x" in out.replace("\n", "")


def test_fail_fast_stops_the_others(tree: TreeWriter) -> None:
    files: dict[str, str | bytes] = {
        "a/wrangler.toml": toml_binding("a-db", ID_A),
        "a/migrations/0001_bad.sql": "SELECT x FROM y;",
    }
    for i in range(6):
        files[f"p{i}/wrangler.toml"] = toml_binding(
            f"z{i}-db", f"cccccccc-0000-0000-0000-00000000000{i}"
        )
        files[f"p{i}/migrations/0001_t.sql"] = T.format("t")
    code, doc = cli_json("apply", "--all", "--fail-fast", "--jobs", "1", "--root", str(tree(files)))
    assert code == 1
    statuses = [d["status"] for d in doc["databases"]]
    assert statuses[0] == "failed" and "skipped" in statuses


def test_changed_file_is_refused_by_name(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": T.format("t"),
            "a/migrations/0002_u.sql": T.format("u"),
        }
    )
    cli("apply", "--all", "--root", str(root))
    (root / "a/migrations/0001_t.sql").write_text(T.format("t") + "-- edited\n")
    (root / "a/migrations/0003_v.sql").write_text(T.format("v"))
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 1 and [m["status"] for m in plan["databases"][0]["migrations"]] == [
        "changed",
        "applied",
        "pending",
    ]
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1 and doc["databases"][0]["file"] == "a/migrations/0001_t.sql"
    assert "orchestrate repair" in doc["databases"][0]["error"]
    assert ledger(state_path(root, "a-db")) == ["0001_t.sql", "0002_u.sql"]


def test_crlf_checkout_is_not_a_change(tree: TreeWriter) -> None:
    root = tree(
        {"a/wrangler.toml": toml_binding("a-db", ID_A), "a/migrations/0001_t.sql": T.format("t")}
    )
    cli("apply", "--all", "--root", str(root))
    path = root / "a/migrations/0001_t.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 0 and plan["databases"][0]["migrations"][0]["status"] == "applied"


def test_out_of_order_is_refused_unless_allowed(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": T.format("t"),
            "a/migrations/0003_v.sql": T.format("v"),
        }
    )
    cli("apply", "--all", "--root", str(root))
    (root / "a/migrations/0002_late.sql").write_text(T.format("late"))
    code, plan = cli_json("plan", "--root", str(root))
    assert any(p["code"] == "plan.out-of-order" for p in plan["problems"])
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1 and "--allow-out-of-order" in doc["databases"][0]["error"]
    code, doc = cli_json("apply", "--all", "--allow-out-of-order", "--root", str(root))
    assert code == 0 and [m["name"] for m in doc["databases"][0]["applied"]] == ["0002_late"]


def test_to_stops_after_the_given_number(tree: TreeWriter) -> None:
    files: dict[str, str | bytes] = {"a/wrangler.toml": toml_binding("a-db", ID_A)}
    files |= {f"a/migrations/{n:04d}_t{n}.sql": T.format(f"t{n}") for n in range(1, 6)}
    root = tree(files)
    code, doc = cli_json("apply", "--all", "--to", "3", "--root", str(root))
    assert code == 0 and len(doc["databases"][0]["applied"]) == 3


def test_depends_on_failure_skips_the_dependent(tree: TreeWriter) -> None:
    root = tree(
        {
            "workspace.toml": '[databases.b-db]\ndepends_on = ["a-db"]\n',
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_bad.sql": "SELECT * FROM nope;",
            "b/wrangler.toml": toml_binding("b-db", ID_B),
            "b/migrations/0001_t.sql": T.format("t"),
        }
    )
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1
    assert [(d["name"], d["status"]) for d in doc["databases"]] == [
        ("a-db", "failed"),
        ("b-db", "skipped"),
    ]
    assert "a-db failed" in doc["databases"][1]["error"]


def test_plan_errors_skip_that_database_only(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": T.format("t"),
            "a/migrations/001_t.sql": T.format("dup"),  # collides with 0001_t once normalized
            "b/wrangler.toml": toml_binding("b-db", ID_B),
            "b/migrations/0001_t.sql": T.format("t"),
        }
    )
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1  # a database left behind fails the run, even though b-db went through
    assert [(d["name"], d["status"]) for d in doc["databases"]] == [
        ("a-db", "skipped"),
        ("b-db", "ok"),
    ]


def test_dry_run_prints_the_exact_sql_and_writes_nothing(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": "-- c\nCREATE TABLE IF NOT EXISTS t (x TEXT DEFAULT 'a;b');\n",
        }
    )
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    code, out, _ = cli("apply", "--all", "--dry-run", "--root", str(root))
    assert code == 0
    assert "CREATE TABLE IF NOT EXISTS t (x TEXT DEFAULT 'a;b');" in out
    assert (
        'INSERT INTO "_migrations"' in out
        and 'INSERT INTO "d1_migrations" (name)' in out
        and "OR IGNORE" not in out
    )
    assert "'0001_t.sql'" in out
    code, doc = cli_json("apply", "--all", "--dry-run", "--root", str(root))
    statements = doc["databases"][0]["batches"][0]["statements"]
    assert (
        statements[0]["sql"].startswith("CREATE TABLE")
        and statements[1]["params"][0] == "0001_t.sql"
    )
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before


def test_requires_all_or_db(tree: TreeWriter) -> None:
    root = tree({"a/wrangler.toml": toml_binding("a-db", ID_A)})
    code, _, err = cli("apply", "--root", str(root))
    assert code == 2 and "--all" in err


def test_foreign_wrangler_table_is_left_alone_with_a_warning(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding(
                "a-db", ID_A, extra='migrations_table = "__drizzle_migrations"\n'
            ),
            "a/migrations/0001_t.sql": T.format("t"),
        }
    )
    path = state_path(root, "a-db")
    cli("apply", "--all", "--root", str(root), "--dry-run")
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE __drizzle_migrations (id SERIAL PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)"
    )
    connection.commit()
    connection.close()
    code, plan = cli_json("plan", "--root", str(root))
    assert [p["code"] for p in plan["problems"]] == ["ledger.foreign-table"]
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 0 and doc["databases"][0]["warnings"]
    assert query(path, "SELECT COUNT(*) FROM __drizzle_migrations") == [(0,)]
    assert ledger(path) == ["0001_t.sql"]


def test_persist_to(tree: TreeWriter, tmp_path: Path) -> None:
    root = tree(
        {"a/wrangler.toml": toml_binding("a-db", ID_A), "a/migrations/0001_t.sql": T.format("t")}
    )
    state = tmp_path / "state"
    code, _ = cli_json("apply", "--all", "--root", str(root), "--persist-to", str(state))
    assert code == 0
    (file,) = list((state / "v3" / "d1" / "miniflare-D1DatabaseObject").glob("*.sqlite"))
    assert ledger(file) == ["0001_t.sql"]
    assert not (root / "a" / ".wrangler").exists()


def test_plan_is_read_only(monorepo: Path) -> None:
    cli("apply", "--db", "io-db", "--root", str(monorepo))
    path = state_path(monorepo, "io-db", "packages/io")
    files = sorted(path.parent.iterdir())
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files}
    cli("plan", "--root", str(monorepo))
    cli("apply", "--all", "--dry-run", "--root", str(monorepo))
    assert sorted(path.parent.iterdir()) == files
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files} == before


def test_same_schema_as_plain_replay(monorepo: Path) -> None:
    # learn-db depends_on create-something-db: --db learn-db alone would wait for it.
    code, out, err = cli(
        "apply", "--db", "learn-db", "--db", "create-something-db", "--root", str(monorepo)
    )
    assert code == 0, out + err
    reference = sqlite3.connect(":memory:")
    reference.execute("PRAGMA foreign_keys=ON")
    for path in sorted((monorepo / "packages/lms/migrations").glob("*.sql")):
        reference.executescript(path.read_text())
    expected = reference.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    path = state_path(monorepo, "learn-db")
    assert [row[:3] for row in schema(path)] == expected
    for _, table, _ in (row for row in expected if row[0] == "table"):
        columns = f"SELECT * FROM pragma_table_info('{table}')"
        assert query(path, columns) == reference.execute(columns).fetchall()


def test_json_is_valid_when_nothing_matches(tree: TreeWriter) -> None:
    root = tree({"a/wrangler.toml": toml_binding("a-db", ID_A)})
    code, out, _ = cli("apply", "--all", "--root", str(root), "--format", "json")
    assert code == 0 and json.loads(out)["databases"][0]["status"] == "up-to-date"


def test_out_of_order_policy_per_database_in_workspace_toml(tree: TreeWriter) -> None:
    root = tree(
        {
            "workspace.toml": "[databases.a-db]\nallow_out_of_order = true\n",
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": T.format("t"),
            "a/migrations/0003_v.sql": T.format("v"),
            "b/wrangler.toml": toml_binding("b-db", ID_B),
            "b/migrations/0001_t.sql": T.format("t"),
            "b/migrations/0003_v.sql": T.format("v"),
        }
    )
    cli("apply", "--all", "--root", str(root))
    (root / "a/migrations/0002_late.sql").write_text(T.format("late"))
    (root / "b/migrations/0002_late.sql").write_text(T.format("late"))
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1
    assert [(d["name"], d["status"]) for d in doc["databases"]] == [
        ("a-db", "ok"),
        ("b-db", "failed"),
    ]
