"""``orchestrate init --npm-scripts``: ``migrate:*`` scripts in the root ``package.json``.

The team's habit (``npm run migrate:all``) keeps working, now through orchestrate.
Each script runs orchestrate through ``pipx run``, pinned to the version that wrote it:
a teammate who has installed nothing but pipx (no orchestrate, no venv) gets that very
version, cached by pipx, and every teammate runs the same one.
The file is rewritten the way npm itself rewrites it: same indent, same line
endings, same key order, same trailing newline. A script the user defined with
another command is kept and reported; one orchestrate wrote earlier is updated.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator import __version__
from orchestrator.commandline import shell_command, shell_word
from orchestrator.errors import ConfigError, UsageError
from orchestrator.model import Database

PACKAGE_JSON = "package.json"
DISTRIBUTION = "d1-orchestrate"
# How a script starts orchestrate; scripts starting so (or with a bare "orchestrate ",
# as earlier versions wrote them) are ours to update.
RUN = shell_command("pipx", "run", "--spec", f"{DISTRIBUTION}=={__version__}", "orchestrate")
OURS = ("orchestrate ", f"pipx run --spec {DISTRIBUTION}")


@dataclass(frozen=True)
class NpmResult:
    """What happened to each ``migrate:*`` script."""

    path: Path
    added: tuple[str, ...]
    updated: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]


def migrate_scripts(databases: tuple[Database, ...], envs: tuple[str, ...]) -> dict[str, str]:
    """``migrate:all``, ``migrate:all:remote`` and, per package with migrations, ``migrate:<package>``."""
    every = [f"{RUN} apply --all{_env(e)}" for e in (None, *envs)]
    scripts = {
        "migrate:all": " && ".join(every),
        "migrate:all:remote": " && ".join(c + " --remote" for c in every),
    }
    for package, by_env in sorted(_feeding(databases).items()):
        commands = [
            f"{RUN} apply" + "".join(f" --db {shell_word(n)}" for n in names) + _env(env)
            for env, names in sorted(by_env.items(), key=lambda i: i[0] or "")
        ]
        scripts[f"migrate:{package}"] = " && ".join(commands)
        scripts[f"migrate:{package}:remote"] = " && ".join(c + " --remote" for c in commands)
    return scripts


def _env(env: str | None) -> str:
    return f" --env {shell_word(env)}" if env else ""


def _feeding(databases: tuple[Database, ...]) -> dict[str, dict[str | None, list[str]]]:
    """Script name of each package that holds migrations -> env -> databases it feeds."""
    fed: dict[str, dict[str | None, list[str]]] = defaultdict(lambda: defaultdict(list))
    paths: dict[str, str] = {}
    for database in databases:
        sources = {m.source for m in database.migrations}
        for binding in database.bindings:
            if binding.migrations_dir in sources:
                names = fed[binding.package][binding.env]
                if database.name not in names:
                    names.append(database.name)
                paths[binding.package] = binding.package
    short = _short_names(tuple(paths))
    return {short[package]: by_env for package, by_env in fed.items()}


def _short_names(packages: tuple[str, ...]) -> dict[str, str]:
    """``packages/io`` -> ``io``; the whole path when two packages share a last part."""
    last = [p.rsplit("/", 1)[-1] for p in packages]
    return {
        p: (n if last.count(n) == 1 and p != "." else p)
        for p, n in zip(packages, last, strict=True)
    }


def add_npm_scripts(root: Path, scripts: dict[str, str]) -> NpmResult:
    """Add ``scripts`` to ``root/package.json``, keeping its formatting and the user's scripts."""
    path = root / PACKAGE_JSON
    if not path.is_file():
        raise UsageError(f"no {PACKAGE_JSON} in {root}", hint="run `npm init -y` first")
    text = path.read_text(encoding="utf-8")
    data = _load(path, text)
    existing = data.setdefault("scripts", {})
    if not isinstance(existing, dict):
        raise ConfigError("`scripts` must be an object", file=str(path))
    added, updated, kept = merge_scripts(existing, scripts)
    if added or updated:
        path.write_text(dump_like(data, text), encoding="utf-8")
    return NpmResult(path, tuple(added), tuple(updated), tuple(kept))


def merge_scripts(
    existing: dict[str, Any], scripts: dict[str, str]
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Add missing scripts, update ours, keep the user's; changes ``existing`` in place."""
    added, updated, kept = [], [], []
    for name, command in scripts.items():
        current = existing.get(name)
        if current is None:
            added.append(name)
        elif current == command:
            continue
        elif isinstance(current, str) and current.startswith(OURS):
            updated.append(name)
        else:
            kept.append((name, str(current)))
            continue
        existing[name] = command
    return added, updated, kept


def _load(path: Path, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    if not isinstance(data, dict):
        raise ConfigError("package.json must be a JSON object", file=str(path), line=1)
    return data


def dump_like(data: dict[str, Any], original: str) -> str:
    """Serialize ``data`` with the indent, line endings and final newline of ``original``."""
    found = re.search(r"^[ \t]+(?=\")", original, re.MULTILINE)
    indent = found.group(0) if found else "  "
    newline = "\r\n" if "\r\n" in original else "\n"
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    text = text.replace("\n", newline)
    return text + newline if original.endswith(("\n", "\r")) else text
