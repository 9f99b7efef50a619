"""Discovery: from a directory tree to a ``Workspace`` of databases and migrations."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from orchestrator.discovery.sources import Source, read_source
from orchestrator.discovery.walk import Tree, walk_tree
from orchestrator.discovery.wrangler import ConfigBindings, is_placeholder_id, read_config
from orchestrator.errors import UsageError
from orchestrator.model import Binding, Database, Problem, Severity, Workspace
from orchestrator.settings import Settings


def discover_workspace(settings: Settings, env: str | None = None) -> Workspace:
    """Walk ``settings.root`` and gather every database, its bindings and migrations."""
    root = settings.root
    tree = workspace_tree(settings)
    problems: list[Problem] = [_shadowed(chosen, other) for chosen, other in tree.shadowed]
    problems += [_gitignored(config) for config in tree.ignored]
    configs = {config: read_config(root, config, env) for config in tree.configs}
    bindings: list[Binding] = []
    for config, read in configs.items():
        problems.extend(read.problems)
        bindings.extend(read.bindings)
        problems.extend(_env_only_hint(config, read, env))
    problems.extend(_orphans(tree.migration_dirs, configs.values()))
    databases = _databases(root, bindings, settings, problems)
    d1_envs = tuple(sorted({name for read in configs.values() for name in read.envs_with_d1}))
    if not any(p.is_error for p in problems):  # a broken config already says why
        problems.extend(_nothing_found(root, bool(configs), bool(bindings), env, d1_envs))
    packages = tuple(sorted({c.rpartition("/")[0] or "." for c in tree.configs}))
    names = tuple(db.name for db in databases)
    envs = tuple(sorted({name for read in configs.values() for name in read.envs}))
    return Workspace(str(root), env, databases, tuple(problems), packages, names, envs, d1_envs)


def workspace_tree(settings: Settings) -> Tree:
    """The configs and migration directories to read: every one under the root, or just
    the config ``-c/--config`` names (its package alone, as wrangler takes it)."""
    if settings.only_config is not None:
        return Tree(configs=(settings.only_config,), shadowed=(), migration_dirs=())
    return walk_tree(settings.root, settings.include, settings.exclude, settings.include_ignored)


def _nothing_found(
    root: Path, configs: bool, bindings: bool, env: str | None, d1_envs: tuple[str, ...]
) -> list[Problem]:
    """Never green on nothing: no config, or configs that bind no D1 database, is an error."""
    if not configs:
        message = f"no wrangler.toml, wrangler.json or wrangler.jsonc under {root}; check --root"
        return [Problem(Severity.ERROR, "config.none", message, ".")]
    if bindings or (env is None and d1_envs):
        return []
    where = f" in env {env!r}" if env else ""
    message = f"no wrangler config under {root} binds a D1 database{where}"
    return [Problem(Severity.ERROR, "config.no-d1", message, ".")]


def require_databases(workspace: Workspace) -> None:
    """Commands that act on a target need a database; env-only repositories need --env."""
    if workspace.databases:
        return
    if workspace.env is None and workspace.d1_envs:
        envs = ", ".join(workspace.d1_envs)
        raise UsageError(
            f"only environments bind D1 here ({envs})",
            hint=f"pass --env NAME, e.g. --env {workspace.d1_envs[0]}",
        )
    problem = next((p for p in workspace.problems if p.is_error), None)
    if problem is None:
        raise UsageError("no D1 database found under this root")
    where = f"{problem.file}:{problem.line}: " if problem.line else f"{problem.file}: "
    where = "" if problem.file in (None, ".") else where
    raise UsageError(where + problem.message)


def check_env(workspace: Workspace) -> None:
    """An --env no config defines is a typo, not an empty workspace."""
    env, known = workspace.env, list(workspace.envs)
    if env is None or env in known:
        return
    close = difflib.get_close_matches(env, known, n=1)
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else (f"known: {', '.join(known)}" if known else "no config has [env.*] sections")
    )
    raise UsageError(f"no wrangler config defines env {env!r}", hint=hint)


def database_key(binding: Binding, ids_by_name: dict[str, str]) -> str:
    """A database's identity: its id; for a placeholder id, the id another binding gives its name."""
    if not is_placeholder_id(binding.database_id):
        return binding.database_id
    if not binding.database_name:
        # binding-only entry (wrangler 4 provisioning): the binding names it, per config
        return f"binding:{binding.config}:{binding.binding}"
    return ids_by_name.get(binding.database_name, f"name:{binding.database_name}")


def _databases(
    root: Path, bindings: list[Binding], settings: Settings, problems: list[Problem]
) -> tuple[Database, ...]:
    ids_by_name = {
        b.database_name: b.database_id
        for b in sorted(bindings, key=lambda b: b.config)
        if b.database_name and not is_placeholder_id(b.database_id)
    }
    groups: dict[str, list[Binding]] = defaultdict(list)
    for binding in bindings:
        groups[database_key(binding, ids_by_name)].append(binding)
    sources = _read_sources(root, bindings)
    result = []
    for key, members in groups.items():
        members.sort(key=lambda b: (b.package, b.binding))
        result.append(_database(key, tuple(members), sources, settings, problems))
    problems.extend(_name_clashes(result))
    problems.extend(_ledger_clashes(bindings, settings))
    problems.extend(_shared_directories(result))
    return tuple(sorted(result, key=lambda d: d.name))


def _ledger_clashes(bindings: list[Binding], settings: Settings) -> list[Problem]:
    """wrangler's ledger and ours must be different tables, or each would corrupt the other."""
    ours = settings.ledger_table
    reserved = {ours, f"{ours}_lock", f"{ours}_history", "_seeds"}
    return [
        Problem(
            Severity.ERROR,
            "config.ledger-clash",
            f"migrations_table {b.migrations_table!r} is orchestrate's own ledger table; "
            "name it differently (or set ledger_table in workspace.toml)",
            b.config,
            b.line,
            b.database_name or None,
        )
        for b in bindings
        if b.migrations_table in reserved
    ]


def _name_clashes(databases: list[Database]) -> list[Problem]:
    """One database_name bound to several ids: `--db NAME` and every report would mix them."""
    by_name: dict[str, list[Database]] = defaultdict(list)
    for db in databases:
        by_name[db.name].append(db)
    problems = []
    for name, group in sorted(by_name.items()):
        if len(group) > 1:
            where = ", ".join(
                f"{db.bindings[0].config}:{db.bindings[0].line} ({db.id})" for db in group
            )
            message = (
                f"database_name {name!r} is bound to {len(group)} different database_ids: {where}"
            )
            problems.append(
                Problem(
                    Severity.ERROR,
                    "config.name-clash",
                    message,
                    group[0].bindings[0].config,
                    group[0].bindings[0].line,
                    name,
                )
            )
    return problems


def _shared_directories(databases: list[Database]) -> list[Problem]:
    """A migrations directory that feeds several databases: each applies every file (as wrangler)."""
    feeders: dict[str, list[str]] = defaultdict(list)
    for db in databases:
        for source in sorted({m.source for m in db.migrations}):
            feeders[source].append(db.name)
    problems = []
    for source, names in sorted(feeders.items()):
        if len(names) > 1:
            message = (
                f"this directory feeds {len(names)} databases ({', '.join(names)}); "
                "each gets its own plan and ledger from the same files"
            )
            problems += [
                Problem(Severity.INFO, "source.shared", message, source, None, name)
                for name in names
            ]
    return problems


def _database(
    key: str,
    members: tuple[Binding, ...],
    sources: dict[tuple[str, str], Source],
    settings: Settings,
    problems: list[Problem],
) -> Database:
    named = [b.database_name for b in members if b.database_name]
    name = named[0] if named else (members[0].binding if key.startswith("binding:") else key)
    if len(set(named)) > 1:
        message = f"one database id is bound under several names: {', '.join(sorted(set(named)))}"
        problems.append(
            Problem(Severity.WARNING, "config.names", message, members[0].config, database=name)
        )
    feeding = sorted({(b.migrations_dir, b.migrations_pattern) for b in members})
    migrations = tuple(m for s in feeding for m in sources[s].migrations)
    problems.extend(replace(p, database=name) for s in feeding for p in sources[s].problems)
    problems.extend(_empty_patterns(members, sources, name))
    database_id = "" if key.startswith(("name:", "binding:")) else key
    return Database(key, name, database_id, members, migrations, settings.database(name).depends_on)


SourceKey = tuple[str, str]  # (migrations_dir, migrations_pattern)


def _read_sources(root: Path, bindings: list[Binding]) -> dict[SourceKey, Source]:
    # A directory belongs to the package that holds it, else to the first binder.
    owners: dict[SourceKey, str] = {}
    for binding in sorted(bindings, key=lambda b: b.package):
        key = (binding.migrations_dir, binding.migrations_pattern)
        owns = binding.package == "." or binding.migrations_dir.startswith(binding.package + "/")
        if owns or key not in owners:
            owners[key] = binding.package
    return {key: read_source(root, key[0], package, key[1]) for key, package in owners.items()}


def _empty_patterns(
    members: tuple[Binding, ...], sources: dict[SourceKey, Source], name: str
) -> list[Problem]:
    """A pattern matching nothing, or a nested layout the default pattern never reads."""
    problems = []
    for b in members:
        source = sources[(b.migrations_dir, b.migrations_pattern)]
        if not source.exists:
            if b is members[0] and not _any_source(members, sources):
                problems.append(_missing_directory(b, name))
            continue
        if source.migrations:
            continue
        if b.migrations_pattern:
            message = (
                f"migrations_pattern {b.migrations_dir}/{b.migrations_pattern} matches no file; "
                "wrangler applies nothing either"
            )
            problems.append(
                Problem(Severity.WARNING, "source.pattern-empty", message, b.config, b.line, name)
            )
        elif source.nested:
            message = (
                f"no {b.migrations_dir}/*.sql, but nested files such as {source.nested} (drizzle-kit's "
                f'layout): set migrations_pattern = "{b.migrations_dir}/*/migration.sql" '
                "(wrangler >= 4.98) to apply them"
            )
            problems.append(
                Problem(Severity.WARNING, "source.nested", message, b.config, b.line, name)
            )
    return problems


def _any_source(members: tuple[Binding, ...], sources: dict[SourceKey, Source]) -> bool:
    """Does any binding of the database have a migrations directory? (Several packages
    binding one database usually leave the migrations to one of them.)"""
    return any(sources[(b.migrations_dir, b.migrations_pattern)].exists for b in members)


def _missing_directory(binding: Binding, name: str) -> Problem:
    """No migrations directory at all: nothing to apply (wrangler: "No migrations folder
    found"). Info, not a warning: a Worker may use D1 without migrations."""
    message = (
        f"no migrations directory {binding.migrations_dir}: nothing to apply; set "
        "migrations_dir if the migrations live elsewhere"
    )
    return Problem(Severity.INFO, "source.missing", message, binding.config, binding.line, name)


def _gitignored(config: str) -> Problem:
    message = (
        "skipped: .gitignore ignores this wrangler config; to read it, add "
        f'`[discovery] include_ignored = ["{config}"]` to workspace.toml'
    )
    return Problem(Severity.WARNING, "config.gitignored", message, config)


def _shadowed(chosen: str, other: str) -> Problem:
    message = f"ignored: wrangler reads {chosen.rsplit('/', 1)[-1]} in this directory first"
    return Problem(Severity.WARNING, "config.shadowed", message, other)


def _env_only_hint(config: str, read: ConfigBindings, env: str | None) -> list[Problem]:
    if env is not None or read.bindings or not read.envs_with_d1:
        return []
    envs = ", ".join(read.envs_with_d1)
    message = f"binds D1 only in env {envs}; pass --env to plan those databases"
    return [Problem(Severity.INFO, "config.env-only", message, config)]


def _orphans(migration_dirs: tuple[str, ...], reads: Iterable[ConfigBindings]) -> list[Problem]:
    bound = {d for read in reads for d in read.all_migration_dirs}
    message = "no wrangler config binds this migrations directory (orphan); bind it or delete it"
    return [
        Problem(Severity.WARNING, "source.orphan", message, d)
        for d in migration_dirs
        if d not in bound
    ]
