"""`orchestrate init`: workspace.toml from discovery, kept on re-runs; npm scripts."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from orchestrator.lifecycle.npm import RUN, dump_like, merge_scripts
from orchestrator.lifecycle.workspace_file import TOP_KEYS
from orchestrator.settings import load_settings
from tests.apply.helpers import cli
from tests.conftest import TreeWriter, toml_binding

ID = "11111111-2222-3333-4444-555555555555"


def lines_before(text: str, key: str) -> list[str]:
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
    return lines[:at]


def test_init_writes_every_key_with_a_comment_and_settings_accept_it(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ID),
            "a/migrations/0001_x.sql": "SELECT 1;",
        }
    )
    code, out, err = cli("init", "--root", str(root))
    assert code == 0, err
    text = (root / "workspace.toml").read_text()
    for key in TOP_KEYS:
        assert lines_before(text, key.name)[-1].startswith("# "), key.name
    assert "[databases.a-db]\n# Bound by a (DB).\n# 1 migration from a/migrations." in text
    settings = load_settings(root)  # every key written is one settings accepts
    assert settings.ledger_table == "_migrations" and settings.database("a-db").depends_on == ()
    assert "workspace.toml" in out


def test_rerun_keeps_edits_and_comments_and_adds_new_databases(tree: TreeWriter) -> None:
    root = tree(
        {"a/wrangler.toml": toml_binding("a-db", ID), "a/migrations/0001_x.sql": "SELECT 1;"}
    )
    assert cli("init", "--root", str(root))[0] == 0
    path = root / "workspace.toml"
    edited = (
        path.read_text()
        .replace("concurrency = 4", "concurrency = 8  # our CI has 8 cores")
        .replace("depends_on = []", '# ship after b\ndepends_on = ["b-db"]')
    )
    path.write_text(edited)
    assert cli("init", "--root", str(root))[0] == 0
    assert path.read_text() == edited  # nothing new: byte for byte the same
    tree({"b/wrangler.toml": toml_binding("b-db", ID.replace("1", "9"))})
    code, out, _ = cli("init", "--root", str(root))
    assert code == 0 and "databases.b-db" in out
    text = path.read_text()
    assert text.startswith(edited.rstrip("\n"))
    assert "concurrency = 8  # our CI has 8 cores" in text and "# ship after b" in text
    assert tomllib.loads(text)["databases"]["b-db"] == {"depends_on": []}
    assert load_settings(root).database("a-db").depends_on == ("b-db",)


def test_missing_keys_are_added_above_the_tables_with_their_comments(
    monorepo: Path,
) -> None:
    before = (monorepo / "workspace.toml").read_text()
    code, _, _ = cli("init", "--root", str(monorepo))
    assert code == 0
    text = (monorepo / "workspace.toml").read_text()
    assert 'exclude = ["packages/archive"]' in text  # the user's value, untouched
    assert "# The LMS reads space's users" in text
    assert 'depends_on = ["create-something-db"]' in text
    assert lines_before(text, "lock_timeout")[-1].startswith("# Seconds `apply` waits")
    data = tomllib.loads(text)
    assert set(data["databases"]) >= {"io-db", "notifications-db", "notifications-db-staging"}
    assert before.splitlines()[0] == text.splitlines()[0]
    load_settings(monorepo)


def test_npm_scripts_keep_formatting_and_user_scripts(monorepo: Path) -> None:
    package = monorepo / "package.json"
    original = package.read_text()
    code, out, _ = cli("init", "--root", str(monorepo), "--npm-scripts")
    assert code == 0
    text = package.read_text()
    data = json.loads(text)
    scripts = data["scripts"]
    assert list(data) == list(json.loads(original))  # key order kept
    assert text.endswith("}\n") and '\n  "scripts": {\n    "dev": ' in text
    assert scripts["migrate:all"].startswith(f"{RUN} apply --all")
    assert "--env production" in scripts["migrate:all"]
    assert scripts["migrate:all:remote"].split(" && ")[0] == f"{RUN} apply --all --remote"
    assert scripts["migrate:analytics"] == f"{RUN} apply --db create-something-db"
    assert scripts["migrate:lms"] == f"{RUN} apply --db learn-db"
    # The team's own wrangler script is kept, and the user is told so.
    assert scripts["migrate:io"].startswith("wrangler d1 migrations apply io-db")
    assert "kept migrate:io" in out
    assert list(scripts)[:4] == ["dev", "deploy", "migrate:space", "migrate:io"]
    assert cli("init", "--root", str(monorepo), "--npm-scripts")[0] == 0
    assert package.read_text() == text


@pytest.mark.parametrize(
    "original",
    [
        '{\n    "name": "x",\n    "scripts": {\n        "b": "y"\n    }\n}',
        '{\r\n\t"name": "x",\r\n\t"scripts": {\r\n\t\t"b": "y"\r\n\t}\r\n}\r\n',
    ],
)
def test_dump_like_keeps_indent_newlines_and_final_newline(original: str) -> None:
    data = json.loads(original)
    added, updated, kept = merge_scripts(
        data["scripts"], {"migrate:all": "orchestrate apply --all"}
    )
    assert (added, updated, kept) == (["migrate:all"], [], [])
    text = dump_like(data, original)
    assert text.replace('"migrate:all": "orchestrate apply --all"', "@").count("@") == 1
    indent = "\t" if "\t" in original else "    "
    assert f'{indent}{indent}"migrate:all"' in text
    assert text.endswith("\r\n") == original.endswith("\r\n")
    assert text.endswith("}") == original.endswith("}")
    assert ("\r\n" in text) == ("\r\n" in original)


def test_scripts_orchestrate_wrote_earlier_are_updated() -> None:
    existing = {"migrate:all": "orchestrate apply --all", "migrate:x": "node scripts/migrate.js"}
    added, updated, kept = merge_scripts(
        existing,
        {"migrate:all": "orchestrate apply --all --jobs 2", "migrate:x": "orchestrate apply"},
    )
    assert (added, updated) == ([], ["migrate:all"])
    assert kept == [("migrate:x", "node scripts/migrate.js")]
    assert existing["migrate:all"].endswith("--jobs 2")


def test_npm_scripts_without_package_json_is_a_usage_error(tree: TreeWriter) -> None:
    root = tree({"a/wrangler.toml": toml_binding("a-db", ID)})
    code, _, err = cli("init", "--root", str(root), "--npm-scripts")
    assert code == 2 and "no package.json" in err
