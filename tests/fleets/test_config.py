"""``[fleets.NAME]`` in workspace.toml: validated, errors name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.settings import load_settings
from tests.conftest import write_tree


def settings_of(tmp_path: Path, toml: str) -> object:
    write_tree(tmp_path, {"workspace.toml": toml, "db/migrations/0001_a.sql": "SELECT 1;\n"})
    return load_settings(tmp_path)


def test_a_fleet_is_read(tmp_path: Path) -> None:
    settings = settings_of(
        tmp_path,
        '[fleets.tenants]\nmigrations = "db/migrations"\nname_prefix = "tenant-"\ncanary = ["tenant-internal"]\n',
    )
    fleet = settings.fleets["tenants"]  # type: ignore[attr-defined]
    assert (fleet.migrations, fleet.name_prefix, fleet.ids_file, fleet.canary) == (
        "db/migrations",
        "tenant-",
        None,
        ("tenant-internal",),
    )


@pytest.mark.parametrize(
    ("toml", "line", "words"),
    [
        (
            '[fleets.t]\nmigrations = "db/migrations"\n',
            1,
            "exactly one of name_prefix and ids_file",
        ),
        (
            '[fleets.t]\nmigrations = "db/migrations"\nname_prefix = "a"\nids_file = "x"\n',
            1,
            "exactly one",
        ),
        ("x = 1\n", 1, "unknown key"),
        ('[fleets.t]\nmigrations = "nowhere"\nname_prefix = "a"\n', 2, "not a directory"),
        ('[fleets.t]\nmigrations = "db/migrations"\nname_prefix = ""\n', 3, "must not be empty"),
        (
            '[fleets.t]\nmigrations = "db/migrations"\nname_prefix = "a"\ncanary = [1]\n',
            4,
            "canary",
        ),
        ('[fleets.t]\nmigrations = "db/migrations"\nname_prefx = "a"\n', 3, "unknown key"),
        ("[remote]\nrequests_per_5min = 0\n", 2, "at least 1"),
        ('[fleets.t]\nids_file = "x"\n', 1, "needs migrations"),
    ],
)
def test_bad_fleets_are_config_errors_with_a_line(
    tmp_path: Path, toml: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, toml)
    assert words in str(caught.value) or words in caught.value.hint
    assert caught.value.line == line and caught.value.file is not None


def test_second_fleet_errors_point_at_its_own_lines(tmp_path: Path) -> None:
    toml = (
        '[fleets.a]\nmigrations = "db/migrations"\nname_prefix = "a-"\n'
        '[fleets.b]\nmigrations = "db/migrations"\nname_prefix = ""\n'
    )
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, toml)
    assert caught.value.line == 6
