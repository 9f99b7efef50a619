"""The command line follows wrangler's habits: -c, -e, --db by binding, --debug after the
command, one -y/--yes, plain help (no type names, no lost brackets), workflow order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import COMMAND_MODULES
from orchestrator.cli.commands import app
from orchestrator.cli.confirm import in_ci
from orchestrator.cli.helptext import ORDER
from tests.conftest import TreeWriter, toml_binding

runner = CliRunner()
A = "11111111-1111-1111-1111-111111111111"
B = "22222222-2222-2222-2222-222222222222"
ORCHESTRATE = str(Path(sys.executable).with_name("orchestrate"))


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def two_packages(tree: TreeWriter) -> Path:
    return tree(
        {
            "a/wrangler.toml": toml_binding("a-db", A, binding="DB"),
            "a/migrations/0001_a.sql": "CREATE TABLE a (id INTEGER);",
            "b/wrangler.toml": toml_binding("b-db", B, binding="STORE"),
            "b/migrations/0001_b.sql": "CREATE TABLE b (id INTEGER);",
        }
    )


def names(out: str) -> list[str]:
    return [d["name"] for d in json.loads(out)["databases"]]


def test_config_narrows_to_one_package(tree: TreeWriter) -> None:
    root = two_packages(tree)
    code, out, err = run(
        "plan", "--root", str(root), "-c", str(root / "b/wrangler.toml"), "-f", "json"
    )
    assert code == 0, err
    assert names(out) == ["b-db"]
    code, out, _ = run("plan", "--root", str(root), "--format", "json")
    assert names(out) == ["a-db", "b-db"]


def test_config_alone_finds_the_root(tree: TreeWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    root = two_packages(tree)
    monkeypatch.chdir(root)
    code, out, err = run("plan", "--config", "a/wrangler.toml", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert names(out) == ["a-db"]
    assert doc["databases"][0]["migrations"][0]["file"] == "a/migrations/0001_a.sql"


def test_a_missing_config_is_a_usage_error(tree: TreeWriter) -> None:
    root = two_packages(tree)
    code, _, err = run("plan", "--root", str(root), "-c", str(root / "nope.toml"))
    assert code == 2 and "nope.toml" in err and "Traceback" not in err


def test_db_takes_a_binding_name(tree: TreeWriter) -> None:
    root = two_packages(tree)
    code, out, _ = run("plan", "--root", str(root), "--db", "STORE", "--format", "json")
    assert code == 0 and names(out) == ["b-db"]
    code, out, _ = run("plan", "--root", str(root), "--db", B, "--format", "json")
    assert code == 0 and names(out) == ["b-db"]


def test_an_ambiguous_binding_lists_the_databases(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", A, binding="DB"),
            "a/migrations/0001_a.sql": "SELECT 1;",
            "b/wrangler.toml": toml_binding("b-db", B, binding="DB"),
            "b/migrations/0001_b.sql": "SELECT 1;",
        }
    )
    code, _, err = run("plan", "--root", str(root), "--db", "DB")
    assert code == 2 and "a-db, b-db" in err and "-c CONFIG" in err
    code, out, _ = run(
        "plan", "--root", str(root), "-c", str(root / "a/wrangler.toml"), "--db", "DB", "-f", "json"
    )
    assert code == 0 and names(out) == ["a-db"]


def test_debug_after_the_command_shows_the_traceback(tree: TreeWriter) -> None:
    root = two_packages(tree)
    (root / "workspace.toml").write_text("concurrency = 0\n")
    code, _, err = run("plan", "--root", str(root), "--debug")
    assert code == 2 and "Traceback" in err
    code, _, err = run("plan", "--root", str(root))
    assert code == 2 and "Traceback" not in err


def test_old_write_still_works_with_a_warning(tree: TreeWriter) -> None:
    root = tree({"p/wrangler.toml": toml_binding("p-db", A), "p/migrations/001_a.sql": "SELECT 1;"})
    code, _, err = run("normalize", "--root", str(root), "--write")
    assert code == 0 and "--write is now -y/--yes" in err
    assert (root / "p/migrations/0001_a.sql").is_file()


def test_seed_set_and_the_deprecated_env_spelling(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("p-db", A),
            "p/migrations/0001_a.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);",
            "p/seeds/dev/0001_rows.sql": "INSERT INTO t (id) VALUES (1);",
        }
    )
    assert run("apply", "--all", "--root", str(root))[0] == 0
    code, out, err = run("seed", "--set", "dev", "--root", str(root), "-f", "json")
    assert code == 0, err
    assert "deprecated" not in err and json.loads(out)["env"] == "dev"
    code, _, err = run("seed", "--env", "dev", "--root", str(root))
    assert code == 0 and "deprecated; use --set dev" in err
    code, _, err = run("seed", "--set", "dev", "--env", "staging", "--root", str(root))
    assert code == 2 and "no wrangler config defines env 'staging'" in err


def _help(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [ORCHESTRATE, *args, "-h"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_help_shows_no_type_names(command: str) -> None:
    text = _help(command)
    leaked = re.findall(r"<(?:bool|str|int|float|path|list\[[^\]]*\])[^>]*>|\[x[<>]=", text, re.I)
    assert leaked == [], leaked


def test_help_keeps_brackets_and_lists_format_choices() -> None:
    text = _help("plan")
    assert "[env.NAME]" in text and "Use the d1_databases of ." not in text
    assert "text|json|markdown" in text
    assert "[fleets.NAME]" in _help("apply")
    assert "binds D1 in [env.<set>]" in _help("seed")


def test_commands_are_listed_in_workflow_order() -> None:
    text = _help()
    found = [m.group(1) for m in re.finditer(r"^│ (\w+) ", text, re.M) if m.group(1) in ORDER]
    assert found == [n for n in ORDER if n in COMMAND_MODULES]
    assert found.index("init") < found.index("check") < found.index("apply") < found.index("status")


def test_ci_detection_follows_ci_info(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CI",
        "CONTINUOUS_INTEGRATION",
        "BUILD_ID",
        "BUILD_NUMBER",
        "RUN_ID",
        "CI_NAME",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    assert not in_ci()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert in_ci()
    monkeypatch.setenv("CI", "false")
    assert not in_ci()


def test_command_summaries_read_as_one_sentence() -> None:
    """rich markup mode keeps a docstring's line breaks; the list joins the first paragraph."""
    text = _help()
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^│ (\w+) +(.*?)│$", text, re.M)}
    assert rows["plan"].startswith(
        "Show each database's migrations in apply order, with their status on the target"
    )
    assert "Example:" not in text  # the first paragraph only
    ci = _help("ci")
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^│ (\w+) +(.*?)│$", ci, re.M)}
    assert rows["comment"].startswith(
        "Write the plan per database and the check findings (errors first) to the job's step summary"
    )


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_narrow_output_encoding_escapes_what_it_cannot_print(
    tree: TreeWriter, encoding: str
) -> None:
    """``…`` in a folded plan row and ``✓`` in verify used to end the command with exit 70."""
    files: dict[str, str | bytes] = {"p/wrangler.toml": toml_binding("enc-db", "e" * 8)}
    for n in range(1, 6):
        files[f"p/migrations/{n:04d}_m{n}.sql"] = f"CREATE TABLE t{n} (id INTEGER);\n"
    root = tree(files)
    env = {**os.environ, "PYTHONIOENCODING": encoding, "NO_COLOR": "1"}

    def orchestrate(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [ORCHESTRATE, *args, "--root", str(root)]
        return subprocess.run(
            argv, capture_output=True, encoding=encoding, env=env, timeout=60, check=False
        )

    assert orchestrate("apply", "--all").returncode == 0
    plan, verify = orchestrate("plan"), orchestrate("verify")
    assert (plan.returncode, verify.returncode) == (0, 0), plan.stderr + verify.stderr
    assert "0001_m1.sql \\u2026 0005_m5.sql" in plan.stdout
    assert "\\u2713 enc-db" in verify.stdout
    doc = json.loads(orchestrate("plan", "--format", "json").stdout)
    assert doc["databases"][0]["name"] == "enc-db"
