"""`orchestrate seed --env NAME`: seeds/<env>/ files in order, once each, atomically,
on fully migrated databases only; remote dev seeds need --yes."""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import cli, cli_json, query, state_path
from tests.conftest import TreeWriter, toml_binding
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import api_server, remote_env  # noqa: F401  (fixtures)
from tests.schema.helpers import DB_ID

SCHEMA = "CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL);\n"
OTHER_ID = "00000000-0000-0000-0000-0000000000cc"


def two_sources(tree: TreeWriter) -> Path:
    """One database fed by two packages, each with dev seeds."""
    return tree(
        {
            "a/wrangler.toml": toml_binding("people-db", DB_ID),
            "a/migrations/0001_people.sql": SCHEMA,
            "b/wrangler.toml": toml_binding("people-db", DB_ID)
            + 'migrations_dir = "db/migrations"\n',
            "b/db/migrations/0002_pets.sql": "CREATE TABLE IF NOT EXISTS pets (name TEXT);\n",
            "a/seeds/dev/0001_ada.sql": "INSERT INTO people (name) VALUES ('ada');\n",
            "a/seeds/dev/0003_cy.sql": "INSERT INTO people (name) VALUES ('cy');\n",
            "b/db/seeds/dev/0002_bo.sql": "INSERT INTO people (name) VALUES ('bo');\n",
            "a/seeds/production/0001_admin.sql": "INSERT INTO people (name) VALUES ('admin');\n",
        }
    )


def people(root: Path, package: str = "a") -> list[str]:
    path = state_path(root, "people-db", package)
    return [r[0] for r in query(path, "SELECT name FROM people ORDER BY id")]


def test_refused_until_fully_migrated_and_nothing_is_created(tree: TreeWriter) -> None:
    root = two_sources(tree)
    code, doc = cli_json("seed", "--env", "dev", "--root", str(root))
    assert code == 1
    assert "not fully migrated: 2 migrations pending" in doc["databases"][0]["error"]
    assert not state_path(root, "people-db", "a").exists()


def test_seeds_run_in_number_order_across_sources_once(tree: TreeWriter) -> None:
    root = two_sources(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    code, doc = cli_json("seed", "--env", "dev", "--root", str(root))
    assert code == 0, doc
    applied = [a["file"] for a in doc["databases"][0]["applied"]]
    assert applied == [
        "a/seeds/dev/0001_ada.sql",
        "b/db/seeds/dev/0002_bo.sql",
        "a/seeds/dev/0003_cy.sql",
    ]
    for package in ("a", "b"):  # every binding package's local state is seeded
        assert people(root, package) == ["ada", "bo", "cy"]
    rows = query(
        state_path(root, "people-db"),
        "SELECT env, filename, source, checksum FROM _seeds ORDER BY id",
    )
    assert [r[:3] for r in rows] == [
        ("dev", "0001_ada.sql", "a/seeds/dev"),
        ("dev", "0002_bo.sql", "b/db/seeds/dev"),
        ("dev", "0003_cy.sql", "a/seeds/dev"),
    ]
    assert all(r[3].startswith("sha256:") for r in rows)
    code, doc = cli_json("seed", "--env", "dev", "--root", str(root))
    assert code == 0 and doc["databases"][0]["status"] == "up-to-date"
    (root / "a/seeds/dev/0004_di.sql").write_text("INSERT INTO people (name) VALUES ('di');\n")
    code, doc = cli_json("seed", "--env", "dev", "--root", str(root))
    assert [a["name"] for a in doc["databases"][0]["applied"]] == ["0004_di"]
    assert people(root) == ["ada", "bo", "cy", "di"]


def test_a_failing_seed_leaves_nothing_of_itself(tree: TreeWriter) -> None:
    root = two_sources(tree)
    (root / "b/db/seeds/dev/0002_bo.sql").write_text(
        "INSERT INTO people (name) VALUES ('bo');\n\nINSERT INTO people (name) VALUES ('ada');\n"
    )
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    code, out, _ = cli("seed", "--env", "dev", "--root", str(root))
    assert code == 1
    assert "people-db: b/db/seeds/dev/0002_bo.sql:3: UNIQUE constraint failed: people.name" in out
    assert people(root) == ["ada"], "0002 rolled back as a whole; 0003 never ran"
    assert query(state_path(root, "people-db"), "SELECT filename FROM _seeds") == [
        ("0001_ada.sql",)
    ]


def test_a_changed_seed_is_refused(tree: TreeWriter) -> None:
    root = two_sources(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    assert cli("seed", "--env", "dev", "--root", str(root))[0] == 0
    (root / "a/seeds/dev/0001_ada.sql").write_text("INSERT INTO people (name) VALUES ('eve');\n")
    code, doc = cli_json("seed", "--env", "dev", "--root", str(root))
    result = doc["databases"][0]
    assert code == 1 and result["file"] == "a/seeds/dev/0001_ada.sql"
    assert "changed after it was seeded" in result["error"]


def test_a_new_pending_migration_blocks_seeding(tree: TreeWriter) -> None:
    root = two_sources(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    (root / "a/migrations/0003_more.sql").write_text("CREATE TABLE IF NOT EXISTS more (x);\n")
    code, doc = cli_json("seed", "--env", "dev", "--root", str(root))
    assert (
        code == 1
        and "1 migration pending (first: a/migrations/0003_more.sql)"
        in doc["databases"][0]["error"]
    )


def test_production_seeds_are_a_separate_set(tree: TreeWriter) -> None:
    root = two_sources(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    assert cli("seed", "--env", "production", "--root", str(root))[0] == 0
    assert people(root) == ["admin"]
    assert cli("seed", "--env", "dev", "--root", str(root))[0] == 0
    assert people(root) == ["admin", "ada", "bo", "cy"]


def test_env_section_databases_are_used_when_configs_have_them(tree: TreeWriter) -> None:
    staging = (
        '\n[env.staging]\n[[env.staging.d1_databases]]\nbinding = "DB"\n'
        f'database_name = "people-staging"\ndatabase_id = "{OTHER_ID}"\n'
    )
    root = tree(
        {
            "a/wrangler.toml": toml_binding("people-db", DB_ID) + staging,
            "a/migrations/0001_people.sql": SCHEMA,
            "a/seeds/staging/0001_demo.sql": "INSERT INTO people (name) VALUES ('demo');\n",
        }
    )
    assert cli("apply", "--all", "--env", "staging", "--root", str(root))[0] == 0
    code, doc = cli_json("seed", "--env", "staging", "--root", str(root))
    assert code == 0 and doc["databases"][0]["name"] == "people-staging"


def remotely_migrated(tree: TreeWriter, server: D1ApiServer) -> Path:
    """``two_sources`` applied to its database on the D1 API stand-in (not Cloudflare)."""
    root = two_sources(tree)
    server.create_database("people-db", DB_ID)
    assert cli("apply", "--all", "--remote", "--root", str(root))[0] == 0
    return root


def test_remote_dev_seeds_need_yes(
    tree: TreeWriter,
    remote_env: D1ApiServer,  # noqa: F811
) -> None:
    root = remotely_migrated(tree, remote_env)
    code, _, err = cli("seed", "--env", "dev", "--remote", "--root", str(root))
    assert code == 2 and "refusing to run 'dev' seeds on a remote database" in err
    assert remote_env.execute_local(DB_ID, "SELECT COUNT(*) FROM people") == [(0,)]
    code, doc = cli_json("seed", "--env", "dev", "--remote", "--yes", "--root", str(root))
    assert code == 0 and doc["target"] == "remote"
    assert remote_env.execute_local(DB_ID, "SELECT name FROM people ORDER BY id") == [
        ("ada",),
        ("bo",),
        ("cy",),
    ]
    code, _ = cli_json("seed", "--env", "production", "--remote", "--root", str(root))
    assert code == 0, "only dev is guarded"


def test_no_seeds_says_so(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("people-db", DB_ID),
            "a/migrations/0001_people.sql": SCHEMA,
        }
    )
    code, out, _ = cli("seed", "--env", "dev", "--root", str(root))
    assert code == 0 and "no seeds/dev/ files" in out


def test_production_seeds_of_top_level_databases_run_beside_env_ones(tree: TreeWriter) -> None:
    # b binds D1 only in [env.production]; a's top-level database keeps its production seeds.
    production = (
        '\n[env.production]\n[[env.production.d1_databases]]\nbinding = "DB"\n'
        f'database_name = "pets-prod"\ndatabase_id = "{OTHER_ID}"\n'
    )
    root = tree(
        {
            "a/wrangler.toml": toml_binding("people-db", DB_ID),
            "a/migrations/0001_people.sql": SCHEMA,
            "a/seeds/production/0001_admin.sql": "INSERT INTO people (name) VALUES ('admin');\n",
            "b/wrangler.toml": 'name = "b"\n' + production,
            "b/migrations/0001_pets.sql": "CREATE TABLE IF NOT EXISTS pets (name TEXT);\n",
            "b/seeds/production/0001_rex.sql": "INSERT INTO pets (name) VALUES ('rex');\n",
        }
    )
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    assert cli("apply", "--all", "--env", "production", "--root", str(root))[0] == 0
    code, doc = cli_json("seed", "--env", "production", "--root", str(root))
    assert code == 0, doc
    assert sorted(d["name"] for d in doc["databases"]) == ["people-db", "pets-prod"]
    assert people(root) == ["admin"]


def test_seed_files_of_a_database_the_env_replaces_fail(tree: TreeWriter) -> None:
    staging = (
        '\n[env.staging]\n[[env.staging.d1_databases]]\nbinding = "OTHER"\n'
        f'database_name = "other-staging"\ndatabase_id = "{OTHER_ID}"\n'
        'migrations_dir = "db/other"\n'
    )
    root = tree(
        {
            "a/wrangler.toml": toml_binding("people-db", DB_ID) + staging,
            "a/migrations/0001_people.sql": SCHEMA,
            "a/seeds/staging/0001_demo.sql": "INSERT INTO people (name) VALUES ('demo');\n",
            "a/db/other/0001_x.sql": "CREATE TABLE IF NOT EXISTS x (a);\n",
        }
    )
    assert cli("apply", "--all", "--env", "staging", "--root", str(root))[0] == 0
    code, doc = cli_json("seed", "--env", "staging", "--root", str(root))
    assert code == 1, doc
    failed = next(d for d in doc["databases"] if d["name"] == "people-db")
    assert "seeds/staging/ files exist for people-db" in failed["error"]


def test_a_dry_run_lists_the_seeds_that_would_run_and_writes_nothing(tree: TreeWriter) -> None:
    root = two_sources(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    assert cli("seed", "--set", "dev", "--root", str(root), "--db", "people-db")[0] == 0
    (root / "a/seeds/dev/0004_di.sql").write_text("INSERT INTO people (name) VALUES ('di');\n")
    before = state_path(root, "people-db").read_bytes()
    code, doc = cli_json("seed", "--set", "dev", "--dry-run", "--root", str(root))
    assert code == 0 and doc["dry_run"] is True
    assert [a["file"] for a in doc["databases"][0]["applied"]] == ["a/seeds/dev/0004_di.sql"]
    assert state_path(root, "people-db").read_bytes() == before  # nothing written, not even _seeds
    code, out, _ = cli("seed", "--set", "dev", "--dry-run", "--root", str(root))
    flat = " ".join(out.split())
    assert code == 0 and "(dry run: nothing written)" in flat and "would seed" in flat
    assert "0004_di.sql" in out and people(root) == ["ada", "bo", "cy"]


def test_a_dry_run_before_the_first_seed_creates_no_seeds_ledger(tree: TreeWriter) -> None:
    root = two_sources(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    code, doc = cli_json("seed", "--set", "dev", "--dry-run", "--root", str(root))
    assert code == 0 and len(doc["databases"][0]["applied"]) == 3
    tables = query(state_path(root, "people-db"), "SELECT name FROM sqlite_master")
    assert ("_seeds",) not in tables


def test_a_remote_dev_dry_run_needs_no_yes(
    tree: TreeWriter,
    remote_env: D1ApiServer,  # noqa: F811
) -> None:
    root = remotely_migrated(tree, remote_env)
    remote_env.clear_requests()
    code, doc = cli_json("seed", "--set", "dev", "--remote", "--dry-run", "--root", str(root))
    assert code == 0 and len(doc["databases"][0]["applied"]) == 3
    assert remote_env.execute_local(DB_ID, "SELECT COUNT(*) FROM people") == [(0,)]
    sent = [r.sql or "" for r in remote_env.requests if r.method == "POST"]
    assert not any(s.lstrip().upper().startswith(("INSERT", "CREATE", "DELETE")) for s in sent)
