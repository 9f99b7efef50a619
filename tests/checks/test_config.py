"""``[lint]`` in workspace.toml: select, ignore, re-grade per database or path glob."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.checks.config import LintConfig, parse_lint_config
from orchestrator.errors import ConfigError
from orchestrator.model import Severity
from tests.checks.helpers import M, codes, run_rules

ALTER = [
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);",
    "ALTER TABLE t ADD COLUMN c TEXT;",
]
SHORT = [M("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);", "001_t.sql")]


def config(raw: dict[str, object]) -> LintConfig:
    return parse_lint_config(raw)


def test_default_config_keeps_every_rule() -> None:
    assert codes(run_rules(ALTER, config=LintConfig())) == {"I004"}


def test_ignore_by_code_slug_or_family() -> None:
    for selector in ("I004", "idempotency/alter-column", "idempotency", "I"):
        assert codes(run_rules(ALTER, config=config({"ignore": [selector]}))) == set(), selector


def test_select_keeps_only_the_selected() -> None:
    assert codes(
        run_rules([*ALTER, "DROP TABLE IF EXISTS t;"], config=config({"select": ["X"]}))
    ) == {"X001"}


def test_a_specific_select_beats_a_family_ignore() -> None:
    raw = {"ignore": ["idempotency"], "select": ["I004"]}
    assert codes(run_rules(ALTER, config=config(raw))) == {"I004"}


def test_severity_regrade_and_off() -> None:
    [finding] = run_rules(ALTER, config=config({"severity": {"I004": "error"}}))
    assert finding.severity is Severity.ERROR
    assert run_rules(ALTER, config=config({"severity": {"idempotency": "off"}})) == []


def test_per_database_settings() -> None:
    raw = {
        "databases": {"app-db": {"ignore": ["N001"]}, "other-db": {"severity": {"N001": "error"}}}
    }
    assert codes(run_rules(SHORT, config=config(raw))) == set()
    [finding] = run_rules(SHORT, config=config(raw), database="other-db")
    assert finding.severity is Severity.ERROR


def test_per_path_settings_match_globs() -> None:
    raw = {
        "paths": {
            "packages/app/**": {"severity": {"N001": "info"}},
            "packages/other/**": {"ignore": ["N"]},
        }
    }
    [finding] = run_rules(SHORT, config=config(raw))
    assert finding.rule == "N001" and finding.severity is Severity.INFO


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('[lint]\nignor = ["I004"]\n', "unknown key lint.ignor", 2),
        ('[lint]\nignore = ["I404"]\n', "no rule", 2),
        ('[lint]\nseverity = { I004 = "fatal" }\n', "must be one of", 2),
        ('[lint]\nselect = "I004"\n', "must be a list", 2),
        ('[lint.databases.io-db]\nmute = ["I004"]\n', "unknown key", 2),
    ],
)
def test_bad_config_names_file_and_line(tmp_path: Path, text: str, message: str, line: int) -> None:
    import tomllib

    path = tmp_path / "workspace.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_lint_config(tomllib.loads(text)["lint"], path)
    assert message in caught.value.message
    assert caught.value.file == str(path) and caught.value.line == line


def test_unknown_rule_hint_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_lint_config({"ignore": ["idempotency/alter-columns"]})
    assert "idempotency/alter-column" in caught.value.hint
