"""``undo --db NAME --remote``: Time Travel one database back to before a release, against
the D1 API stand-in (``tests/d1_api_server.py``, which stands in for Cloudflare: its Time
Travel keeps a snapshot per version and restores by bookmark or timestamp), through the
API engine and through real wrangler 4.164 (``--engine wrangler``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.apply.helpers import app, cli, cli_json, runner
from tests.conftest import wrangler_path
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import db_id, serve_tree, small_tree


def restores(server: D1ApiServer) -> list[str]:
    return [r.path for r in server.requests if r.path.split("?")[0].endswith("/restore")]


def tables(server: D1ApiServer) -> set[str]:
    rows = server.execute_local(db_id(0), "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows}


def ledger(server: D1ApiServer) -> list[str]:
    rows = server.execute_local(db_id(0), "SELECT filename FROM _migrations ORDER BY id")
    return [name for (name,) in rows]


def release(root: Path, *new: str) -> None:
    """One more ``apply --remote``, a second after the last one (restore points are whole
    seconds), with migrations ``new`` added first."""
    for name in new:
        table = name.removesuffix(".sql").split("_", 1)[1]
        (root / "packages/p0/migrations" / name).write_text(
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY);\n"
        )
    time.sleep(1.1)
    code, out, err = cli("apply", "--all", "--remote", "--root", str(root))
    assert code == 0, out + err


@pytest.fixture
def two_releases(tmp_path: Path, remote_env: D1ApiServer) -> Path:
    """R2 applied 0001-0002, then R1 applied 0003-0004."""
    root = small_tree(tmp_path / "mono", migrations=2)
    serve_tree(remote_env, 1)
    release(root)
    release(root, "0003_t3.sql", "0004_t4.sql")
    assert ledger(remote_env) == ["0001_t1.sql", "0002_t2.sql", "0003_t3.sql", "0004_t4.sql"]
    remote_env.clear_requests()
    return root


def test_undo_restores_to_before_the_last_release_and_checks_the_ledger(
    two_releases: Path, remote_env: D1ApiServer
) -> None:
    code, doc = cli_json("undo", "--db", "db0", "--remote", "--root", str(two_releases))
    assert code == 0, doc
    [target] = doc["targets"]
    assert target["release"] == "R1" and target["undone"] == ["0004_t4.sql", "0003_t3.sql"]
    assert target["ok"] is True and target["newer_releases"] == []
    assert ledger(remote_env) == ["0001_t1.sql", "0002_t2.sql"]
    assert {"t1", "t2"} <= tables(remote_env) and not {"t3", "t4"} & tables(remote_env)
    [path] = restores(remote_env)  # one restore, to the time R1 began writing
    assert f"timestamp={target['restore_point'].replace(':', '%3A')}" in path
    assert target["undo_restore_command"].startswith(
        "wrangler d1 time-travel restore db0 --bookmark="
    )
    # the next apply puts the release back, from the restored state
    code, _, _ = cli("apply", "--all", "--remote", "--root", str(two_releases))
    assert code == 0 and len(ledger(remote_env)) == 4


def test_an_older_release_undoes_every_newer_one(
    two_releases: Path, remote_env: D1ApiServer
) -> None:
    code, out, err = cli(
        "undo", "--db", "db0", "--remote", "--release", "R2", "--root", str(two_releases)
    )
    assert code == 0, out + err
    assert "before R2): the ledger no longer lists those 4 migrations" in " ".join(out.split())
    assert "To undo this restore:" in out
    assert not {"t1", "t2", "t3", "t4"} & tables(remote_env)


def test_a_dry_run_says_what_it_would_undo_and_sends_no_restore(
    two_releases: Path, remote_env: D1ApiServer
) -> None:
    code, out, _ = cli("undo", "--db", "db0", "--remote", "--dry-run", "--root", str(two_releases))
    flat = " ".join(out.split())
    assert code == 0
    assert "would restore db0 (remote) to " in flat and "before release R1" in flat
    assert "undoes 2 migrations (R1), newest first: 0004_t4.sql, 0003_t3.sql" in flat
    assert restores(remote_env) == [] and len(ledger(remote_env)) == 4
    assert all(r.path.endswith("/query") for r in remote_env.requests)  # reads only


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--release", "R9"), "--release 'R9': db0 has no such release"),
        (("--local",), "undo needs --remote: local D1 has no Time Travel"),
        (("--fleet", "tenants"), "undo takes --db NAME or --fleet NAME, not both"),
        (("--rollout", "last"), "--rollout, --shard and --jobs are for --fleet"),
    ],
)
def test_what_cannot_be_undone_is_a_usage_error(
    two_releases: Path, remote_env: D1ApiServer, args: tuple[str, ...], words: str
) -> None:
    wanted = ("--remote",) if "--local" not in args else ()
    code, _, err = cli("undo", "--db", "db0", *wanted, *args, "--root", str(two_releases))
    assert code == 2 and words in " ".join(err.split())
    assert restores(remote_env) == []


def test_a_database_no_remote_apply_wrote_has_nothing_to_undo(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    root = small_tree(tmp_path / "mono")
    serve_tree(remote_env, 1)
    code, _, err = cli("undo", "--db", "db0", "--remote", "--root", str(root))
    assert code == 2 and "no release with a restore point is recorded" in err


def test_undo_needs_a_database_or_a_fleet(tmp_path: Path) -> None:
    code, _, err = cli("undo", "--remote", "--root", str(small_tree(tmp_path / "mono")))
    assert code == 2 and "--db NAME or --fleet NAME" in err


def test_on_a_terminal_undo_asks_first_and_no_restores_nothing(
    two_releases: Path, remote_env: D1ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orchestrator.cli.undo.interactive", lambda: True)
    result = cli_with_input("n\n", "undo", "--db", "db0", "--remote", "--root", str(two_releases))
    assert result[0] == 0 and "Nothing restored." in result[2]
    assert "restoring db0 (remote) to" in " ".join(result[2].split())
    assert restores(remote_env) == [] and len(ledger(remote_env)) == 4


def cli_with_input(text: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=text)
    return result.exit_code, result.stdout, result.stderr


WRANGLER = wrangler_path()


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_real_wrangler_restores_it_too(
    two_releases: Path, remote_env: D1ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --engine wrangler: `wrangler d1 time-travel restore DB --timestamp=… --json`, which
    # asks the stand-in for the bookmark at that time and restores to it.
    monkeypatch.setenv("ORCHESTRATE_WRANGLER", str(WRANGLER))
    code, doc = cli_json(
        "undo", "--db", "db0", "--remote", "--engine", "wrangler", "--root", str(two_releases)
    )
    assert code == 0, doc
    assert doc["targets"][0]["ok"] is True
    assert ledger(remote_env) == ["0001_t1.sql", "0002_t2.sql"]
    assert len(restores(remote_env)) == 1


def test_history_and_apply_name_the_undo_command(
    two_releases: Path, remote_env: D1ApiServer
) -> None:
    code, out, _ = cli("history", "--db", "db0", "--remote", "--root", str(two_releases))
    assert code == 0
    assert "or, checking the ledger afterwards (add --release=R2 for an older one):" in out
    assert "\n  orchestrate undo --db db0 --remote\n" in out
    (two_releases / "packages/p0/migrations/0005_t5.sql").write_text(
        "CREATE TABLE t5 (id INTEGER);\n"
    )
    time.sleep(1.1)
    code, out, _ = cli("apply", "--all", "--remote", "--root", str(two_releases))
    assert code == 0 and "or `orchestrate undo --db NAME --remote`, which checks the ledger" in out


def test_a_lock_row_in_the_restored_state_is_named_with_the_unlock_command(
    two_releases: Path, remote_env: D1ApiServer
) -> None:
    # A per-migration run that had to wait for another's lock takes its bookmark once it
    # holds the lock, so that the bookmark never undoes the other run: the restored state
    # then holds this run's own lock row (README, "Restoring after a lock wait").
    remote_env.execute_local(
        db_id(0),
        "INSERT INTO _migrations_lock (id, owner, host, pid, acquired_at, expires_at) "
        "VALUES (1, 'other-run', 'ci-runner-7', 4242, '2026-12-03 06:00:00', ?)",
        (time.time() + 1.5,),
    )
    (two_releases / "packages/p0/migrations/0005_t5.sql").write_text(
        "CREATE TABLE t5 (id INTEGER);\n"
    )
    time.sleep(1.1)
    code, out, err = cli(
        "apply", "--all", "--remote", "--batch", "per-migration", "--lock-timeout", "20",
        "--root", str(two_releases),
    )  # fmt: skip
    assert code == 0, out + err
    code, out, err = cli("undo", "--db", "db0", "--remote", "--root", str(two_releases))
    flat = " ".join(out.split())
    assert code == 0, out + err
    assert "The restored state holds the apply lock its run took" in flat
    assert "\n  orchestrate unlock --db db0 --remote\n" in out
    code, _, _ = cli("unlock", "--db", "db0", "--remote", "--root", str(two_releases))
    assert code == 0
    assert remote_env.execute_local(db_id(0), "SELECT count(*) FROM _migrations_lock") == [(0,)]
