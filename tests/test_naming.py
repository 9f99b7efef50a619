"""Migration file names."""

from __future__ import annotations

import pytest

from orchestrator.discovery.naming import canonical_of, is_snake_case, parse_name


@pytest.mark.parametrize(
    ("filename", "number", "digits", "sep", "canonical"),
    [
        ("009_user_plugins.sql", 9, 3, "_", "0009_user_plugins"),
        ("0009_user_plugins.sql", 9, 4, "_", "0009_user_plugins"),
        ("1_schema.sql", 1, 1, "_", "0001_schema"),
        ("00012-add-x.sql", 12, 5, "-", "0012_add-x"),
        ("12345_big.sql", 12345, 5, "_", "12345_big"),
    ],
)
def test_parse_name(filename: str, number: int, digits: int, sep: str, canonical: str) -> None:
    parsed = parse_name(filename)
    assert parsed is not None
    assert (parsed.number, parsed.digits, parsed.separator, parsed.canonical) == (
        number,
        digits,
        sep,
        canonical,
    )


@pytest.mark.parametrize("filename", ["add_users.sql", "migration_v3.sql", "0001.sql", "README.md"])
def test_names_without_a_number(filename: str) -> None:
    assert parse_name(filename) is None


def test_canonical_identity_matches_across_digit_counts() -> None:
    assert canonical_of("009_x.sql") == canonical_of("0009_x.sql") == canonical_of("0009_x")
    assert canonical_of("sub/0009_x.sql") == "0009_x"


@pytest.mark.parametrize(
    ("text", "ok"), [("add_users", True), ("AddUsers", False), ("add-users", False)]
)
def test_snake_case(text: str, ok: bool) -> None:
    assert is_snake_case(text) is ok
