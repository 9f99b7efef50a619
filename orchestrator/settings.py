"""Settings: defaults < ``workspace.toml`` < environment < command line.

``workspace.toml`` is optional. A file whose only job is to point elsewhere
(``root = "fixtures/monorepo"``) defers to the ``workspace.toml`` of that root,
if it has one.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigError, UsageError

WORKSPACE_FILE = "workspace.toml"
DEFAULT_LEDGER = "_migrations"
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_TOP_KEYS = {
    "root": str,
    "include": list,
    "exclude": list,
    "ledger_table": str,
    "concurrency": int,
    "lock_timeout": (int, float),
    "allow_out_of_order": bool,
    "databases": dict,
    "lint": dict,
    "remote": dict,
    "discovery": dict,
    "fleets": dict,
}
# [discovery]: include_ignored = globs of wrangler configs to read although .gitignore ignores them
_DISCOVERY_KEYS = {"include_ignored": list}
_DATABASE_KEYS = {"depends_on": list, "allow_out_of_order": bool}
# [remote]: the NAMES of the environment variables holding credentials (never
# the secrets themselves), and the D1 API base URL (e.g. a test server).
_REMOTE_KEYS = {
    "api_token_env": str,
    "account_id_env": str,
    "base_url": str,
    # The request budget (Cloudflare: 1,200 per 5 min per token), and one per --shard job.
    "requests_per_5min": int,
    "shard_requests_per_5min": int,
}


@dataclass(frozen=True)
class DatabaseSettings:
    """Per-database settings from ``[databases.NAME]``."""

    depends_on: tuple[str, ...] = ()
    allow_out_of_order: bool | None = None


@dataclass(frozen=True)
class FleetSettings:
    """``[fleets.NAME]``: one migration set applied to many databases (tenants).

    Members are every database whose name starts with ``name_prefix`` (listed
    through the API), or the ids/names in ``ids_file``, one a line.
    """

    name: str
    migrations: str
    name_prefix: str | None = None
    ids_file: str | None = None
    canary: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Settings:
    """Resolved settings; ``sources`` says where each non-default value came from."""

    root: Path
    config_file: Path | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_ignored: tuple[str, ...] = ()
    ledger_table: str = DEFAULT_LEDGER
    concurrency: int = 4
    lock_timeout: float = 30.0
    allow_out_of_order: bool = False
    databases: dict[str, DatabaseSettings] = field(default_factory=dict)
    lint: dict[str, Any] = field(default_factory=dict)
    remote: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    fleets: dict[str, FleetSettings] = field(default_factory=dict)
    # -c/--config: the one wrangler config to read (relative to root, "/" separators)
    only_config: str | None = None

    def database(self, name: str) -> DatabaseSettings:
        """Settings of database ``name`` (defaults when it has no section)."""
        return self.databases.get(name, DatabaseSettings())

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with command-line values applied (``None`` means not given)."""
        given = {k: v for k, v in values.items() if v is not None}
        if "lock_timeout" in given:
            check_wait("--lock-timeout", given["lock_timeout"])
        sources = dict(self.sources) | {k: "command line" for k in given}
        return replace(self, **given, sources=sources)


def check_wait(name: str, seconds: float, file: Path | None = None) -> float:
    """A wait must be finite and not negative: NaN or inf would wait forever."""
    if not math.isfinite(seconds) or seconds < 0:
        message = f"{name} must be a finite number of seconds, at least 0 (got {seconds!r})"
        if file is not None:
            raise ConfigError(message, file=str(file))
        raise UsageError(message)
    return float(seconds)


def load_settings(root: str | Path | None = None, config: str | Path | None = None) -> Settings:
    """Find and read ``workspace.toml`` for ``root``.

    With no root given (no --root, no ORCHESTRATE_ROOT), look upward from the current
    directory for ``workspace.toml``, as git, npm and wrangler look upward; none found
    means the current directory. ``config`` (``-c/--config``) narrows discovery to that
    one wrangler config, as wrangler takes it; without a root it also picks the root.
    """
    given = root if root is not None else os.environ.get("ORCHESTRATE_ROOT")
    chosen = None
    if config is not None:
        refuse_unreadable_config(Path(config))
        chosen = Path(config).resolve()
    start = Path(given) if given is not None else _start(chosen)
    settings = _load_from(start)
    return settings if chosen is None else _narrowed(settings, chosen)


def _start(config: Path | None) -> Path:
    """The root to use: upward from the current directory, or from ``-c``'s directory
    when the config lies outside that."""
    found = _upward(Path.cwd())
    if config is None or config.is_relative_to(found.resolve()):
        return found
    return _upward(config.parent)


def _narrowed(settings: Settings, config: Path) -> Settings:
    if not config.is_relative_to(settings.root):
        raise UsageError(
            f"--config {config} is outside the workspace root {settings.root}",
            hint="pass --root DIR that contains it",
        )
    relative = config.relative_to(settings.root).as_posix()
    sources = dict(settings.sources) | {"only_config": "command line"}
    return replace(settings, only_config=relative, sources=sources)


def _load_from(start: Path) -> Settings:
    if not start.is_dir():
        raise ConfigError(f"workspace root {start} is not a directory", hint="pass --root DIR")
    path = start / WORKSPACE_FILE
    if not path.is_file():
        if path.exists() or path.is_symlink():  # a directory, FIFO, dangling link...
            read_config_text(path)  # raises: say what it is, never read it
        return Settings(root=start.resolve())
    data = read_toml(path)
    for _ in range(5):
        target = _pointed_root(path, data)
        if target is None or not (target / WORKSPACE_FILE).is_file() or set(data) != {"root"}:
            break
        path = target / WORKSPACE_FILE
        data = read_toml(path)
    return _settings_from(path, data)


def _upward(cwd: Path) -> Path:
    for directory in (cwd, *cwd.parents):
        if (directory / WORKSPACE_FILE).is_file():
            return directory
    return cwd


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into ``file:line`` config errors.

    A byte-order mark is read (as wrangler reads one in its configs); anything but a
    regular file of sane size is reported, never read (a FIFO would block, /dev/zero
    would never end).
    """
    text = read_config_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = toml_error_line(exc, text)
        raise ConfigError(f"invalid TOML: {exc}", file=str(path), line=line) from None


MAX_CONFIG_BYTES = 16 * 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO", "a character device", ...)."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def refuse_unreadable_config(path: Path) -> None:
    """``-c FILE`` must name a regular file (not a directory, FIFO or device) under the cap."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(_unopenable(path, exc), file=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"is {file_kind(info.st_mode)}; a config must be a regular file", file=str(path)
        )
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"is over {MAX_CONFIG_BYTES} bytes, more than a config may have", file=str(path)
        )


def read_config_bytes(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a config: a regular file of at most ``limit`` bytes.

    It is opened non-blocking and checked on the open descriptor, so a FIFO (even one
    swapped in after a check) never blocks and a device such as /dev/zero is never read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(_unopenable(path, exc), file=str(path)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = file_kind(info.st_mode)
            raise ConfigError(f"is {kind}; a config must be a regular file", file=str(path))
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError(f"is over {limit} bytes, more than a config may have", file=str(path))
    return data


def _read_at_most(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_config_text(path: Path) -> str:
    """A config's text (see ``read_config_bytes``), a byte-order mark dropped."""
    data = read_config_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        raise ConfigError(message, file=str(path), line=line) from None


def _unopenable(path: Path, exc: OSError) -> str:
    if path.is_symlink() and not path.exists():
        return f"is a symlink to {os.readlink(path)}, which does not exist"
    return f"cannot read: {exc.strerror or exc}"


def toml_error_line(exc: tomllib.TOMLDecodeError, text: str) -> int | None:
    """The line number tomllib puts in its message (the last line for "end of document")."""
    found = re.search(r"line (\d+)", str(exc))
    if found:
        return int(found.group(1))
    return max(1, len(text.splitlines())) if "end of document" in str(exc) else None


def _pointed_root(path: Path, data: dict[str, Any]) -> Path | None:
    value = data.get("root")
    if not isinstance(value, str):
        return None
    target = (path.parent / value).resolve()
    return None if target == path.parent.resolve() else target


def _settings_from(path: Path, data: dict[str, Any]) -> Settings:
    _check_keys(path, data, _TOP_KEYS, "")
    root = _pointed_root(path, data) or path.parent.resolve()
    if not root.is_dir():
        raise ConfigError(f"root {data['root']!r} is not a directory", file=str(path))
    ledger = data.get("ledger_table", DEFAULT_LEDGER)
    if not IDENTIFIER_RE.match(ledger):
        raise ConfigError(f"ledger_table {ledger!r} is not a plain SQL name", file=str(path))
    concurrency = data.get("concurrency", 4)
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1", file=str(path))
    return Settings(
        root=root,
        config_file=path.resolve(),
        include=tuple(_strings(path, data, "include")),
        exclude=tuple(_strings(path, data, "exclude")),
        include_ignored=_include_ignored(path, data.get("discovery", {})),
        ledger_table=ledger,
        concurrency=concurrency,
        lock_timeout=check_wait("lock_timeout", float(data.get("lock_timeout", 30.0)), path),
        allow_out_of_order=bool(data.get("allow_out_of_order", False)),
        databases=_databases(path, data.get("databases", {})),
        lint=dict(data.get("lint", {})),
        remote=_remote(path, data.get("remote", {})),
        fleets=_fleets(path, root, data.get("fleets", {})),
        sources={key: str(path) for key in data},
    )


def _databases(path: Path, raw: dict[str, Any]) -> dict[str, DatabaseSettings]:
    result = {}
    for name, section in raw.items():
        if not isinstance(section, dict):
            raise ConfigError(f"[databases.{name}] must be a table", file=str(path))
        _check_keys(path, section, _DATABASE_KEYS, f"databases.{name}.")
        depends = section.get("depends_on", [])
        if not all(isinstance(d, str) for d in depends):
            raise ConfigError(f"databases.{name}.depends_on must list names", file=str(path))
        result[name] = DatabaseSettings(tuple(depends), section.get("allow_out_of_order"))
    return result


_FLEET_KEYS = {"migrations": str, "name_prefix": str, "ids_file": str, "canary": list}


def _fleets(path: Path, root: Path, raw: dict[str, Any]) -> dict[str, FleetSettings]:
    result = {}
    for name, section in raw.items():
        line = key_line(path, f"fleets.{name}") or key_line(path, name)
        if not isinstance(section, dict):
            raise ConfigError(f"[fleets.{name}] must be a table", file=str(path), line=line)
        _check_keys(path, section, _FLEET_KEYS, f"fleets.{name}.")
        result[name] = _fleet(path, root, name, section, line)
    return result


def _fleet(
    path: Path, root: Path, name: str, section: dict[str, Any], line: int | None
) -> FleetSettings:
    def fail(message: str, key: str | None = None) -> ConfigError:
        at = (key_line(path, key, after=line or 0) if key else None) or line
        return ConfigError(f"fleets.{name}: {message}", file=str(path), line=at)

    migrations = section.get("migrations")
    if not migrations:
        raise fail('needs migrations = "path/to/migrations"')
    if not (root / migrations).is_dir():
        raise fail(f"migrations {migrations!r} is not a directory", "migrations")
    prefix, ids_file = section.get("name_prefix"), section.get("ids_file")
    if (prefix is None) == (ids_file is None):
        raise fail("set exactly one of name_prefix and ids_file")
    if prefix is not None and not prefix.strip():
        raise fail("name_prefix must not be empty (it would take every database)", "name_prefix")
    canary = section.get("canary", [])
    if not all(isinstance(c, str) and c for c in canary):
        raise fail("canary must list database names or ids", "canary")
    return FleetSettings(name, migrations, prefix, ids_file, tuple(canary), line)


def _remote(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    _check_keys(path, raw, _REMOTE_KEYS, "remote.")
    for key in ("api_token_env", "account_id_env"):
        if key in raw and not IDENTIFIER_RE.match(raw[key]):
            raise ConfigError(
                f"remote.{key} must name an environment variable, not hold a value",
                file=str(path),
                line=key_line(path, key),
            )
    for key in ("requests_per_5min", "shard_requests_per_5min"):
        if key in raw and raw[key] < 1:
            raise ConfigError(
                f"remote.{key} must be at least 1", file=str(path), line=key_line(path, key)
            )
    return dict(raw)


def _include_ignored(path: Path, raw: dict[str, Any]) -> tuple[str, ...]:
    _check_keys(path, raw, _DISCOVERY_KEYS, "discovery.")
    return tuple(_strings(path, raw, "include_ignored"))


def _strings(path: Path, data: dict[str, Any], key: str) -> list[str]:
    values = data.get(key, [])
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{key} must be a list of glob strings", file=str(path))
    return list(values)


def _check_keys(path: Path, data: dict[str, Any], known: dict[str, Any], prefix: str) -> None:
    for key, value in data.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean {prefix}{close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise ConfigError(
                f"unknown key {prefix}{key!r}", file=str(path), line=key_line(path, key), hint=hint
            )
        expected = known[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            line = key_line(path, key)
            raise ConfigError(f"{prefix}{key} has the wrong type", file=str(path), line=line)


def key_line(path: Path, key: str, after: int = 0) -> int | None:
    """First line (past line ``after``) of a TOML file that assigns ``key`` or opens a table named so."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[+[^\]]*\b{re.escape(key)}\b)")
    try:
        lines = read_config_text(path).splitlines()
    except ConfigError:
        return None
    return next((n for n, text in enumerate(lines, 1) if n > after and pattern.match(text)), None)
