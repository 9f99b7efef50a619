"""Regression tests for defects an independent review found in the core, apply and remote layers."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

from tests.apply.helpers import cli, cli_json, ledger, query, spawn, state_path
from tests.conftest import TreeWriter, toml_binding

ID_A = "aaaaaaaa-0000-0000-0000-00000000000a"
ID_B = "bbbbbbbb-0000-0000-0000-00000000000b"
T = "CREATE TABLE IF NOT EXISTS {0} (id INTEGER PRIMARY KEY);\n"


def test_commit_inside_a_migration_is_refused_and_nothing_is_kept(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": T.format("t"),
            "a/migrations/0002_tx.sql": "INSERT INTO t VALUES (3);\nCOMMIT;\nINSERT INTO t VALUES (4);\n",
        }
    )
    code, doc = cli_json("apply", "--all", "--root", str(root))
    result = doc["databases"][0]
    assert code == 1 and (result["file"], result["line"]) == ("a/migrations/0002_tx.sql", 2)
    assert "COMMIT is not allowed" in result["error"]
    path = state_path(root, "a-db")
    assert query(path, "SELECT COUNT(*) FROM t") == [(0,)]
    assert ledger(path) == ["0001_t.sql"]


def test_a_broken_config_fails_apply_and_status_even_though_the_rest_applies(
    tree: TreeWriter,
) -> None:
    root = tree(
        {
            "good/wrangler.toml": toml_binding("good-db", ID_A),
            "good/migrations/0001_t.sql": T.format("t"),
            "bad/wrangler.toml": "[[d1_databases]\nbinding = 'DB'\n",
        }
    )
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1 and doc["databases"][0]["status"] == "ok"
    assert [(p["code"], p["file"], p["line"]) for p in doc["problems"]] == [
        ("config.invalid", "bad/wrangler.toml", 1)
    ]
    assert cli("status", "--root", str(root), "--exit-code")[0] == 1


def test_a_depends_on_cycle_skips_both_and_fails(tree: TreeWriter) -> None:
    root = tree(
        {
            "workspace.toml": '[databases.a-db]\ndepends_on = ["b-db"]\n[databases.b-db]\ndepends_on = ["a-db"]\n',
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": T.format("t"),
            "b/wrangler.toml": toml_binding("b-db", ID_B),
            "b/migrations/0001_t.sql": T.format("t"),
        }
    )
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 1
    assert {d["status"] for d in doc["databases"]} <= {"skipped"}
    assert any(p["code"] == "config.depends-cycle" for p in doc["problems"])


def test_one_name_two_ids_is_an_error_naming_both_configs(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("s-db", ID_A),
            "b/wrangler.toml": toml_binding("s-db", ID_B),
        }
    )
    code, plan = cli_json("plan", "--root", str(root))
    # Reported against each of the two databases that share the name.
    problem = next(p for p in plan["problems"] if p["code"] == "config.name-clash")
    assert (
        code == 1
        and "a/wrangler.toml:6" in problem["message"]
        and "b/wrangler.toml:6" in problem["message"]
    )


def test_one_directory_feeding_two_databases_applies_to_each(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("one-db", ID_A)
            + f'\n[[d1_databases]]\nbinding = "TWO"\ndatabase_name = "two-db"\ndatabase_id = "{ID_B}"\n',
            "p/migrations/0001_t.sql": T.format("t"),
        }
    )
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 0 and {p["code"] for p in plan["problems"]} == {"source.shared"}
    assert {p["severity"] for p in plan["problems"]} == {"info"}
    assert [d["pending"] for d in plan["databases"]] == [1, 1]
    code, _ = cli_json("apply", "--all", "--root", str(root))
    assert code == 0
    for name in ("one-db", "two-db"):
        assert ledger(state_path(root, name)) == ["0001_t.sql"]


def test_engine_api_needs_remote() -> None:
    code, _, err = cli("plan", "--engine", "api")
    assert code == 2 and "--remote" in err


def test_ctrl_c_while_waiting_for_a_lock_exits_at_once(tmp_path: Path) -> None:
    root = tmp_path / "w"
    from tests.conftest import write_tree

    write_tree(
        root,
        {"p/wrangler.toml": toml_binding("db", ID_A), "p/migrations/0001_a.sql": T.format("a")},
    )
    cli("apply", "--all", "--root", str(root))
    (root / "p/migrations/0002_b.sql").write_text(T.format("b"))
    connection = sqlite3.connect(state_path(root, "db"))
    connection.execute(
        "INSERT INTO _migrations_lock VALUES (1, 'other', 'other-host', 1, '2026-01-01 00:00:00', 9e18)"
    )
    connection.commit()
    connection.close()
    process = spawn("apply", "--all", "--root", str(root), "--lock-timeout", "60")
    time.sleep(1.5)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 130 and time.monotonic() - started < 5


def test_a_wrangler_table_named_like_our_ledger_is_a_config_error(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding(
                "a-db", ID_A, extra='migrations_table = "_migrations"\n'
            ),
            "a/migrations/0001_t.sql": T.format("t"),
        }
    )
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 1 and [p["code"] for p in plan["problems"]] == ["config.ledger-clash"]


def test_a_foreign_table_under_our_ledger_name_is_reported_not_a_crash(tree: TreeWriter) -> None:
    root = tree(
        {"a/wrangler.toml": toml_binding("a-db", ID_A), "a/migrations/0001_t.sql": T.format("t")}
    )
    path = state_path(root, "a-db")
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name TEXT)")
    connection.close()
    code, out, err = cli("plan", "--root", str(root), "--format", "json")
    assert code == 1 and "not orchestrate's ledger" in out + err and "internal error" not in err


def test_markup_like_names_do_not_break_the_summary(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID_A),
            "a/migrations/0001_t.sql": 'INSERT INTO "[/x]" VALUES (1);\n',
        }
    )
    code, out, err = cli("apply", "--all", "--root", str(root))
    assert code == 1 and "[/x]" in out and "internal error" not in err


def test_env_typo_is_a_usage_error_with_a_suggestion(monorepo: Path) -> None:
    code, _, err = cli("apply", "--all", "--env", "prodution", "--root", str(monorepo))
    assert code == 2 and "did you mean 'production'" in err


def test_persist_to_a_file_is_a_clear_failure(tree: TreeWriter, tmp_path: Path) -> None:
    root = tree(
        {"a/wrangler.toml": toml_binding("a-db", ID_A), "a/migrations/0001_t.sql": T.format("t")}
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, doc = cli_json("apply", "--all", "--root", str(root), "--persist-to", str(blocker))
    assert code == 1 and "cannot create local D1 state" in doc["databases"][0]["error"]


def test_a_bom_in_wrangler_json_is_accepted(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.json": f'\ufeff{{"d1_databases": [{{"binding": "DB", "database_name": "a-db", "database_id": "{ID_A}"}}]}}'
        }
    )
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 0 and [d["name"] for d in plan["databases"]] == ["a-db"]


def test_concurrent_runs_creating_one_state_file_all_get_a_good_file(tmp_path: Path) -> None:
    import threading

    from orchestrator.engines.local import create_state_file

    for round_ in range(20):  # the race is narrow: many fresh files, threads released together
        path = tmp_path / f"state{round_}" / "db.sqlite"
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def create(
            target: Path = path,
            gate: threading.Barrier = start,
            found: list[BaseException] = errors,
        ) -> None:
            gate.wait()
            try:
                create_state_file(target)
            except BaseException as exc:  # collected for the assertion below
                found.append(exc)

        threads = [threading.Thread(target=create) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(p.name for p in path.parent.iterdir()) == ["db.sqlite"]  # no temporary left
        assert query(path, "PRAGMA journal_mode") == [("wal",)]
        assert query(path, "SELECT name FROM sqlite_master") == [("_cf_METADATA",)]
