"""A D1 binding with no migrations directory at all (no ``migrations_dir``, no
``migrations/``; a Worker that uses D1 without migrations): an info line in plan and
check, never a warning or an error, and nothing to apply."""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import cli_json
from tests.conftest import toml_binding, write_tree


def test_no_migrations_directory_is_one_info_line(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "w",
        {"apps/w/wrangler.toml": toml_binding("w-db", "22222222-0000-4000-8000-000000000001")},
    )
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 0
    [problem] = plan["problems"]
    assert (problem["severity"], problem["code"], problem["file"]) == (
        "info",
        "source.missing",
        "apps/w/wrangler.toml",
    )
    assert problem["line"] == 6 and "apps/w/migrations" in problem["message"]
    code, check = cli_json("check", "--root", str(root))
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in check["findings"]] == [("source.missing", "info")]
