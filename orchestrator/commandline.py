"""Commands orchestrate prints or writes for a shell (undo commands, hints, npm scripts).

Every word that comes from user data (a database name, an env, a bookmark) is quoted
for a POSIX shell, which is what ``npm run`` uses on Linux and macOS: a name like
``x;touch f;#`` stays one argument and never runs as shell.
"""

from __future__ import annotations

import shlex


def shell_word(word: str) -> str:
    """``word`` as one shell argument (unchanged when it needs no quoting)."""
    return shlex.quote(word)


def shell_command(*words: str) -> str:
    """Words joined into one command line, each quoted as needed."""
    return " ".join(shell_word(w) for w in words)


def fleet_undo_command(
    fleet: str, rollout: str | None = None, shard: tuple[int, int] | None = None
) -> str:
    """``orchestrate undo --fleet NAME --remote`` (for the last rollout unless ``rollout``)."""
    words = ["orchestrate", "undo", "--fleet", fleet, "--remote"]
    if rollout:
        words.append(f"--rollout={rollout}")
    if shard:
        words.append(f"--shard={shard[0]}/{shard[1]}")
    return shell_command(*words)


def database_undo_command(database: str, env: str | None = None) -> str:
    """``orchestrate undo --db NAME --remote`` (the last release; ``--env`` where the
    database is bound in a wrangler environment)."""
    return _database_command("undo", database, env)


def unlock_command(database: str, env: str | None = None) -> str:
    """``orchestrate unlock --db NAME --remote`` (``--env`` as for ``database_undo_command``)."""
    return _database_command("unlock", database, env)


def _database_command(command: str, database: str, env: str | None) -> str:
    words = ["orchestrate", command, "--db", database, "--remote"]
    return shell_command(*words, *(("--env", env) if env else ()))


def restore_point_kind(point: str) -> str:
    """``timestamp`` for an RFC 3339 time (a one-write run's start), else ``bookmark``: the
    name of the parameter, and of wrangler's flag, that restores to ``point``."""
    is_time = len(point) >= 19 and point[4] == "-" and point[10] == "T"
    return "timestamp" if is_time else "bookmark"


def restore_flag(point: str) -> str:
    """``--timestamp=…`` or ``--bookmark=…`` (``restore_point_kind``)."""
    return f"--{restore_point_kind(point)}={point}"
