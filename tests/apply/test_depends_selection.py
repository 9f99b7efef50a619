"""``depends_on`` holds for ``apply --db X`` too, and every cycle is named (issue 14)."""

from __future__ import annotations

from tests.apply.helpers import cli, cli_json
from tests.conftest import TreeWriter, toml_binding

T = "CREATE TABLE IF NOT EXISTS {0} (id INTEGER PRIMARY KEY);\n"
IDS = {n: f"00000000-0000-0000-0000-00000000000{i}" for i, n in enumerate("abcd", 1)}


def dependent_tree(tree: TreeWriter) -> str:
    root = tree(
        {
            "workspace.toml": '[databases.b-db]\ndepends_on = ["a-db"]\n',
            "a/wrangler.toml": toml_binding("a-db", IDS["a"]),
            "a/migrations/0001_t.sql": T.format("t"),
            "b/wrangler.toml": toml_binding("b-db", IDS["b"]),
            "b/migrations/0001_u.sql": T.format("u"),
        }
    )
    return str(root)


def test_apply_db_refuses_while_an_unselected_dependency_is_pending(tree: TreeWriter) -> None:
    """Before: ``apply --db b-db`` applied b-db although a-db, which it needs, was pending."""
    root = dependent_tree(tree)
    code, doc = cli_json("apply", "--db", "b-db", "--root", root)
    assert code == 1
    [b] = doc["databases"]
    assert b["status"] == "skipped" and b["applied"] == []
    assert "depends on a-db, which has 1 pending migration(s)" in b["error"]
    # Selected together, the dependency goes first; then b-db alone is fine.
    code, doc = cli_json("apply", "--db", "b-db", "--db", "a-db", "--root", root)
    assert code == 0 and {d["status"] for d in doc["databases"]} == {"ok"}


def test_apply_db_goes_on_once_the_dependency_is_applied(tree: TreeWriter) -> None:
    root = dependent_tree(tree)
    assert cli_json("apply", "--db", "a-db", "--root", root)[0] == 0
    code, doc = cli_json("apply", "--db", "b-db", "--root", root)
    assert code == 0 and doc["databases"][0]["status"] == "ok"


def test_every_depends_on_cycle_is_named(tree: TreeWriter) -> None:
    """Before: only the first cycle found was named."""
    files = {
        "workspace.toml": (
            '[databases.a-db]\ndepends_on = ["b-db"]\n[databases.b-db]\ndepends_on = ["a-db"]\n'
            '[databases.c-db]\ndepends_on = ["d-db"]\n[databases.d-db]\ndepends_on = ["c-db"]\n'
        ),
    }
    for n in "abcd":
        files[f"{n}/wrangler.toml"] = toml_binding(f"{n}-db", IDS[n])
        files[f"{n}/migrations/0001_t.sql"] = T.format("t")
    root = tree(files)
    _, plan = cli_json("plan", "--root", str(root))
    cycles = sorted(p["message"] for p in plan["problems"] if p["code"] == "config.depends-cycle")
    assert cycles == [
        "depends_on forms a cycle: a-db -> b-db -> a-db",
        "depends_on forms a cycle: c-db -> d-db -> c-db",
    ]


def test_an_unknown_dependency_is_not_applied_and_the_summary_says_so(tree: TreeWriter) -> None:
    """Before: the database was applied, while the summary said "its databases were not
    applied"; the JSON said nothing of the kind."""
    root = tree({
        "workspace.toml": '[databases.a-db]\ndepends_on = ["ghost-db"]\n',
        "a/wrangler.toml": toml_binding("a-db", IDS["a"]),
        "a/migrations/0001_t.sql": T.format("t"),
    })  # fmt: skip
    code, out, err = cli("apply", "--all", "--root", str(root))
    words = "depends_on names 'ghost-db', which no config binds"
    assert code == 1
    text = " ".join((out + err).split())
    assert f"a-db: not started: {words}" in text
    assert f"{words} (its databases were not applied)" in text
    code, report = cli_json("apply", "--all", "--root", str(root))
    [db] = report["databases"]
    assert (db["status"], db["applied"], db["error"]) == ("skipped", [], f"not started: {words}")
    assert [p["message"] for p in report["problems"]] == [words]
