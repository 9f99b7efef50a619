"""A small fleet workspace: one migration set, members in an ids file or by prefix."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_tree

MIGRATIONS = {
    "0001_init.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
    "0002_notes.sql": (
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);\n"
    ),
    "0003_name.sql": "ALTER TABLE users ADD COLUMN name TEXT;\nINSERT INTO users (email) VALUES ('seed@example.com');\n",
}


def fleet_tree(
    root: Path,
    members: list[str] | None = None,
    prefix: str | None = None,
    canary: list[str] | None = None,
    migrations: dict[str, str] | None = None,
    extra: str = "",
) -> Path:
    """``workspace.toml`` with ``[fleets.tenants]`` and ``packages/tenant-db/migrations``."""
    source = (
        "name_prefix = " + repr(prefix).replace("'", '"') if prefix else 'ids_file = "tenants.txt"'
    )
    lines = ["[fleets.tenants]", 'migrations = "packages/tenant-db/migrations"', source]
    if canary:
        lines.append("canary = [" + ", ".join(f'"{c}"' for c in canary) + "]")
    files: dict[str, str | bytes] = {"workspace.toml": extra + "\n".join(lines) + "\n"}
    files["tenants.txt"] = "".join(f"{m}\n" for m in members or [])
    for name, sql in (migrations or MIGRATIONS).items():
        files[f"packages/tenant-db/migrations/{name}"] = sql
    return write_tree(root, files)
