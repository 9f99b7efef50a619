"""Writing generated files: atomically (types, the verify record), or only when new
(migrations are never overwritten). No imports from the rest of orchestrate, so any
layer may use it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from orchestrator.errors import UsageError


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file, then a rename).

    The parent directory must exist, and the file keeps its mode (a new one gets 0644,
    not mkstemp's private 0600: these files are committed and read by other tools).
    """
    if not path.parent.is_dir():
        raise UsageError(
            f"{path.parent} is not a directory", hint="create it first, or pick another --out"
        )
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_new_file(root: Path, relative: str, text: str) -> Path:
    """Write a generated migration; never overwrite an existing file."""
    path = root / relative
    if path.exists():
        raise UsageError(f"{relative} already exists", hint="remove it or pick another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
