"""Read ``d1_databases`` from wrangler configs: TOML, JSON and JSONC.

Env sections (``[env.NAME]``) do not inherit the top-level ``d1_databases``,
as in wrangler: with ``--env NAME`` only that env's entries count.
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigError
from orchestrator.model import Binding, Problem, Severity
from orchestrator.settings import IDENTIFIER_RE, read_config_text, toml_error_line

WRANGLER_LEDGER = "d1_migrations"
_BINDING_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_ZERO_ID_RE = re.compile(r"^[0-]*$")


_BINDING_LINE_RE = re.compile(r"""["']?binding["']?\s*[:=]\s*(["'])(.*?)\1""")


class ConfigSyntaxError(Exception):
    """A config that cannot be parsed at all; carries the line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ConfigBindings:
    """The bindings of one config for the chosen env, and what was wrong."""

    bindings: tuple[Binding, ...]
    problems: tuple[Problem, ...]
    envs_with_d1: tuple[str, ...]
    all_migration_dirs: tuple[str, ...]
    envs: tuple[str, ...] = ()


def read_config(root: Path, config: str, env: str | None) -> ConfigBindings:
    """Parse one wrangler config and return its D1 bindings for ``env``."""
    try:
        # A BOM is dropped (editors on Windows add one); a FIFO, device, dangling link
        # or a file over the size cap is reported, never read.
        text = read_config_text(root / config)
        data = parse_config_text(text, config)
    except ConfigError as exc:
        return _broken(config, exc.message, exc.line)
    except ConfigSyntaxError as exc:
        return _broken(config, str(exc), exc.line)
    return _Reader(config, text, data).read(env)


def parse_config_text(text: str, config: str) -> dict[str, Any]:
    """Parse TOML or JSON(C) text into a dict, or raise ``ConfigSyntaxError``."""
    if config.endswith(".toml"):
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigSyntaxError(f"invalid TOML: {exc}", toml_error_line(exc, text)) from None
    try:
        data = json.loads(strip_jsonc(text))
    except json.JSONDecodeError as exc:
        raise ConfigSyntaxError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(data, dict):
        raise ConfigSyntaxError("the config must be a JSON object", 1)
    return data


def strip_jsonc(text: str) -> str:
    """Blank out comments and trailing commas, keeping every offset and line."""
    out = list(text)
    i, n = 0, len(text)
    last_comma: int | None = None
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _skip_string(text, i)
            last_comma = None
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            _blank(out, i, end)
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:  # wrangler's JSONC parser refuses it too ("unexpected end of comment")
                line = text.count("\n", 0, i) + 1
                raise ConfigSyntaxError(
                    "invalid JSONC: a /* comment opened here is never closed", line
                )
            end += 2
            _blank(out, i, end)
            i = end
            continue
        if ch == ",":
            last_comma = i
        elif ch in "]}" and last_comma is not None:
            out[last_comma] = " "
            last_comma = None
        elif not ch.isspace():
            last_comma = None
        i += 1
    return "".join(out)


def _skip_string(text: str, i: int) -> int:
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return i


def _blank(out: list[str], start: int, end: int) -> None:
    for k in range(start, end):
        if out[k] != "\n":
            out[k] = " "


def _broken(config: str, message: str, line: int | None) -> ConfigBindings:
    problem = Problem(Severity.ERROR, "config.invalid", message, config, line)
    return ConfigBindings((), (problem,), (), ())


def is_placeholder_id(value: str) -> bool:
    """Empty or all-zero ids do not identify a database."""
    return _ZERO_ID_RE.match(value) is not None


class _Reader:
    """Turns one parsed config into bindings and problems."""

    def __init__(self, config: str, text: str, data: dict[str, Any]) -> None:
        self.config = config
        self.text = text
        self.lines = text.splitlines()
        self.data = data
        self.package = config.rpartition("/")[0] or "."
        self.problems: list[Problem] = []
        self.seen_binding_lines: dict[str, int] = {}
        self._binding_index: dict[str, list[int]] | None = None
        self._dirs: dict[str, str | None] = {}

    def read(self, env: str | None) -> ConfigBindings:
        envs = self.data.get("env", {})
        if not isinstance(envs, dict):
            self._error("config.invalid", "`env` must be a table of environments", "env")
            envs = {}
        with_d1 = tuple(
            sorted(n for n, e in envs.items() if isinstance(e, dict) and "d1_databases" in e)
        )
        every: list[Binding] = list(self._entries(self.data, None))
        for name in with_d1:
            every.extend(self._entries(envs[name], name))
        chosen = tuple(b for b in every if b.env == env)
        dirs = tuple(sorted({b.migrations_dir for b in every}))
        return ConfigBindings(chosen, tuple(self.problems), with_d1, dirs, tuple(sorted(envs)))

    def _entries(self, section: dict[str, Any], env: str | None) -> list[Binding]:
        raw = section.get("d1_databases", [])
        where = f"env.{env}.d1_databases" if env else "d1_databases"
        if not isinstance(raw, list):
            self._error("config.d1-type", f"`{where}` must be an array of tables", "d1_databases")
            return []
        bindings = []
        for index, entry in enumerate(raw):
            binding = self._binding(entry, env, f"{where}[{index}]")
            if binding is not None:
                bindings.append(binding)
        return bindings

    def _binding(self, entry: Any, env: str | None, where: str) -> Binding | None:
        if not isinstance(entry, dict):
            self._error("config.d1-type", f"`{where}` must be a table", "d1_databases")
            return None
        name = entry.get("binding")
        line = self._binding_line(name) if isinstance(name, str) else self._line_of("d1_databases")
        if name is not None and not isinstance(name, str):
            shown = json.dumps(name)
            line = self._key_value_line("binding", shown) or line
            self._error_at(
                "config.binding", f"`{where}.binding` must be a string, not {shown}", line
            )
            return None
        if not isinstance(name, str) or not name:
            self._error_at("config.binding", f"`{where}` has no `binding` name", line)
            return None
        if not _BINDING_RE.match(name):
            self._error_at(
                "config.binding", f"binding name {name!r} is not a JavaScript identifier", line
            )
            return None
        return self._checked_binding(entry, env, where, name, line)

    def _checked_binding(
        self, entry: dict[str, Any], env: str | None, where: str, name: str, line: int | None
    ) -> Binding | None:
        fields = {}
        for key in (
            "database_name",
            "database_id",
            "preview_database_id",
            "migrations_dir",
            "migrations_table",
            "migrations_pattern",
        ):
            value = entry.get(key, "")
            if not isinstance(value, str):
                self._error_at("config.d1-type", f"`{where}.{key}` must be a string", line)
                return None
            fields[key] = value.strip()
        directory = self._migrations_dir(fields["migrations_dir"] or "migrations")
        if directory is None:
            message = f"migrations_dir {fields['migrations_dir']!r} is outside the workspace root"
            self._error_at("config.migrations-dir", message, line)
            return None
        pattern = self._pattern(entry, line)
        if pattern is None:
            return None
        table = fields["migrations_table"] or WRANGLER_LEDGER
        if not IDENTIFIER_RE.match(table):
            self._error_at(
                "config.binding", f"migrations_table {table!r} is not a plain SQL name", line
            )
            return None
        return Binding(
            package=self.package,
            binding=name,
            config=self.config,
            database_name=fields["database_name"],
            database_id=fields["database_id"],
            preview_database_id=fields["preview_database_id"],
            migrations_dir=directory,
            migrations_table=table,
            env=env,
            line=line,
            has_database_id="database_id" in entry,
            local_name=_local_name(entry, name),
            migrations_pattern=pattern,
            worker_name=self._worker_name(env),
        )

    def _worker_name(self, env: str | None) -> str:
        """wrangler's ``name`` for ``env``: the env's own, else ``<top-level name>-<env>``."""
        top = self.data.get("name")
        top = top if isinstance(top, str) else ""
        if env is None:
            return top
        section = self.data.get("env", {}).get(env, {})
        own = section.get("name") if isinstance(section, dict) else None
        if isinstance(own, str) and own:
            return own
        return f"{top}-{env}" if top else ""

    def _pattern(self, entry: dict[str, Any], line: int | None) -> str | None:
        """``migrations_pattern`` relative to ``migrations_dir``; wrangler's two errors as ours."""
        raw = entry.get("migrations_pattern")
        if raw is None:
            return ""
        start = (line or 1) - 1
        where = next(
            (n for n, t in enumerate(self.lines[start:], start + 1) if "migrations_pattern" in t),
            line,
        )
        if "migrations_dir" not in entry:
            message = (
                f"migrations_pattern {raw!r} is set but migrations_dir is not; set migrations_dir "
                "too (the pattern must start with it), as wrangler requires"
            )
            self._error_at("config.migrations-pattern", message, where)
            return None
        directory = normalize_relative(str(entry["migrations_dir"]))
        pattern = normalize_relative(raw)
        if directory == ".":
            return pattern
        if not pattern.startswith(directory + "/"):
            message = (
                f"migrations_pattern {raw!r} must start with {directory + '/'!r} to match "
                f"migrations_dir {directory!r} (for example {directory + '/*.sql'!r})"
            )
            self._error_at("config.migrations-pattern", message, where)
            return None
        return pattern[len(directory) + 1 :]

    def _migrations_dir(self, value: str) -> str | None:
        """The directory relative to the root; None when it lies outside the workspace
        (worked out once per value: 20,000 bindings mostly share one directory)."""
        if value not in self._dirs:
            self._dirs[value] = self._resolve_dir(value)
        return self._dirs[value]

    def _resolve_dir(self, value: str) -> str | None:
        if Path(value).is_absolute():
            return None
        joined = Path(self.package if self.package != "." else "") / value
        parts: list[str] = []
        for part in joined.as_posix().split("/"):
            if part == "..":
                if not parts:
                    return None
                parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return "/".join(parts) or "."

    def _binding_line(self, name: str) -> int | None:
        """The line of the next ``binding = "name"`` not taken yet (one scan of the file
        in all: a search per binding made 20,000 bindings quadratic)."""
        if self._binding_index is None:
            self._binding_index = {}
            for number, text in enumerate(self.lines, 1):
                for found in _BINDING_LINE_RE.finditer(text):
                    self._binding_index.setdefault(found.group(2), []).append(number)
        start = self.seen_binding_lines.get(name, 0)
        for number in self._binding_index.get(name, ()):
            if number > start:
                self.seen_binding_lines[name] = number
                return number
        return self._line_of("d1_databases")

    def _key_value_line(self, key: str, value: str) -> int | None:
        """The first line that sets ``key`` to ``value`` as written (``binding = 42``)."""
        pattern = re.compile(rf"""["']?{re.escape(key)}["']?\s*[:=]\s*{re.escape(value)}""")
        return next((n for n, text in enumerate(self.lines, 1) if pattern.search(text)), None)

    def _line_of(self, word: str) -> int | None:
        return next((n for n, text in enumerate(self.lines, 1) if word in text), None)

    def _error(self, code: str, message: str, word: str) -> None:
        self._error_at(code, message, self._line_of(word))

    def _error_at(self, code: str, message: str, line: int | None) -> None:
        self.problems.append(Problem(Severity.ERROR, code, message, self.config, line))


def normalize_relative(value: str) -> str:
    """As wrangler: forward slashes, ``posix.normalize`` (no leading ``./``), no trailing ``/``."""
    text = value.replace("\\", "/")
    normalized = posixpath.normpath(text) if text else "."
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized if normalized == "/" else normalized.rstrip("/")


def _local_name(entry: dict[str, Any], binding: str) -> str:
    """wrangler's ``preview_database_id ?? database_id ?? binding``, as written (no trimming)."""
    for key in ("preview_database_id", "database_id"):
        value = entry.get(key)
        if isinstance(value, str):
            return value
    return binding
