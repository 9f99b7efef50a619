"""The options most commands share, declared once.

A command names the groups it takes and receives one :class:`Scope`::

    @app.command()
    @boundary
    @shared(ROOT, CONFIG, ENV, TARGET, DB, formats(Format.TEXT, Format.JSON))
    def plan(scope: Scope, fleet: FleetOpt = None) -> None:
        settings = scope.settings()

:func:`shared` adds the groups' typer parameters to the command's signature and folds
their values into the ``Scope``, so a new shared flag is one entry here, in
:data:`_PARAMETERS` and :class:`Scope`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.errors import UsageError
from orchestrator.reporting.output import Format
from orchestrator.settings import Settings, load_settings

if TYPE_CHECKING:
    from orchestrator.engines import Engine
    from orchestrator.services import ApplyRequest

ENV_HELP = "Use the d1_databases of [env.NAME] (a wrangler environment)."
DB_HELP = "A database: its name, id or binding name."


def _option(kind: Any, *names: str, default: Any = None, **info: Any) -> tuple[Any, Any]:
    return Annotated[kind, typer.Option(*names, **info)], default


# Every shared parameter: name -> (annotation, default). Help text is plain (never markup).
_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "root": _option(
        Path | None,
        "--root",
        metavar="DIR",
        help="Workspace root (default: the nearest directory upward with workspace.toml, "
        "else the current one).",
    ),
    "config": _option(
        Path | None,
        "--config",
        "-c",
        metavar="FILE",
        help="One wrangler config (wrangler.toml/json/jsonc): act on just its package.",
    ),
    "env": _option(str | None, "--env", "-e", metavar="NAME", help=ENV_HELP),
    "remote": _option(
        bool,
        "--remote/--local",
        default=False,
        help="Target Cloudflare (--remote) or local D1 state (--local, the default).",
        show_default=False,
    ),
    "engine": _option(
        str | None, "--engine", metavar="NAME", help="Force an engine: local, api or wrangler."
    ),
    "persist_to": _option(
        Path | None,
        "--persist-to",
        metavar="DIR",
        help="Local state directory, as wrangler's --persist-to.",
    ),
    "db": _option(list[str] | None, "--db", metavar="NAME", help=DB_HELP[:-1] + "; repeatable."),
    "one_db": _option(str, "--db", default=..., metavar="NAME", help=DB_HELP),
    "yes": _option(bool, "--yes", "-y", default=False, help="Write without asking."),
}


@dataclass(frozen=True)
class Group:
    """Shared parameters a command takes together (``TARGET`` is three flags)."""

    names: tuple[str, ...]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


ROOT = Group(("root",))
CONFIG = Group(("config",))
ENV = Group(("env",))
TARGET = Group(("remote", "engine", "persist_to"))
DB = Group(("db",))
ONE_DB = Group(("one_db",))
# One database, or none when --fleet names the members instead (history, undo).
MAYBE_ONE_DB = Group(
    ("one_db",),
    {
        "one_db": {
            "annotation": Annotated[str | None, typer.Option("--db", metavar="NAME", help=DB_HELP)],
            "default": None,
        }
    },
)
WORKSPACE = Group(("root", "config", "env"))


def yes(help: str) -> Group:
    """``-y/--yes`` with this command's meaning of it."""
    return Group(("yes",), {"yes": {"help": help}})


def formats(*allowed: Format) -> Group:
    """``-f/--format`` taking one of ``allowed`` (the first is the default)."""
    names = [f.value for f in allowed]
    choices = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    annotation = Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="|".join(names),
            help=f"Output format: {choices}.",
            show_default=True,
        ),
    ]
    return Group(("format",), {"format": {"annotation": annotation, "default": names[0]}})


@dataclass(frozen=True)
class Scope:
    """What the shared options say: which workspace, config, env, target and databases."""

    root: Path | None = None
    config: Path | None = None
    env: str | None = None
    remote: bool = False
    engine: str | None = None
    persist_to: Path | None = None
    db: tuple[str, ...] = ()
    yes: bool = False
    format: Format = Format.TEXT
    allowed: tuple[Format, ...] = ()

    @property
    def one_db(self) -> str:
        """The one database a single-database command names."""
        return self.db[0]

    def settings(self) -> Settings:
        """Settings of the workspace (``--root``), narrowed to ``--config``'s package."""
        return load_settings(self.root, config=self.config)

    def target(self, settings: Settings) -> Engine:
        """The engine ``--remote``/``--local``, ``--engine`` and ``--persist-to`` choose."""
        from orchestrator.engines.select import choose_engine

        return choose_engine(settings, self.remote, self.engine, self.persist_to)

    def request(self, settings: Settings | None = None, **more: Any) -> ApplyRequest:
        """An ``ApplyRequest`` for these options (``more``: ``to``, ``fail_fast``)."""
        from orchestrator.services import ApplyRequest

        chosen = settings if settings is not None else self.settings()
        return ApplyRequest(
            chosen, self.env, self.db, self.remote, self.engine, self.persist_to, **more
        )


def check_format(value: str, *allowed: Format) -> Format:
    """The ``Format`` named by ``value``, if the command supports it."""
    names = [f.value for f in allowed]
    if value not in names:
        hint = f"use one of: {', '.join(names)}"
        raise UsageError(f"--format {value!r} is not supported here", hint=hint)
    return Format(value)


def shared(*groups: Group) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the shared options of ``groups``; it receives them as ``scope``."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        added = _parameters(groups)
        allowed = _allowed(groups)
        own = _own_parameters(command)

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in added}
            return command(scope=_scope(values, allowed), **kwargs)

        parameters = _ordered([*own, *added.values()])
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


def _parameters(groups: tuple[Group, ...]) -> dict[str, inspect.Parameter]:
    found: dict[str, inspect.Parameter] = {}
    for group in groups:
        for name in group.names:
            annotation, default = _PARAMETERS.get(name, (None, None))
            extra = dict(group.overrides.get(name, {}))
            annotation = extra.pop("annotation", annotation)
            default = extra.pop("default", default)
            if extra:
                annotation = _with_info(annotation, extra)
            found[name] = inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation,
                default=inspect.Parameter.empty if default is ... else default,
            )
    return found


def _with_info(annotation: Any, changes: dict[str, Any]) -> Any:
    """The same ``Annotated`` type with some of its ``typer.Option`` fields changed."""
    kind, info = typing.get_args(annotation)
    changed = copy.copy(info)
    for key, value in changes.items():
        setattr(changed, key, value)
    return Annotated[kind, changed]


def _allowed(groups: tuple[Group, ...]) -> tuple[Format, ...]:
    for group in groups:
        fmt = group.overrides.get("format")
        if fmt is not None:
            return tuple(
                Format(v) for v in typing.get_args(fmt["annotation"])[1].metavar.split("|")
            )
    return ()


def _own_parameters(command: Callable[..., Any]) -> list[inspect.Parameter]:
    hints = typing.get_type_hints(command, include_extras=True)
    return [
        p.replace(annotation=hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(command).parameters.values()
        if p.name != "scope"
    ]


def _ordered(parameters: list[inspect.Parameter]) -> list[inspect.Parameter]:
    """Required parameters first: a signature may not put them after defaults."""
    required = [p for p in parameters if p.default is inspect.Parameter.empty]
    return required + [p for p in parameters if p.default is not inspect.Parameter.empty]


def _scope(values: dict[str, Any], allowed: tuple[Format, ...]) -> Scope:
    fields: dict[str, Any] = {k: v for k, v in values.items() if k not in ("db", "one_db")}
    if values.get("db"):
        fields["db"] = tuple(values["db"])
    if values.get("one_db") is not None:
        fields["db"] = (values["one_db"],)
    if "format" in values:
        fields["format"] = check_format(values["format"], *allowed)
    return replace(Scope(allowed=allowed), **fields)
