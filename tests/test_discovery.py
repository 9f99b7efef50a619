"""Discovery: one small tree per situation real monorepos have."""

from __future__ import annotations

from pathlib import Path

from orchestrator.discovery import discover_workspace
from orchestrator.discovery.wrangler import strip_jsonc
from orchestrator.model import Problem, Severity, Workspace
from orchestrator.planning import build_plan
from orchestrator.settings import Settings, load_settings
from tests.conftest import TreeWriter, toml_binding

ID_A = "11111111-1111-1111-1111-111111111111"
ID_B = "22222222-2222-2222-2222-222222222222"
SQL = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);\n"


def discover(root: Path, env: str | None = None) -> Workspace:
    return discover_workspace(Settings(root=root), env)


def loud(ws: Workspace) -> tuple[Problem, ...]:
    """Problems, without the info that a binding has no migrations directory at all
    (most tests here bind databases without writing migrations)."""
    return tuple(p for p in ws.problems if p.code != "source.missing")


def codes(ws: Workspace) -> list[str]:
    return [p.code for p in loud(ws)]


def test_toml_json_and_jsonc_configs(tree: TreeWriter) -> None:
    root = tree(
        {
            "packages/a/wrangler.toml": toml_binding("a-db", ID_A),
            "packages/a/migrations/0001_init.sql": SQL,
            "packages/b/wrangler.json": f'{{"name": "b", "d1_databases": [{{"binding": "DB", "database_name": "b-db", "database_id": "{ID_B}"}}]}}',
            "packages/c/wrangler.jsonc": """
                // comment with "quotes" and a trailing comma below
                {
                  "name": "c", /* block */
                  "d1_databases": [
                    {"binding": "DB", "database_name": "c-db", "database_id": "https://x//y",},
                  ],
                }
            """,
        }
    )
    ws = discover(root)
    assert [db.name for db in ws.databases] == ["a-db", "b-db", "c-db"]
    assert ws.databases[2].id == "https://x//y"
    assert [m.file for m in ws.databases[0].migrations] == ["packages/a/migrations/0001_init.sql"]
    assert not loud(ws)


def test_strip_jsonc_keeps_lines_and_strings() -> None:
    text = '{\n  "a": "x // not a comment", // real\n  "b": [1,2,],\n}'
    stripped = strip_jsonc(text)
    assert stripped.count("\n") == text.count("\n")
    assert '"x // not a comment"' in stripped
    assert "real" not in stripped


def test_skips_node_modules_wrangler_state_build_output_and_gitignored(tree: TreeWriter) -> None:
    root = tree(
        {
            ".gitignore": "generated/\n",
            "packages/a/wrangler.toml": toml_binding("a-db", ID_A),
            "node_modules/dep/wrangler.toml": toml_binding("dep-db", ID_B),
            "packages/a/.wrangler/tmp/wrangler.toml": toml_binding("x-db", ID_B),
            "packages/a/dist/wrangler.toml": toml_binding("y-db", ID_B),
            "generated/wrangler.toml": toml_binding("z-db", ID_B),
            "packages/d/.gitignore": "*.toml\n",
            "packages/d/wrangler.toml": toml_binding("d-db", ID_B),
        }
    )
    assert [db.name for db in discover(root).databases] == ["a-db"]


def test_wrangler_order_of_preference(tree: TreeWriter) -> None:
    root = tree(
        {
            "w/wrangler.toml": toml_binding("from-toml", ID_A),
            "w/wrangler.json": f'{{"d1_databases": [{{"binding": "DB", "database_name": "from-json", "database_id": "{ID_B}"}}]}}',
        }
    )
    ws = discover(root)
    assert [db.name for db in ws.databases] == ["from-json"]
    assert codes(ws) == ["config.shadowed"]
    assert loud(ws)[0].file == "w/wrangler.toml"


def test_env_sections_do_not_inherit(tree: TreeWriter) -> None:
    config = toml_binding("top-db", ID_A) + (
        f'\n[[env.staging.d1_databases]]\nbinding = "DB"\ndatabase_name = "staging-db"\ndatabase_id = "{ID_B}"\n'
    )
    root = tree({"p/wrangler.toml": config})
    assert [db.name for db in discover(root).databases] == ["top-db"]
    assert [db.name for db in discover(root, "staging").databases] == ["staging-db"]
    assert discover(root, "production").databases == ()


def test_env_only_bindings_get_a_hint_without_env(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": f'name = "p"\n[[env.production.d1_databases]]\nbinding = "DB"\ndatabase_name = "n"\ndatabase_id = "{ID_A}"\n',
            "p/migrations/0001_a.sql": SQL,
        }
    )
    ws = discover(root)
    assert ws.databases == ()
    assert codes(ws) == ["config.env-only"]
    assert [db.name for db in discover(root, "production").databases] == ["n"]


def test_placeholder_ids_fall_back_to_the_name(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", ""),
            "b/wrangler.toml": toml_binding("b-db", "00000000-0000-0000-0000-000000000000"),
            "c/wrangler.toml": toml_binding("c-db", "0"),
        }
    )
    ws = discover(root)
    assert [(db.name, db.key, db.id) for db in ws.databases] == [
        ("a-db", "name:a-db", ""),
        ("b-db", "name:b-db", ""),
        ("c-db", "name:c-db", ""),
    ]


def test_nine_workers_bind_one_database_one_owns_migrations(tree: TreeWriter) -> None:
    files: dict[str, str | bytes] = {
        f"w{i}/wrangler.toml": toml_binding("shared", ID_A) for i in range(9)
    }
    files["w0/migrations/0001_a.sql"] = SQL
    ws = discover(tree(files))
    (db,) = ws.databases
    assert len(db.bindings) == 9
    assert [m.file for m in db.migrations] == ["w0/migrations/0001_a.sql"]
    assert not loud(ws)


def test_meta_json_and_other_files_are_ignored(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("p", ID_A, extra='migrations_dir = "drizzle"\n'),
            "p/drizzle/0000_init.sql": SQL,
            "p/drizzle/meta/_journal.json": "{}",
            "p/drizzle/meta/0000_snapshot.json": "{}",
            "p/drizzle/README.md": "# notes",
        }
    )
    (db,) = discover(root).databases
    assert [m.file for m in db.migrations] == ["p/drizzle/0000_init.sql"]


def test_missing_migrations_dir_still_lists_the_database(tree: TreeWriter) -> None:
    ws = discover(tree({"p/wrangler.toml": toml_binding("lonely", ID_A)}))
    assert [(db.name, db.migrations) for db in ws.databases] == [("lonely", ())]
    # yusukebe/js-rpc-examples binds D1 this way: one info line, never a warning or error
    [problem] = ws.problems
    assert (problem.severity, problem.code, problem.file) == (
        Severity.INFO,
        "source.missing",
        "p/wrangler.toml",
    )


def test_orphan_migrations_directory_is_a_warning(tree: TreeWriter) -> None:
    ws = discover(
        tree({"old/migrations/001_x.sql": SQL, "p/wrangler.toml": toml_binding("p", ID_A)})
    )
    (problem,) = loud(ws)
    assert (problem.code, problem.severity, problem.file) == (
        "source.orphan",
        Severity.WARNING,
        "old/migrations",
    )


def test_broken_toml_is_an_error_with_its_line_and_the_rest_is_planned(tree: TreeWriter) -> None:
    root = tree(
        {
            "bad/wrangler.toml": 'name = "bad"\n[[d1_databases]\nbinding = "DB"\n',
            "good/wrangler.toml": toml_binding("good", ID_A),
        }
    )
    ws = discover(root)
    assert [db.name for db in ws.databases] == ["good"]
    (problem,) = loud(ws)
    assert (problem.code, problem.file, problem.line) == ("config.invalid", "bad/wrangler.toml", 2)


def test_broken_json_reports_its_line(tree: TreeWriter) -> None:
    ws = discover(
        tree(
            {"p/wrangler.json": '{\n  "name": "p",\n  "d1_databases": [\n    {"binding": }\n  ]\n}'}
        )
    )
    (problem,) = loud(ws)
    assert (problem.file, problem.line) == ("p/wrangler.json", 4)


def test_wrong_types_are_errors_on_the_binding_line_and_binding_only_is_fine(
    tree: TreeWriter,
) -> None:
    root = tree(
        {
            "a/wrangler.toml": 'name = "a"\nd1_databases = "nope"\n',
            "b/wrangler.toml": 'name = "b"\n\n[[d1_databases]]\nbinding = "DB"\n',
            "c/wrangler.toml": 'name = "c"\n[[d1_databases]]\nbinding = "not valid"\ndatabase_name = "c"\n',
            "d/wrangler.toml": 'name = "d"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = 5\n',
        }
    )
    found = {(p.file, p.line, p.code) for p in loud(discover(root))}
    assert found == {
        ("a/wrangler.toml", 2, "config.d1-type"),
        ("c/wrangler.toml", 3, "config.binding"),
        ("d/wrangler.toml", 3, "config.d1-type"),
    }


def test_naming_problems(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("p", ID_A),
            "p/migrations/001_a.sql": SQL,
            "p/migrations/0001_b.sql": SQL,
            "p/migrations/add_users.sql": SQL,
            "p/migrations/0002-dash.sql": SQL,
        }
    )
    workspace = discover(root)
    found = sorted((p.code, p.severity.value) for p in loud(workspace))
    assert found == [
        ("naming.dash", "warning"),
        ("naming.duplicate", "warning"),
        ("naming.short-prefix", "warning"),
        ("naming.unnumbered", "warning"),
    ]
    # As wrangler: every file is applied, duplicates by number then name, unnumbered last.
    order = [s.migration.file for s in build_plan(workspace).databases[0].steps]
    assert [m.rsplit("/", 1)[1] for m in order] == [
        "0001_b.sql",
        "001_a.sql",
        "0002-dash.sql",
        "add_users.sql",
    ]


def test_non_utf8_sql_is_an_error_naming_file_and_line(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("p", ID_A),
            "p/migrations/0001_latin1.sql": b"-- ok\n-- caf\xe9\nSELECT 1;\n",
        }
    )
    ws = discover(root)
    (problem,) = loud(ws)
    assert (problem.code, problem.file, problem.line) == (
        "source.encoding",
        "p/migrations/0001_latin1.sql",
        2,
    )
    assert ws.databases[0].migrations == ()


def test_checksum_ignores_line_endings(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a", ID_A),
            "a/migrations/0001_x.sql": b"SELECT 1;\r\nSELECT 2;\r\n",
            "b/wrangler.toml": toml_binding("b", ID_B),
            "b/migrations/0001_x.sql": b"SELECT 1;\nSELECT 2;\n",
        }
    )
    a, b = discover(root).databases
    assert a.migrations[0].checksum == b.migrations[0].checksum
    assert a.migrations[0].checksum.startswith("sha256:")


def test_include_and_exclude_globs(tree: TreeWriter) -> None:
    root = tree(
        {
            "packages/a/wrangler.toml": toml_binding("a", ID_A),
            "packages/b/wrangler.toml": toml_binding("b", ID_B),
            "apps/c/wrangler.toml": toml_binding("c", "33333333-3333-3333-3333-333333333333"),
        }
    )
    ws = discover_workspace(Settings(root=root, include=("packages/*",), exclude=("packages/b",)))
    assert [db.name for db in ws.databases] == ["a"]


def test_a_migrations_dir_outside_the_root_is_an_error(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding(
                "a-db", ID_A, extra='migrations_dir = "../../elsewhere"\n'
            ),
            "b/wrangler.toml": toml_binding("b-db", ID_B, extra='migrations_dir = "/etc"\n'),
            "c/wrangler.toml": toml_binding(
                "c-db",
                "33333333-3333-3333-3333-333333333333",
                extra='migrations_dir = "../shared/migrations"\n',
            ),
        }
    )
    ws = discover(root)
    assert [db.name for db in ws.databases] == ["c-db"]
    assert ws.databases[0].bindings[0].migrations_dir == "shared/migrations"
    assert sorted((p.code, p.file) for p in loud(ws)) == [
        ("config.migrations-dir", "a/wrangler.toml"),
        ("config.migrations-dir", "b/wrangler.toml"),
    ]


def test_a_gitignored_config_is_reported_and_can_be_included(tree: TreeWriter) -> None:
    root = tree(
        {
            ".gitignore": "wrangler.toml\n",
            "api/wrangler.toml": toml_binding("api-db", ID_A),
            "api/migrations/0001_a.sql": SQL,
        }
    )
    found = discover(root)
    assert found.databases == ()
    (hidden,) = [p for p in found.problems if p.code == "config.gitignored"]
    assert hidden.file == "api/wrangler.toml" and "include_ignored" in hidden.message
    (root / "workspace.toml").write_text('[discovery]\ninclude_ignored = ["api/wrangler.toml"]\n')
    included = discover_workspace(load_settings(root))
    assert [db.name for db in included.databases] == ["api-db"]
    assert not [p for p in included.problems if p.code == "config.gitignored"]


def test_skipped_files_are_info_and_unnumbered_files_are_migrations(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("p", ID_A),
            "p/migrations/0001_a.sql": SQL,
            "p/migrations/.draft.sql": SQL,
            "p/migrations/NOTES.SQL": SQL,
        }
    )
    (root / "p/migrations/0002_link.sql").symlink_to(root / "p/migrations/0001_a.sql")
    found = discover(root)
    assert [m.file for m in found.databases[0].migrations] == ["p/migrations/0001_a.sql"]
    skipped = sorted((p.file, p.severity.value) for p in found.problems)
    assert skipped == [
        ("p/migrations/.draft.sql", "info"),
        ("p/migrations/0002_link.sql", "info"),
        ("p/migrations/NOTES.SQL", "info"),
    ]


def test_nothing_found_is_an_error(tmp_path: Path) -> None:
    assert [p.code for p in discover(tmp_path).problems if p.is_error] == ["config.none"]
    (tmp_path / "wrangler.toml").write_text('name = "x"\n')
    assert [p.code for p in discover(tmp_path).problems if p.is_error] == ["config.no-d1"]


def test_an_unterminated_jsonc_comment_is_reported_at_its_own_line(tree: TreeWriter) -> None:
    """Before: blanked to the end of the file and read as valid (no word at all)."""
    root = tree({
        "a/wrangler.jsonc": '{\n "d1_databases": [\n  {"binding": "DB", "database_name": "a",'
        ' "database_id": "i1"}\n ]\n}\n/* never closed\n',
    })  # fmt: skip
    workspace = discover_workspace(Settings(root=root))
    [problem] = [p for p in workspace.problems if p.code == "config.invalid"]
    assert (problem.file, problem.line) == ("a/wrangler.jsonc", 6)
    assert problem.message == "invalid JSONC: a /* comment opened here is never closed"


def test_a_binding_that_is_no_string_is_reported_at_its_own_line(tree: TreeWriter) -> None:
    """Before: "has no `binding` name", at the ``[[d1_databases]]`` line."""
    root = tree({
        "b/wrangler.toml": '[[d1_databases]]\nbinding = 42\ndatabase_name = "b"\n'
        'database_id = "i2"\n',
    })  # fmt: skip
    workspace = discover_workspace(Settings(root=root))
    [problem] = [p for p in workspace.problems if p.code == "config.binding"]
    assert (problem.file, problem.line) == ("b/wrangler.toml", 2)
    assert problem.message == "`d1_databases[0].binding` must be a string, not 42"
