"""Where wrangler keeps local D1 state, derived exactly as miniflare does."""

from __future__ import annotations

from pathlib import Path

from orchestrator.engines.localstate import durable_object_hex, state_file, state_name
from orchestrator.model import Binding


def binding(**overrides: object) -> Binding:
    values: dict[str, object] = dict(
        package="packages/io",
        binding="DB",
        config="packages/io/wrangler.toml",
        database_name="io-db",
        database_id="00000000-0000-0000-0000-000000000001",
        preview_database_id="",
        migrations_dir="packages/io/migrations",
        migrations_table="d1_migrations",
    )
    values.update(overrides)
    return Binding(**values)  # type: ignore[arg-type]


def test_design_example() -> None:
    assert durable_object_hex("00000000-0000-0000-0000-000000000001") == (
        "a36f84ea60804f30bb0c7f7cad9f5336a6cca0165abdab8b9241d93dbf0b6006"
    )


def test_name_rules() -> None:
    assert state_name(binding()) == "00000000-0000-0000-0000-000000000001"
    # `preview_database_id ?? database_id ?? binding`, with or without --preview
    assert state_name(binding(preview_database_id="p-1"), preview=True) == "p-1"
    assert state_name(binding(preview_database_id="p-1")) == "p-1"
    # wrangler uses `database_id ?? binding`: an empty id is still the id
    assert state_name(binding(database_id="", has_database_id=True)) == ""
    assert state_name(binding(database_id="", has_database_id=False)) == "DB"


def test_paths(tmp_path: Path) -> None:
    path = state_file(tmp_path, binding())
    assert path.relative_to(tmp_path).as_posix() == (
        "packages/io/.wrangler/state/v3/d1/miniflare-D1DatabaseObject/"
        "a36f84ea60804f30bb0c7f7cad9f5336a6cca0165abdab8b9241d93dbf0b6006.sqlite"
    )
    persisted = state_file(tmp_path, binding(), persist_to=tmp_path / "state")
    assert persisted.parent == tmp_path / "state" / "v3" / "d1" / "miniflare-D1DatabaseObject"
