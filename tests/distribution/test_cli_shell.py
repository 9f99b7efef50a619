"""`-h` is help, as in wrangler, and shell completion is offered by the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli import app


def test_dash_h_is_help() -> None:
    result = CliRunner().invoke(app, ["-h"])
    assert result.exit_code == 0
    assert "Usage" in result.output and "--install-completion" in result.output


def test_show_completion_prints_a_bash_script() -> None:
    env = {**os.environ, "SHELL": "/bin/bash", "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("orchestrate")), "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "complete -o default -F _orchestrate_completion orchestrate" in proc.stdout
    assert "_ORCHESTRATE_COMPLETE" in proc.stdout


def test_env_help_shows_the_table_name_and_the_short_flag() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("orchestrate")), "plan", "-h"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "--env" in x)
    assert "-e" in line and "[env.NAME]" in line
