"""Lifecycle: the commands that bring a monorepo under orchestrate and keep it tidy.

- ``workspace_file``/``npm``: ``init`` writes ``workspace.toml`` and npm scripts;
- ``new``: the next migration file, with the strategy document's header;
- ``normalize``: 4-digit names, ledgers kept in step;
- ``baseline``/``adopt``: record what was applied by hand, without running it;
- ``repair``: accept a changed checksum, keeping the old one in the history.

Each module is a library; ``orchestrator.cli.lifecycle`` holds the thin commands.
"""
