"""The proof is real wrangler: both tools see one truth, whichever ran first.

Runs the wrangler pinned in the Makefile (installed by `make setup`), offline, on
local state only.
"""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import cli_json, ledger, query, state_path
from tests.conftest import needs_wrangler, run_wrangler, toml_binding, wrangler_rows, write_tree

pytestmark = needs_wrangler
wrangler = run_wrangler
wrangler_query = wrangler_rows


def test_after_orchestrate_apply_wrangler_sees_everything(monorepo: Path) -> None:
    code, _ = cli_json("apply", "--all", "--root", str(monorepo))
    assert code == 0
    io = monorepo / "packages/io"
    rows = wrangler_query(
        io,
        "io-db",
        "SELECT (SELECT COUNT(*) FROM _migrations) AS ours, (SELECT COUNT(*) FROM d1_migrations) AS theirs, "
        "(SELECT COUNT(*) FROM sqlite_master WHERE name = 'user_plugins') AS tables",
    )
    assert rows == [{"ours": 12, "theirs": 12, "tables": 1}]
    for package, db in [
        ("io", "io-db"),
        ("space", "create-something-db"),
        ("analytics", "create-something-db"),
    ]:
        listed = wrangler(
            monorepo / "packages" / package, "d1", "migrations", "list", db, "--local"
        )
        assert listed.returncode == 0 and "No migrations to apply" in listed.stdout, (
            package,
            listed.stdout,
        )
    admin = wrangler_query(
        monorepo / "packages/admin", "create-something-db", "SELECT COUNT(*) AS n FROM page_views"
    )
    assert admin == [{"n": 0}]


def test_after_wrangler_apply_orchestrate_runs_nothing_again(monorepo: Path) -> None:
    agency = monorepo / "packages/agency"
    applied = wrangler(agency, "d1", "migrations", "apply", "agency-db", "--local")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    code, plan = cli_json("plan", "--root", str(monorepo), "--db", "agency-db")
    assert code == 0 and {m["status"] for m in plan["databases"][0]["migrations"]} == {"applied"}
    code, doc = cli_json("apply", "--db", "agency-db", "--root", str(monorepo))
    assert code == 0 and doc["databases"][0]["status"] == "up-to-date"
    assert ledger(state_path(monorepo, "agency-db")) == []


def test_mixed_history_three_digit_names(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "mixed",
        {
            "p/wrangler.toml": toml_binding("mixed-db", "ffffffff-0000-0000-0000-000000000001"),
            "p/migrations/001_a.sql": "CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY);\n",
            "p/migrations/002_b.sql": "CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY);\n",
        },
    )
    assert wrangler(root / "p", "d1", "migrations", "apply", "mixed-db", "--local").returncode == 0
    (root / "p/migrations/003_c.sql").write_text(
        "CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY);\n"
    )
    (root / "p/migrations/0010_d.sql").write_text("INSERT INTO c (id) VALUES (10);\n")
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 0 and [m["name"] for m in doc["databases"][0]["applied"]] == ["0003_c", "0010_d"]
    listed = wrangler(root / "p", "d1", "migrations", "list", "mixed-db", "--local")
    assert "No migrations to apply" in listed.stdout, listed.stdout
    assert query(state_path(root, "mixed-db"), "SELECT id FROM c") == [(10,)]
