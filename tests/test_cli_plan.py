"""`orchestrate plan` through the CLI: exit codes, JSON contract, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli.commands import app
from tests.conftest import TreeWriter, toml_binding, write_tree

ID = "11111111-1111-1111-1111-111111111111"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_follows_the_contract(monorepo: Path) -> None:
    code, out, _ = run("plan", "--root", str(monorepo), "--format", "json")
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["target"] == "local" and doc["env"] is None
    io = next(d for d in doc["databases"] if d["name"] == "io-db")
    assert {"package", "binding", "config", "migrations_dir"} <= set(io["bindings"][0])
    user_plugins = next(m for m in io["migrations"] if m["number"] == 9)
    assert user_plugins["name"] == "0009_user_plugins"
    assert user_plugins["file"] == "packages/io/migrations/009_user_plugins.sql"
    assert user_plugins["status"] == "pending" and user_plugins["checksum"].startswith("sha256:")
    assert io["pending"] == len(io["migrations"])
    numbers = [m["number"] for m in io["migrations"]]
    assert numbers == sorted(numbers)
    for problem in doc["problems"]:
        assert set(problem) >= {"severity", "code", "message", "file", "database"}
    assert code == (1 if any(p["severity"] == "error" for p in doc["problems"]) else 0)


def test_plan_text_and_markdown(monorepo: Path) -> None:
    _, out, _ = run("plan", "--root", str(monorepo))
    assert "io-db" in out and "009_user_plugins.sql" in out
    _, md, _ = run("plan", "--root", str(monorepo), "--format", "markdown")
    assert md.startswith("### orchestrate plan: local") and "| `io-db` |" in md


def test_plan_is_zero_config(tree: TreeWriter) -> None:
    root = tree(
        {"p/wrangler.toml": toml_binding("p-db", ID), "p/migrations/0001_a.sql": "SELECT 1;"}
    )
    code, out, _ = run("plan", "--root", str(root), "--format", "json")
    assert code == 0
    assert [m["file"] for m in json.loads(out)["databases"][0]["migrations"]] == [
        "p/migrations/0001_a.sql"
    ]


def test_error_problems_exit_1(tree: TreeWriter) -> None:
    root = tree(
        {"p/wrangler.toml": toml_binding("p-db", ID), "p/migrations/0001_a.sql": b"caf\xe9;"}
    )
    code, out, _ = run("plan", "--root", str(root), "--format", "json")
    assert code == 1
    assert json.loads(out)["problems"][0]["code"] == "source.encoding"


def test_an_unnumbered_file_is_a_warning_and_planned_last(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("p-db", ID),
            "p/migrations/add_users.sql": "SELECT 1;",
            "p/migrations/0001_a.sql": "SELECT 1;",
        }
    )
    code, out, _ = run("plan", "--root", str(root), "--format", "json")
    plan = json.loads(out)
    assert code == 0
    assert [p["code"] for p in plan["problems"]] == ["naming.unnumbered"]
    steps = plan["databases"][0]["migrations"]
    assert [(s["name"], s["number"]) for s in steps] == [("0001_a", 1), ("add_users", None)]


def test_invalid_workspace_toml_exits_2_naming_file_and_line(tree: TreeWriter) -> None:
    root = tree({"workspace.toml": 'ledger_table = "_m"\nconcurrency = [\n'})
    code, out, err = run("plan", "--root", str(root))
    assert code == 2 and out == ""
    assert "workspace.toml:3" in err or "workspace.toml:2" in err
    assert "Traceback" not in err


def test_unknown_workspace_key_suggests_the_right_one(tree: TreeWriter) -> None:
    root = tree({"workspace.toml": 'root = "."\nconcurency = 3\n'})
    code, _, err = run("plan", "--root", str(root))
    assert code == 2
    assert (
        "workspace.toml:2: unknown key 'concurency'" in err and "did you mean 'concurrency'" in err
    )


def test_unknown_database_is_a_usage_error(tree: TreeWriter) -> None:
    root = tree({"p/wrangler.toml": toml_binding("io-db", ID)})
    code, _, err = run("plan", "--root", str(root), "--db", "io_db")
    assert code == 2 and "no database called 'io_db'" in err and "did you mean 'io-db'" in err


def test_missing_root_and_bad_format_exit_2(tmp_path: Path) -> None:
    assert run("plan", "--root", str(tmp_path / "nope"))[0] == 2
    assert run("plan", "--root", str(tmp_path), "--format", "xml")[0] == 2
    assert run("plan", "--no-such-flag")[0] == 2


def test_db_filter_keeps_only_that_database(monorepo: Path) -> None:
    _, out, _ = run("plan", "--root", str(monorepo), "--db", "agency-db", "--format", "json")
    assert [d["name"] for d in json.loads(out)["databases"]] == ["agency-db"]


def test_every_command_help_has_an_example() -> None:
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        code, out, _ = run(name.replace("_", "-"), "--help")
        assert code == 0 and "Example" in out, name


def test_selecting_a_database_whose_dependency_is_not_selected(monorepo: Path) -> None:
    code, out, _ = run("plan", "--root", str(monorepo), "--db", "learn-db", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and not [p for p in doc["problems"] if p["code"] == "config.depends-on"]


def test_the_lazy_command_table_names_every_command() -> None:
    from orchestrator.cli import COMMAND_MODULES

    registered = {
        (command.name or command.callback.__name__.rstrip("_")): command.callback.__module__
        for command in app.registered_commands
        if command.callback is not None
    }
    for group in app.registered_groups:  # `ci`: a group, named by its commands' module
        callback = group.typer_instance.registered_commands[0].callback
        name = group.name or group.typer_instance.info.name
        registered[str(name)] = callback.__module__ if callback else ""
    assert {
        name: f"orchestrator.cli.{module}" for name, module in COMMAND_MODULES.items()
    } == registered


def test_console_script_runs_only_the_invoked_command_module(monorepo: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys; sys.argv = ['orchestrate', 'plan', '--root', sys.argv[1], '--format', 'json']\n"
        "from orchestrator.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('orchestrator.cli.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(monorepo)], capture_output=True, text=True, check=True
    ).stdout
    loaded = out.rsplit("LOADED", 1)[1]
    assert "orchestrator.cli.plan" in loaded and "orchestrator.cli.lifecycle" not in loaded
    assert json.loads(out.rsplit("LOADED", 1)[0])["version"] == 1


def test_plan_loads_neither_the_checks_nor_the_fleet_machinery(monorepo: Path) -> None:
    # Start-up is most of `plan`'s time: the checks (~0.1 s), the fleet service and httpx
    # load only for the commands and flags that use them.
    import ast
    import subprocess
    import sys

    probe = (
        "import sys; sys.argv = ['orchestrate', 'plan', '--root', sys.argv[1], '--format', 'json']\n"
        "from orchestrator.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(monorepo)], capture_output=True, text=True, check=True
    ).stdout
    loaded = ast.literal_eval(out.rsplit("LOADED", 1)[1].strip())
    heavy = {"orchestrator.checks", "orchestrator.fleets.service", "orchestrator.fleets.model"}
    assert not heavy & set(loaded) and "httpx" not in loaded


def test_plan_text_folds_a_long_applied_run_into_one_row(tmp_path: Path) -> None:
    """Applied runs of more than 3 are one row; pending, changed and short runs stay rows."""
    files: dict[str, str | bytes] = {"p/wrangler.toml": toml_binding("fold-db", ID)}
    for n in range(1, 9):
        files[f"p/migrations/{n:04d}_m{n}.sql"] = f"CREATE TABLE t{n} (id INTEGER);\n"
    root = write_tree(tmp_path / "mono", files)
    assert run("apply", "--db", "fold-db", "--root", str(root), "--to", "7")[0] == 0
    (root / "p/migrations/0006_m6.sql").write_text("CREATE TABLE t6 (id INTEGER, x TEXT);\n")
    code, out, _ = run("plan", "--root", str(root))
    assert code == 1  # the changed file is an error
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert rows[0] == ["0001-0005", "0001_m1.sql", "…", "0005_m5.sql", "p", "5", "applied"]
    assert rows[1:] == [
        ["0006", "0006_m6.sql", "p", "changed"],
        ["0007", "0007_m7.sql", "p", "applied"],
        ["0008", "0008_m8.sql", "p", "pending"],
    ]
    doc = json.loads(run("plan", "--root", str(root), "--format", "json")[1])
    assert len(doc["databases"][0]["migrations"]) == 8  # JSON still lists every one


def test_plan_text_folds_numbered_and_unnumbered_runs_apart(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"p/wrangler.toml": toml_binding("fold-db", ID)}
    for n in range(1, 5):
        files[f"p/migrations/{n:04d}_m{n}.sql"] = f"CREATE TABLE t{n} (id INTEGER);\n"
    for name in ("seed_a", "seed_b", "seed_c", "seed_d"):
        files[f"p/migrations/{name}.sql"] = f"CREATE TABLE {name} (id INTEGER);\n"
    root = write_tree(tmp_path / "mono", files)
    assert run("apply", "--db", "fold-db", "--root", str(root))[0] == 0
    out = run("plan", "--root", str(root))[1]
    rows = [line.split() for line in out.splitlines() if line.strip()[:4] in ("0001", "----")]
    assert rows == [
        ["0001-0004", "0001_m1.sql", "…", "0004_m4.sql", "p", "4", "applied"],
        ["----", "seed_a.sql", "…", "seed_d.sql", "p", "4", "applied"],
    ]
