"""The rule registry: which functions implement which checks, and what they need
from the shadow replay (snapshots before some statements, or after a migration)."""

from __future__ import annotations

from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.rules import (
    d1,
    dataloss,
    design,
    destructive,
    header,
    idempotency,
    limits,
    naming,
    recreation,
)
from orchestrator.checks.rules.base import Context, DatabaseContext, DatabaseRule, MigrationRule

MIGRATION_RULES: tuple[MigrationRule, ...] = (
    naming.check_prefix,
    naming.check_snake_case,
    idempotency.check_create_guard,
    idempotency.check_drop_guard,
    idempotency.check_seed_insert,
    idempotency.check_alter_column,
    idempotency.check_second_run,
    header.check_header_fields,
    header.check_verification_query,
    design.check_single_purpose,
    design.check_timestamps,
    recreation.check_lost_objects,
    recreation.check_select_star,
    d1.check_foreign_keys_pragma,
    d1.check_cascade_loss,
    d1.check_transaction_statements,
    d1.check_forbidden_statements,
    d1.check_reserved_names,
    d1.check_statement_size,
    d1.check_temp_objects,
    d1.check_glued_comments,
    destructive.check_drops,
    destructive.check_drop_copied_column,
    limits.check_add_not_null,
    limits.check_add_unique,
    limits.check_unsupported,
    limits.check_shadow_failures,
    dataloss.check_data_loss,
)

DATABASE_RULES: tuple[DatabaseRule, ...] = (
    naming.check_duplicate_numbers,
    design.check_foreign_key_indexes,
)


def needs_second_run(parsed: ParsedMigration) -> bool:
    """Migrations the shadow runs a second time (the others' outcome I003 already states)."""
    return idempotency.needs_second_run(parsed)


def watch(parsed: ParsedMigration, index: int) -> bool:
    """Statements the rules need a shadow snapshot before: DROP TABLE and INSERT … SELECT *."""
    shape = parsed.shapes[index]
    return shape.is_drop() or (shape.verb == "INSERT" and shape.select_star)


def wants_after(parsed: ParsedMigration) -> bool:
    """Migrations the rules need a snapshot after: those that recreate a table."""
    return bool(parsed.recreations)


__all__ = [
    "DATABASE_RULES",
    "MIGRATION_RULES",
    "Context",
    "DatabaseContext",
    "needs_second_run",
    "wants_after",
    "watch",
]
