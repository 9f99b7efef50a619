"""`orchestrate history`: recent ledger rows beside the files on disk (read-only).
Local targets here (fast, real SQLite); the remote path is in test_remote_cli.py."""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import cli, cli_json, state_path
from tests.conftest import toml_binding, write_tree
from tests.remote.conftest import small_tree


def test_history_compares_each_row_with_its_file(tmp_path: Path) -> None:
    root = small_tree(tmp_path / "mono", migrations=4)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    migrations = root / "packages/p0/migrations"
    (migrations / "0004_t4.sql").unlink()
    (migrations / "0003_t3.sql").write_text("-- edited after it ran\n")
    (migrations / "0002_t2.sql").rename(migrations / "02_t2.sql")  # a rename keeps its identity
    state = state_path(root, "db0")
    before = state.read_bytes()
    code, doc = cli_json("history", "--db", "db0", "--limit", "3", "--root", str(root))
    assert code == 0
    assert state.read_bytes() == before  # read-only
    assert doc["database"] == "db0" and doc["target"] == "local"
    [target] = doc["targets"]
    assert target["label"] == "packages/p0"
    rows = [(r["name"], r["checksum"], r["file"]) for r in target["rows"]]
    assert rows == [
        ("0004_t4.sql", "missing file", None),
        ("0003_t3.sql", "changed", "packages/p0/migrations/0003_t3.sql"),
        ("0002_t2.sql", "ok", "packages/p0/migrations/02_t2.sql"),
    ]
    assert all(r["bookmark"] is None and r["restore_command"] is None for r in target["rows"])
    assert all(isinstance(r["execution_time_ms"], int) for r in target["rows"])


def test_history_of_a_database_never_applied(tmp_path: Path) -> None:
    root = small_tree(tmp_path / "mono")
    code, out, _ = cli("history", "--db", "db0", "--root", str(root))
    assert code == 0 and "no migrations recorded yet" in out
    assert not state_path(root, "db0").exists()


def test_history_needs_a_known_database(tmp_path: Path) -> None:
    root = small_tree(tmp_path / "mono")
    code, _, err = cli("history", "--db", "db9", "--root", str(root))
    assert code == 2 and "no database called 'db9'" in err


def test_a_name_with_brackets_prints_as_written(tmp_path: Path) -> None:
    # The console never reads markup, so escaping a name for rich printed "db\[x]".
    root = write_tree(
        tmp_path / "mono",
        {
            "packages/p/wrangler.toml": toml_binding(
                "db[x]", "00000000-0000-4000-8000-00000000b00c"
            ),
            "packages/p/migrations/0001_init.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);\n",
        },
    )
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    code, out, _ = cli("history", "--db", "db[x]", "--root", str(root))
    assert code == 0 and "history: db[x] (local: packages/p)" in out and "\\[" not in out
