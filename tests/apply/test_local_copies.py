"""A database bound by several packages (tests/shapes/copies: apps/api owns shop-db's
migrations, apps/admin binds it too): each package has its own local state file, and
per-package `wrangler d1 migrations apply` moves one copy at a time. Real wrangler puts
the copies apart here; orchestrate then names the copy that is behind and what to run,
and never asks to renumber a migration the other copy applied in order."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.apply.helpers import cli, cli_json, schema
from tests.conftest import needs_wrangler, run_wrangler

pytestmark = needs_wrangler
SHAPES = Path(__file__).parent.parent / "shapes"
MIGRATIONS = "apps/api/migrations"


def _apart(tmp_path: Path, held: tuple[str, ...]) -> Path:
    """apps/admin applied by wrangler while ``held`` files did not exist yet; apps/api after."""
    root = Path(shutil.copytree(SHAPES / "copies", tmp_path / "copies"))
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in held:
        (root / MIGRATIONS / name).rename(aside / name)
    for package, back in (("apps/admin", True), ("apps/api", False)):
        done = run_wrangler(root / package, "d1", "migrations", "apply", "shop-db", "--local")
        assert done.returncode == 0, done.stdout + done.stderr
        if back:
            for name in held:
                (aside / name).rename(root / MIGRATIONS / name)
    return root


def _states(root: Path) -> dict[str, Path]:
    found = {}
    for package in ("apps/admin", "apps/api"):
        base = root / package / ".wrangler/state/v3/d1/miniflare-D1DatabaseObject"
        [path] = [p for p in base.glob("*.sqlite") if p.name != "metadata.sqlite"]
        found[package] = path
    return found


def test_a_copy_behind_is_named_with_what_to_run(tmp_path: Path) -> None:
    root = _apart(tmp_path, ("0002_product_titles.sql", "0003_carts.sql"))
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 0
    [db] = plan["databases"]
    copies = {c["package"]: (c["applied"], c["behind"]) for c in db["copies"]}
    assert copies == {
        "apps/admin": (1, ["0002_product_titles.sql", "0003_carts.sql"]),
        "apps/api": (3, []),
    }
    [behind] = [p for p in plan["problems"] if p["code"] == "copies.behind"]
    assert behind["file"] == "apps/admin/wrangler.toml"
    assert "the local copy in apps/admin is behind the one in apps/api" in behind["message"]
    assert "`orchestrate apply --db shop-db`" in behind["message"]
    assert "`wrangler d1 migrations apply shop-db --local` in apps/admin" in behind["message"]
    code, out, _ = cli("status", "--root", str(root))
    assert "apps/admin" in " ".join(out.split())
    code, run = cli_json("apply", "--all", "--root", str(root))
    assert code == 0, run
    [result] = run["databases"]
    assert {(c["package"], c["status"], c["applied"]) for c in result["copies"]} == {
        ("apps/admin", "ok", 2),
        ("apps/api", "up-to-date", 0),
    }
    states = _states(root)
    assert schema(states["apps/admin"]) == schema(states["apps/api"])
    again = run_wrangler(root / "apps/admin", "d1", "migrations", "apply", "shop-db", "--local")
    assert "No migrations to apply" in again.stdout, again.stdout + again.stderr


def test_a_gap_in_one_copy_is_not_blamed_on_the_complete_one(tmp_path: Path) -> None:
    root = _apart(tmp_path, ("0002_product_titles.sql",))  # admin has 0001 and 0003
    code, out, err = cli("apply", "--all", "--root", str(root))
    text = " ".join((out + err).split())
    assert code == 1
    assert "renumber" not in text
    assert "not in the one in apps/admin" in text
    assert "orchestrate apply --db shop-db --allow-out-of-order" in text
    code, run = cli_json("apply", "--all", "--root", str(root), "--allow-out-of-order")
    assert code == 0, run
    states = _states(root)
    assert schema(states["apps/admin"]) == schema(states["apps/api"])


def test_copies_in_step_are_quiet(tmp_path: Path) -> None:
    root = _apart(tmp_path, ())
    for command in ("plan", "status"):
        code, out, err = cli(command, "--root", str(root))
        assert code == 0 and "copies.behind" not in out + err and "behind" not in out + err


def test_a_copy_with_no_migrations_beside_it_is_told_only_what_works(tmp_path: Path) -> None:
    """tests/shapes/nestedconfig (seen in a public repository): the root config and
    worker/wrangler.toml bind one database; only the root has migrations, so wrangler
    in worker/ finds none: the hint names orchestrate alone."""
    root = Path(shutil.copytree(SHAPES / "nestedconfig", tmp_path / "nested"))
    done = run_wrangler(root, "d1", "migrations", "apply", "meter-db", "--local")
    assert done.returncode == 0, done.stdout + done.stderr
    code, plan = cli_json("plan", "--root", str(root))
    assert code == 0  # a warning
    [behind] = [p for p in plan["problems"] if p["code"] == "copies.behind"]
    assert behind["file"] == "worker/wrangler.toml"
    assert (
        "run `orchestrate apply --db meter-db` (wrangler finds no migrations directory in worker)"
        in behind["message"]
    )
    assert not [p for p in plan["problems"] if p["code"] == "source.missing"]
