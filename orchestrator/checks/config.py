"""The ``[lint]`` table of ``workspace.toml``: select, ignore and re-grade rules.

    [lint]
    select = ["all"]                 # codes, slugs, families ("naming") or letters ("N")
    ignore = ["H002"]
    severity = { S003 = "off", I004 = "info" }
    profile = "strict"               # conventions (idempotency, naming, headers) become errors
    generated = "check"              # also hold drizzle-kit / prisma output to the style rules

    [lint.databases."io-db"]         # applies to findings of that database
    ignore = ["N001"]

    [lint.paths."packages/legacy-*/**"]   # gitignore-style glob, relative to the root
    severity = { header = "info" }

Layers apply in order (top level, database, then each matching path in file
order); within a layer the most specific selector wins (code or slug over family
over ``all``), and ``ignore`` beats ``select`` at equal specificity.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pathspec

from orchestrator.checks.catalog import BY_CODE, BY_SLUG, PROFILES, STYLE, resolve, selector_names
from orchestrator.checks.findings import Finding
from orchestrator.errors import ConfigError
from orchestrator.model import Severity
from orchestrator.settings import key_line

OFF = "off"
_LEVELS = (*(s.value for s in Severity), OFF)
_LAYER_KEYS = ("select", "ignore", "severity")
_TOP_KEYS = (*_LAYER_KEYS, "databases", "paths", "profile", "generated")
_GENERATED = ("exempt", "check")


@dataclass(frozen=True)
class Layer:
    """One table of settings: per code, ``(specificity, value)``."""

    select: Mapping[str, int] = field(default_factory=dict)
    ignore: Mapping[str, int] = field(default_factory=dict)
    severity: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    exclusive: bool = False

    def enabled(self, code: str, current: bool) -> bool:
        """Whether ``code`` runs after this layer, given whether it ran before."""
        chose, dropped = self.select.get(code, -1), self.ignore.get(code, -1)
        if chose < 0 and dropped < 0:
            return current and not self.exclusive
        return chose > dropped

    def level(self, code: str, current: str) -> str:
        """The severity this layer gives ``code`` (``current`` when it says nothing)."""
        return self.severity.get(code, (0, current))[1]


@dataclass(frozen=True)
class PathLayer:
    """A layer for files matching a gitignore-style glob."""

    glob: str
    spec: pathspec.PathSpec  # type: ignore[type-arg]
    layer: Layer


@dataclass(frozen=True)
class LintConfig:
    """Resolved ``[lint]`` settings; the default selects every rule at its default severity."""

    base: Layer = field(default_factory=Layer)
    databases: Mapping[str, Layer] = field(default_factory=dict)
    paths: tuple[PathLayer, ...] = ()
    profile: str = "default"
    generated: str = "exempt"
    _graded: dict[tuple[object, ...], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def grade(self, finding: Finding, generated: bool = False) -> Finding | None:
        """The finding at its configured severity, or None when its rule is off here.

        ``generated``: the finding's file is drizzle-kit or prisma output, which is
        exempt from the style rules unless ``generated = "check"``.
        """
        if finding.rule not in BY_CODE:
            return finding
        # The answer depends on these alone: a 50,000-row seed's findings ask it once.
        key = (finding.rule, finding.severity, finding.database, finding.file, generated)
        level = self._graded.get(key, "")
        if level == "":
            level = self._graded[key] = self._level(finding, generated)
        if level is None:
            return None
        if level == finding.severity.value:
            return finding  # the same finding (frozen): no copy
        return replace(finding, severity=Severity(level))

    def _level(self, finding: Finding, generated: bool) -> str | None:
        if generated and self.generated == "exempt" and finding.rule in STYLE:
            return None
        enabled, level = True, self._start(finding).value
        for layer in self._layers(finding):
            enabled = layer.enabled(finding.rule, enabled)
            level = layer.level(finding.rule, level)
        if not enabled or level == OFF:
            return None
        return level

    def _start(self, finding: Finding) -> Severity:
        rule = BY_CODE[finding.rule]
        if finding.severity is rule.severity:
            return rule.severity_in(self.profile)
        return finding.severity

    def _layers(self, finding: Finding) -> list[Layer]:
        layers = [self.base]
        if finding.database is not None and finding.database in self.databases:
            layers.append(self.databases[finding.database])
        file = finding.file or ""
        layers.extend(p.layer for p in self.paths if file and p.spec.match_file(file))
        return layers


def parse_lint_config(raw: Mapping[str, Any], source: Path | None = None) -> LintConfig:
    """Validate ``[lint]`` (as read from ``source``), raising ConfigError with file and line."""
    where = _Where(source)
    where.keys(raw, _TOP_KEYS, "lint.")
    base = _layer(raw, where, "lint", top=True)
    databases = {
        name: _layer(section, where, f"lint.databases.{name}")
        for name, section in where.table(raw.get("databases", {}), "lint.databases").items()
    }
    paths = tuple(
        PathLayer(glob, compile_glob(glob), _layer(section, where, f"lint.paths.{glob}"))
        for glob, section in where.table(raw.get("paths", {}), "lint.paths").items()
    )
    profile = _choice(raw, where, "profile", PROFILES)
    generated = _choice(raw, where, "generated", _GENERATED)
    return LintConfig(base, databases, paths, profile, generated)


def _choice(raw: Mapping[str, Any], where: _Where, key: str, allowed: tuple[str, ...]) -> str:
    value = raw.get(key, allowed[0])
    if value not in allowed:
        raise where.error(
            f"lint.{key} must be one of {', '.join(map(repr, allowed))}, not {value!r}", key
        )
    return str(value)


def compile_glob(glob: str) -> pathspec.PathSpec:  # type: ignore[type-arg]
    """A gitignore-style matcher for one glob (``packages/io/**``)."""
    try:
        return pathspec.PathSpec.from_lines("gitignore", [glob])
    except LookupError:  # pathspec before 1.0 calls the style gitwildmatch
        return pathspec.PathSpec.from_lines("gitwildmatch", [glob])


def _layer(raw: Any, where: _Where, name: str, top: bool = False) -> Layer:
    section = where.table(raw, name)
    if not top:
        where.keys(section, _LAYER_KEYS, name + ".")
    select = _selectors(section.get("select"), where, f"{name}.select")
    ignore = _selectors(section.get("ignore", []), where, f"{name}.ignore")
    levels = _levels(section.get("severity", {}), where, f"{name}.severity")
    return Layer(select or {}, ignore or {}, levels, exclusive=top and select is not None)


def _selectors(value: Any, where: _Where, key: str) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(f"{key} must be a list of rule codes", key)
    result: dict[str, int] = {}
    for selector in value:
        for code in where.codes(selector, key):
            result[code] = max(result.get(code, -1), specificity(selector))
    return result


def _levels(value: Any, where: _Where, key: str) -> dict[str, tuple[int, str]]:
    table = where.table(value, key)
    result: dict[str, tuple[int, str]] = {}
    for selector, level in table.items():
        if level not in _LEVELS:
            raise where.error(
                f"{key}.{selector} must be one of {', '.join(_LEVELS)}, not {level!r}", selector
            )
        rank = specificity(selector)
        for code in where.codes(selector, key):
            if rank >= result.get(code, (-1, ""))[0]:
                result[code] = (rank, level)
    return result


def mention_line(path: Path, word: str) -> int | None:
    """First line that mentions ``word`` (keys inside inline tables, list items)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((n for n, text in enumerate(lines, 1) if word in text), None)


def specificity(selector: str) -> int:
    """2 for a code or slug, 1 for a family or letter, 0 for ``all``."""
    text = selector.strip()
    if text.upper() in BY_CODE or text in BY_SLUG:
        return 2
    return 0 if text == "all" else 1


class _Where:
    """Error wording that names ``workspace.toml`` and the offending line."""

    def __init__(self, source: Path | None) -> None:
        self.source = source

    def error(self, message: str, key: str, hint: str = "") -> ConfigError:
        """A ConfigError at the line that sets ``key``."""
        name = key.rsplit(".", 1)[-1]
        line = (
            (key_line(self.source, name) or mention_line(self.source, name))
            if self.source
            else None
        )
        file = str(self.source) if self.source else None
        return ConfigError(f"[lint] {message}", file=file, line=line, hint=hint)

    def table(self, value: Any, key: str) -> dict[str, Any]:
        """``value`` when it is a TOML table, else an error."""
        if not isinstance(value, dict):
            raise self.error(f"{key} must be a table", key)
        return value

    def keys(self, section: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
        """Refuse keys outside ``known``, suggesting the closest."""
        for key in section:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                raise self.error(f"unknown key {prefix}{key}", key, hint)

    def codes(self, selector: str, key: str) -> frozenset[str]:
        """The codes ``selector`` names, or an error with a suggestion."""
        codes = resolve(selector)
        if not codes:
            close = difflib.get_close_matches(selector, selector_names(), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see docs/lint-rules.md"
            raise self.error(f"{key} names {selector!r}, which is no rule", key, hint)
        return codes
