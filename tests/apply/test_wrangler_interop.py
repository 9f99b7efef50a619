"""The proof is real wrangler: both tools see one truth, whichever ran first.

Runs both ends of the supported range that `make setup` installs (wrangler 4.164.0 on
Node 22 and 4.86.0 on the machine's Node 20, the ``interop_wrangler`` fixture),
offline, on local state only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from orchestrator.sqltext import Kind, tokenize
from tests.apply.helpers import cli_json, ledger, query, state_path
from tests.conftest import (
    OLDEST_WRANGLER,
    needs_wrangler,
    pinned_wrangler,
    run_wrangler,
    toml_binding,
    wrangler_rows,
    write_tree,
)

pytestmark = needs_wrangler


def test_after_orchestrate_apply_wrangler_sees_everything(
    monorepo: Path, interop_wrangler: str
) -> None:
    code, _ = cli_json("apply", "--all", "--root", str(monorepo))
    assert code == 0
    io = monorepo / "packages/io"
    rows = wrangler_rows(
        io,
        "io-db",
        "SELECT (SELECT COUNT(*) FROM _migrations) AS ours, (SELECT COUNT(*) FROM d1_migrations) AS theirs, "
        "(SELECT COUNT(*) FROM sqlite_master WHERE name = 'user_plugins') AS tables",
        interop_wrangler,
    )
    assert rows == [{"ours": 12, "theirs": 12, "tables": 1}]
    for package, db in [
        ("io", "io-db"),
        ("space", "create-something-db"),
        ("analytics", "create-something-db"),
    ]:
        listed = run_wrangler(
            monorepo / "packages" / package,
            "d1",
            "migrations",
            "list",
            db,
            "--local",
            binary=interop_wrangler,
        )
        assert listed.returncode == 0 and "No migrations to apply" in listed.stdout, (
            package,
            listed.stdout,
        )
    admin = wrangler_rows(
        monorepo / "packages/admin",
        "create-something-db",
        "SELECT COUNT(*) AS n FROM page_views",
        interop_wrangler,
    )
    assert admin == [{"n": 0}]


def test_after_wrangler_apply_orchestrate_runs_nothing_again(
    monorepo: Path, interop_wrangler: str
) -> None:
    agency = monorepo / "packages/agency"
    applied = run_wrangler(
        agency, "d1", "migrations", "apply", "agency-db", "--local", binary=interop_wrangler
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    code, plan = cli_json("plan", "--root", str(monorepo), "--db", "agency-db")
    assert code == 0 and {m["status"] for m in plan["databases"][0]["migrations"]} == {"applied"}
    code, doc = cli_json("apply", "--db", "agency-db", "--root", str(monorepo))
    assert code == 0 and doc["databases"][0]["status"] == "up-to-date"
    assert ledger(state_path(monorepo, "agency-db")) == []


def test_mixed_history_three_digit_names(tmp_path: Path, interop_wrangler: str) -> None:
    root = write_tree(
        tmp_path / "mixed",
        {
            "p/wrangler.toml": toml_binding("mixed-db", "ffffffff-0000-0000-0000-000000000001"),
            "p/migrations/001_a.sql": "CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY);\n",
            "p/migrations/002_b.sql": "CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY);\n",
        },
    )
    assert (
        run_wrangler(
            root / "p", "d1", "migrations", "apply", "mixed-db", "--local", binary=interop_wrangler
        ).returncode
        == 0
    )
    (root / "p/migrations/003_c.sql").write_text(
        "CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY);\n"
    )
    (root / "p/migrations/0010_d.sql").write_text("INSERT INTO c (id) VALUES (10);\n")
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 0 and [m["name"] for m in doc["databases"][0]["applied"]] == ["0003_c", "0010_d"]
    listed = run_wrangler(
        root / "p", "d1", "migrations", "list", "mixed-db", "--local", binary=interop_wrangler
    )
    assert "No migrations to apply" in listed.stdout, listed.stdout
    assert query(state_path(root, "mixed-db"), "SELECT id FROM c") == [(10,)]


INTEROP_MIGRATIONS = {
    "0001_users.sql": """
        -- a comment before the statement, and one inside it
        CREATE TABLE users (
          id INTEGER PRIMARY KEY, -- the key
          email TEXT NOT NULL UNIQUE
        );
    """,
    "0002_audit.sql": """
        CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT);
        CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN
          INSERT INTO audit (note) VALUES ('new; user ' || new.email);
        END;
        CREATE INDEX audit_note ON audit (note);
    """,
}


def _without_comments(sql: str | None) -> str | None:
    if sql is None:
        return None
    return "".join(t.text for t in tokenize(sql) if t.kind is not Kind.COMMENT)


def _schema(path: Path) -> list[tuple[str, str, str | None]]:
    """The user's schema: no ledgers, and no ``_cf_METADATA`` (workerd's own table; the
    workerd of wrangler 4.86 creates it in a new file, that of 4.164 does not)."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "AND name NOT IN ('d1_migrations', '_migrations', '_migrations_lock', '_cf_METADATA') "
            "AND tbl_name NOT IN ('d1_migrations', '_migrations', '_migrations_lock') "
            "ORDER BY type, name"
        ).fetchall()
    return [(str(t), str(n), s) for t, n, s in rows]


def test_same_state_file_and_schema_whichever_tool_applied(
    tmp_path: Path, interop_wrangler: str
) -> None:
    roots = {}
    for who in ("ours", "theirs"):
        files: dict[str, str | bytes] = {
            "p/wrangler.toml": toml_binding("same-db", "eeeeeeee-0000-4000-8000-000000000001")
        }
        files |= {f"p/migrations/{k}": v for k, v in INTEROP_MIGRATIONS.items()}
        roots[who] = write_tree(tmp_path / who, files)
    code, _ = cli_json("apply", "--all", "--root", str(roots["ours"]))
    assert code == 0
    done = run_wrangler(
        roots["theirs"] / "p",
        "d1",
        "migrations",
        "apply",
        "same-db",
        "--local",
        binary=interop_wrangler,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    files = {
        who: sorted(
            p.relative_to(root).as_posix()
            for p in (root / "p/.wrangler").rglob("miniflare-D1DatabaseObject/*.sqlite")
            if p.name != "metadata.sqlite"
        )
        for who, root in roots.items()
    }
    assert files["ours"] == files["theirs"] and len(files["ours"]) == 1, files
    assert (roots["ours"] / files["ours"][0]) == state_path(roots["ours"], "same-db")
    ours = _schema(state_path(roots["ours"], "same-db"))
    theirs = _schema(roots["theirs"] / files["theirs"][0])
    if interop_wrangler == pinned_wrangler(OLDEST_WRANGLER):
        # 4.86 dropped comments inside statements; orchestrate keeps them as 4.164 does
        ours = [(t, n, _without_comments(s)) for t, n, s in ours]
    assert ours == theirs
    # and each tool, on the other's copy, finds nothing left to run
    listed = run_wrangler(
        roots["ours"] / "p",
        "d1",
        "migrations",
        "list",
        "same-db",
        "--local",
        binary=interop_wrangler,
    )
    assert "No migrations to apply" in listed.stdout, listed.stdout + listed.stderr
    code, doc = cli_json("apply", "--all", "--root", str(roots["theirs"]))
    assert code == 0 and doc["databases"][0]["status"] == "up-to-date"
