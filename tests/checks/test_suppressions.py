"""Inline suppressions: ``-- orchestrate: ignore[RULE] reason``."""

from __future__ import annotations

from tests.checks.helpers import codes, header_lines, run_rules

T = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT);"
ALTER = "ALTER TABLE t ADD COLUMN c TEXT;"


def test_a_comment_above_a_statement_silences_it() -> None:
    found = run_rules([T, f"-- orchestrate: ignore[I004] guarded by the ledger\n{ALTER}"])
    assert codes(found) == set()


def test_a_trailing_comment_silences_its_statement() -> None:
    found = run_rules([T, f"{ALTER} -- orchestrate: ignore[I004] guarded by the ledger"])
    assert codes(found) == set()


def test_a_suppression_covers_only_the_next_statement() -> None:
    body = f"-- orchestrate: ignore[I004] first only\n{ALTER}\nALTER TABLE t ADD COLUMN d TEXT;"
    found = run_rules([T, body])
    assert [(f.rule, f.line) for f in found] == [("I004", header_lines() + 3)]


def test_a_multi_line_statement_is_covered_whole() -> None:
    body = "-- orchestrate: ignore[I003] seed guarded elsewhere\nINSERT INTO t (id, name)\nVALUES (1, 'a');"
    assert "I003" not in codes(run_rules([T, body], measure=False))


def test_ignore_file_covers_every_line() -> None:
    body = f"-- orchestrate: ignore-file[I004] all guarded by the ledger\nSELECT 1;\n{ALTER}"
    assert codes(run_rules([T, body])) == set()


def test_slugs_families_and_several_codes_are_accepted() -> None:
    body = f"-- orchestrate: ignore[idempotency/alter-column, destructive] both on purpose\n{ALTER}"
    assert codes(run_rules([T, body])) == set()
    family = f"-- orchestrate: ignore[idempotency] on purpose\n{ALTER}"
    assert codes(run_rules([T, family])) == set()


def test_no_reason_still_suppresses_but_warns() -> None:
    found = run_rules([T, f"-- orchestrate: ignore[I004]\n{ALTER}"])
    assert codes(found) == {"Q001"}


def test_unknown_rule_is_reported() -> None:
    found = run_rules([T, f"-- orchestrate: ignore[I999] typo\n{ALTER}"])
    assert codes(found) == {"Q002", "I004"}


def test_the_marker_inside_a_string_does_nothing() -> None:
    body = f"{ALTER}\nINSERT OR IGNORE INTO t (id, name) VALUES (1, '-- orchestrate: ignore[I004] no');"
    assert "I004" in codes(run_rules([T, body]))


def test_check_reports_unused_suppressions_and_lint_does_not() -> None:
    body = (
        "-- orchestrate: ignore[X001] nothing to silence\nCREATE INDEX IF NOT EXISTS i ON t(name);"
    )
    assert codes(run_rules([T, body], measure=True)) == {"Q003"}
    assert codes(run_rules([T, body], measure=False)) == set()


def test_the_static_and_measured_finding_share_one_suppression() -> None:
    # The second run also reports I004 at the ALTER line; one comment covers both.
    found = run_rules([T, f"-- orchestrate: ignore[I004] ledger-guarded\n{ALTER}"], measure=True)
    assert codes(found) == set()


def test_a_suppression_of_a_rule_switched_off_is_not_unused() -> None:
    from orchestrator.checks.config import parse_lint_config

    body = (
        "-- orchestrate: ignore[X001] dropped on purpose\nCREATE INDEX IF NOT EXISTS i ON t(name);"
    )
    off = parse_lint_config({"ignore": ["X001"]})
    assert codes(run_rules([T, body], measure=True, config=off)) == set()
