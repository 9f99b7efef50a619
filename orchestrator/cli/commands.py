"""Imports every command module so the typer app knows them all."""

from orchestrator.cli import app
from orchestrator.cli import apply as _apply  # noqa: F401
from orchestrator.cli import ci as _ci  # noqa: F401
from orchestrator.cli import dashboard as _dashboard  # noqa: F401
from orchestrator.cli import history as _history  # noqa: F401
from orchestrator.cli import lifecycle as _lifecycle  # noqa: F401
from orchestrator.cli import lint as _lint  # noqa: F401
from orchestrator.cli import plan as _plan  # noqa: F401
from orchestrator.cli import schema as _schema  # noqa: F401
from orchestrator.cli import undo as _undo  # noqa: F401

__all__ = ["app"]
