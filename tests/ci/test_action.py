"""The composite action (action.yml) run step by step as written, the way a GitHub runner
runs it: each ``run:`` script in bash with its ``env:`` and ``working-directory``, inputs
substituted, ``$GITHUB_OUTPUT``/``$GITHUB_PATH``/``$GITHUB_STEP_SUMMARY`` honoured.

The install step installs a wheel built from this checkout into a fresh venv (pip fetches
the dependencies). The GitHub API is ``tests/github_api_server.py``, a local server that
STANDS IN FOR GitHub (it is not GitHub). Two runs must leave ONE comment, updated in place.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TreeWriter, toml_binding
from tests.github_api_server import github_api

yaml = pytest.importorskip("yaml")
REPO = Path(__file__).resolve().parents[2]
TOKEN = "ghs_stand-in-token-never-printed"
pytestmark = pytest.mark.slow


def evaluate(text: str, context: dict[str, str]) -> str:
    """``${{ inputs.x }}`` and friends, as the runner substitutes them (names only)."""
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: context[m.group(1)], str(text))


def run_action(
    inputs: dict[str, str], workspace: Path, runner_env: dict[str, str], tmp: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Every step of action.yml in order; stops at the first step that fails, as GitHub does."""
    action = yaml.safe_load((REPO / "action.yml").read_text())
    declared = action["inputs"]
    context = {f"inputs.{k}": inputs.get(k, str(v.get("default", ""))) for k, v in declared.items()}
    context["inputs.github-token"] = inputs.get("github-token", TOKEN)
    path_file, done = tmp / "path", []
    path_file.write_text("")
    for number, step in enumerate(action["runs"]["steps"]):
        output = tmp / f"output-{number}"
        output.write_text("")
        env = {**runner_env, "GITHUB_OUTPUT": str(output), "GITHUB_PATH": str(path_file)}
        extra = [line for line in path_file.read_text().splitlines() if line]
        env["PATH"] = os.pathsep.join([*reversed(extra), runner_env["PATH"]])
        env |= {k: evaluate(v, context) for k, v in (step.get("env") or {}).items()}
        script = tmp / f"step-{number}.sh"
        script.write_text(step["run"])
        cwd = workspace / evaluate(step.get("working-directory", "."), context)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        done.append(proc)
        if "id" in step:
            for line in output.read_text().splitlines():
                key, _, value = line.partition("=")
                context[f"steps.{step['id']}.outputs.{key}"] = value
        if proc.returncode != 0:
            break
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("*.whl"))


def test_the_action_posts_one_comment_and_updates_it(
    tree: TreeWriter, tmp_path: Path, wheel: Path
) -> None:
    workspace = tree(
        {
            "packages/io/wrangler.toml": toml_binding("io-db", "1" * 8),
            "packages/io/migrations/0001_users.sql": "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY);\n",
        }
    )
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    summary = tmp_path / "summary.md"
    base_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    with github_api(TOKEN) as github:
        runner_env: dict[str, Any] = {
            "PATH": base_path,
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": "acme/workers",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_STEP_SUMMARY": str(summary),
            "CI": "true",
            "NO_COLOR": "1",
        }
        inputs = {"package": str(wheel), "python": python, "command": "check", "comment": "true"}
        first = run_action(inputs, workspace, runner_env, tmp_path)
        assert [p.returncode for p in first] == [0, 0, 0, 0], first[-1].stderr
        assert "posted comment 1000 on acme/workers#7" in first[2].stderr
        (workspace / "packages/io/migrations/0002_posts.sql").write_text(
            "CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY);\n"
        )
        second = run_action(inputs, workspace, runner_env, tmp_path)
        assert "updated comment 1000 on acme/workers#7" in second[2].stderr, second[2].stderr
        comments = github.all_comments()
        assert len(comments) == 1
        body = comments[0]["body"]
        assert body.startswith("<!-- orchestrate:comment -->")
        assert "### orchestrate plan: local" in body and "**2 pending**" in body
        assert "### orchestrate check passes" in body
        assert [m for m, _ in github.requests].count("POST") == 1
        assert [m for m, _ in github.requests].count("PATCH") == 1
    assert summary.read_text().count("### orchestrate check") == 2
    for proc in first + second:
        assert TOKEN not in proc.stdout + proc.stderr


def test_the_action_fails_as_the_command_did_after_commenting(
    tree: TreeWriter, tmp_path: Path, wheel: Path
) -> None:
    workspace = tree(
        {
            "p/wrangler.toml": toml_binding("p-db", "2" * 8),
            "p/migrations/0001_a.sql": "BEGIN;\nCREATE TABLE a (id INTEGER);\nCOMMIT;\n",
        }
    )
    venv.create(tmp_path / "venv", with_pip=True)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3}}))
    with github_api(TOKEN) as github:
        runner_env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": "acme/workers",
            "GITHUB_EVENT_PATH": str(event),
            "CI": "true",
        }
        inputs = {
            "package": str(wheel),
            "python": str(tmp_path / "venv" / "bin" / "python"),
            "comment": "true",
        }
        steps = run_action(inputs, workspace, runner_env, tmp_path)
        assert [p.returncode for p in steps] == [0, 0, 0, 1]
        (comment,) = github.all_comments()
        assert "### orchestrate check fails" in comment["body"]


def test_docs_ci_uses_only_inputs_the_action_declares() -> None:
    doc = (REPO / "docs" / "ci.md").read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    workflow = yaml.safe_load(doc)
    declared = set(yaml.safe_load((REPO / "action.yml").read_text())["inputs"])
    used = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).endswith("/d1-orchestrate@v0.1.0")
    ]
    assert len(used) == 2
    for step in used:
        assert set(step["with"]) <= declared, step
