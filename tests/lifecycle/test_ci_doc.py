"""docs/ci.md: every `orchestrate …` command of the workflow, run as written on a copy of
fixtures/monorepo (with --local in place of --remote), exits as the doc says."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.commands import app
from tests.conftest import REPO

DOC = REPO / "docs" / "ci.md"
runner = CliRunner()


def workflow_commands() -> list[str]:
    """The `orchestrate …` commands of the YAML block, in order: the action's `command:`
    inputs and the `run: orchestrate …` steps; commented lines left out."""
    block = DOC.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        if line.lstrip().startswith("#"):
            continue
        found = re.search(r"run:\s*(orchestrate\s[^>|&]+)", line)
        given = re.search(r"^\s*command:\s*([^#]+)", line)
        if found:
            commands.append(found.group(1).strip())
        elif given:
            commands.append("orchestrate " + given.group(1).strip())
    return commands


def registered() -> set[str]:
    return {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}


def run(command: str) -> int:
    args = ["--local" if a == "--remote" else a for a in shlex.split(command)[1:]]
    return runner.invoke(app, args).exit_code


def documented_exit(command: str) -> int:
    """What the doc's table promises on this tree: `check` exits 1 on a finding of
    severity error (the fixture keeps one on purpose), every other step exits 0."""
    if shlex.split(command)[1] != "check":
        return 0
    findings = json.loads(runner.invoke(app, ["check", "--format", "json"]).stdout)["findings"]
    return 1 if any(f["severity"] == "error" for f in findings) else 0


def test_the_workflow_uses_the_commands_the_issue_names() -> None:
    commands = workflow_commands()
    assert commands == [
        "orchestrate check",
        "orchestrate apply --all --remote",
        "orchestrate apply --all --remote --env production",
        "orchestrate status --remote --exit-code",
        "orchestrate status --remote --exit-code --env production",
        "orchestrate verify --remote",
    ]


def test_every_command_exits_as_documented(monorepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(monorepo)  # the workflow runs at the repository root, without --root
    available = registered()
    ran = []
    for command in workflow_commands():
        verb = shlex.split(command)[1]
        if verb not in available:
            continue  # `check` lands with the lint work; run it once it is registered
        assert run(command) == documented_exit(command), command
        ran.append(verb)
    assert {"check", "apply", "status", "verify"} <= set(ran)


def test_verification_fails_the_job_while_something_is_pending(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(monorepo)
    status = next(c for c in workflow_commands() if c.startswith("orchestrate status"))
    assert run(status) == 1  # nothing applied yet
    broken = monorepo / "packages/agency/migrations/0007_broken.sql"
    broken.write_text("INSERT INTO no_such_table VALUES (1);\n")
    apply = next(c for c in workflow_commands() if c.startswith("orchestrate apply --all"))
    assert run(apply) == 1  # one database failed: the deploy stops here
    assert run(status) == 1
