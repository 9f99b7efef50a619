"""Where wrangler keeps a binding's local D1 state.

``<config dir>/.wrangler/state/v3/d1/miniflare-D1DatabaseObject/<hex>.sqlite``
(or ``<persist-to>/v3/d1/…``), with ``key = sha256("miniflare-D1DatabaseObject")``,
``a = HMAC(key, name)[:16]``, ``b = HMAC(key, a)[:16]``, ``hex = (a + b).hex()``.
``name`` is ``preview_database_id ?? database_id ?? binding`` as written in the
config (no trimming), with or without ``--preview``: wrangler's ``d1 migrations apply
--local`` and ``wrangler dev`` both open that file.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from orchestrator.model import Binding

OBJECT_CLASS = "miniflare-D1DatabaseObject"
STATE_DIR = Path("v3") / "d1" / OBJECT_CLASS


def durable_object_hex(name: str) -> str:
    """Miniflare's id for a named D1 database object."""
    key = hashlib.sha256(OBJECT_CLASS.encode()).digest()
    first = hmac.new(key, name.encode(), hashlib.sha256).digest()[:16]
    second = hmac.new(key, first, hashlib.sha256).digest()[:16]
    return (first + second).hex()


def state_name(binding: Binding, preview: bool = False) -> str:
    """The name miniflare hashes for this binding (``preview`` does not change it)."""
    del preview
    return binding.state_key


def state_file(
    root: Path, binding: Binding, persist_to: Path | None = None, preview: bool = False
) -> Path:
    """The SQLite file for ``binding`` under ``root`` (or under ``persist_to``)."""
    base = (
        persist_to if persist_to is not None else root / binding.package_dir / ".wrangler" / "state"
    )
    return base / STATE_DIR / f"{durable_object_hex(state_name(binding, preview))}.sqlite"
