"""Schema tools built on the shadow replay: ``verify`` (drift), ``revert``,
``types``, ``seed`` and the D1-safe ``recreate``.

Each module is a library function first; ``orchestrator.cli.schema`` holds the
thin commands.
"""
