"""Choose the engine for a target: ``local`` (default), or for ``--remote`` the
D1 API when credentials are present, else wrangler."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.engines import Engine
from orchestrator.engines.local import LocalEngine
from orchestrator.errors import UsageError
from orchestrator.settings import Settings

ENGINES = ("local", "api", "wrangler")


def choose_engine(
    settings: Settings,
    remote: bool = False,
    engine: str | None = None,
    persist_to: Path | None = None,
    preview: bool = False,
) -> Engine:
    """The engine for this run; ``engine`` overrides the default choice."""
    if engine is not None and engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    name = engine or ("local" if not remote else _remote_default(settings))
    if name == "local" and remote:
        raise UsageError(
            "--engine local cannot reach --remote databases", hint="use --engine api or wrangler"
        )
    if name == "api" and not remote:
        # The API only reaches Cloudflare: never let a missing --remote write to production.
        raise UsageError("--engine api works on remote databases only: add --remote")
    if name == "local":
        return LocalEngine(settings.root, persist_to.resolve() if persist_to else None, preview)
    return _remote_engine(name, settings, remote, persist_to, preview)


def _remote_default(settings: Settings) -> str:
    token_env = str(settings.remote.get("api_token_env", "CLOUDFLARE_API_TOKEN"))
    return "api" if os.environ.get(token_env) else "wrangler"


def _remote_engine(
    name: str, settings: Settings, remote: bool, persist_to: Path | None, preview: bool
) -> Engine:
    """The D1 API (always remote), or wrangler (remote, or local with ``--engine wrangler``)."""
    if name == "api":
        from orchestrator.engines.api import ApiEngine  # lazily: httpx is slow to import

        return ApiEngine.from_settings(settings.remote)
    local_dir = persist_to.resolve() if persist_to else None
    from orchestrator.engines.wrangler import WranglerEngine

    return WranglerEngine.from_settings(
        settings, remote=remote, persist_to=local_dir, preview=preview
    )
