"""`status` and `graph`: snapshots of every format in three states, and read-only.

Regenerate snapshots with UPDATE_SNAPSHOTS=1 after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.commands import app
from tests.apply.helpers import cli, state_path

SNAPSHOTS = Path(__file__).parent / "snapshots"
runner = CliRunner()
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
AGO = re.compile(r"just now|\d+ (?:min|h|d) ago")


def run(*args: str, width: int = 100) -> tuple[int, str]:
    result = runner.invoke(
        app, list(args), env={"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"}
    )
    return result.exit_code, result.stdout


def normalized(text: str) -> str:
    return TIME.sub("<time>", text)


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    text = normalized(text)
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"snapshot {name} differs (UPDATE_SNAPSHOTS=1 to accept)"


def prepare(monorepo: Path, state: str) -> None:
    if state in ("partial", "changed"):
        assert cli("apply", "--db", "io-db", "--to", "5", "--root", str(monorepo))[0] == 0
        assert cli("apply", "--db", "agency-db", "--root", str(monorepo))[0] == 0
    if state == "changed":
        with (monorepo / "packages/io/migrations/002_api_keys.sql").open("a") as handle:
            handle.write("-- edited after release\n")


@pytest.mark.parametrize("state", ["before", "partial", "changed"])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_status_snapshots(monorepo: Path, state: str, fmt: str) -> None:
    prepare(monorepo, state)
    code, out = run("status", "--root", str(monorepo), "--format", fmt)
    assert code == 0
    suffix = {"text": "txt", "json": "json", "markdown": "md", "html": "html"}[fmt]
    if fmt == "html":  # local file links and "ago" depend on where and how fast the test ran
        out = AGO.sub("<ago>", out.replace(monorepo.resolve().as_uri(), "file://<root>"))
    check_snapshot(f"status-{state}.{suffix}", out)


def test_status_json_content(monorepo: Path) -> None:
    prepare(monorepo, "changed")
    _, out = run("status", "--root", str(monorepo), "--format", "json")
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["changed"] == 1
    # A pending migration that loses data on D1 comes before a changed ledger.
    lossy, first = doc["databases"][0], doc["databases"][1]
    assert lossy["name"] == "templates-platform-db" and lossy["urgency"] == "lint_errors"
    assert first["name"] == "io-db" and first["urgency"] == "changed"
    assert first["changed"] == ["packages/io/migrations/002_api_keys.sql"]
    assert first["last_applied"] == "0005_workflows" and first["next_pending"][0].endswith(
        "006_workflow_runs.sql"
    )
    assert "templates-platform-db" in doc["headline"] and "D002" in doc["attention"]
    agency = next(d for d in doc["databases"] if d["name"] == "agency-db")
    assert (agency["applied"], agency["pending"], agency["urgency"]) == (6, 0, "fine")


def test_status_exit_code_is_a_deploy_gate(monorepo: Path) -> None:
    assert run("status", "--root", str(monorepo), "--exit-code")[0] == 1
    assert cli("apply", "--all", "--root", str(monorepo))[0] == 0
    assert run("status", "--root", str(monorepo), "--exit-code")[0] == 0
    assert run("status", "--root", str(monorepo))[0] == 0


@pytest.mark.parametrize("width", [80, 200])
def test_status_fits_the_terminal(monorepo: Path, width: int) -> None:
    prepare(monorepo, "changed")
    _, out = run("status", "--root", str(monorepo), width=width)
    assert max(len(line) for line in out.splitlines()) <= width
    assert "CHANGED" in out and "create-something-db" in out


def test_status_shows_a_held_lock(monorepo: Path) -> None:
    prepare(monorepo, "partial")
    import sqlite3

    connection = sqlite3.connect(state_path(monorepo, "agency-db"))
    connection.execute(
        "INSERT INTO _migrations_lock VALUES (1, 'ci-run-7', 'ci-host', 4242, '2026-01-01 00:00:00', 9e18)"
    )
    connection.commit()
    connection.close()
    _, out = run("status", "--root", str(monorepo), "--format", "json")
    agency = next(d for d in json.loads(out)["databases"] if d["name"] == "agency-db")
    assert agency["urgency"] == "locked" and "ci-run-7 on ci-host pid 4242" in agency["lock"]


def test_status_never_writes(monorepo: Path) -> None:
    prepare(monorepo, "partial")
    files = sorted(p for p in monorepo.rglob("*") if p.is_file())
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files}
    for fmt in ("text", "json", "markdown", "html"):
        run("status", "--root", str(monorepo), "--format", fmt)
    run("graph", "--root", str(monorepo))
    assert sorted(p for p in monorepo.rglob("*") if p.is_file()) == files
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files} == before


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "text"])
def test_graph_snapshots(monorepo: Path, fmt: str) -> None:
    code, out = run("graph", "--root", str(monorepo), "--format", fmt)
    assert code == 0
    check_snapshot(f"graph.{fmt}", out)


def test_graph_marks_inferred_cross_package_edges(monorepo: Path) -> None:
    _, out = run(
        "graph", "--root", str(monorepo), "--db", "create-something-db", "--format", "mermaid"
    )
    assert out.startswith("flowchart LR")
    assert re.search(
        r"create_something_db_0001_users -\. inferred \.-> create_something_db_0013_page_views", out
    )
    assert "create_something_db_0001_users --> create_something_db_0002_user_sessions" in out
