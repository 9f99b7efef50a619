"""Waits are validated: ``--lock-timeout`` and ``lock_timeout`` are finite and ≥ 0
(NaN and inf waited forever before issue 14)."""

from __future__ import annotations

import pytest

from tests.apply.helpers import cli
from tests.conftest import TreeWriter, toml_binding


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_lock_timeout_flag_must_be_finite_and_not_negative(tree: TreeWriter, value: str) -> None:
    root = tree({"p/wrangler.toml": toml_binding("p-db", "i")})
    code, out, err = cli("apply", "--all", "--lock-timeout", value, "--root", str(root))
    assert code == 2, out + err
    assert "--lock-timeout must be a finite number of seconds, at least 0" in out + err


@pytest.mark.parametrize("value", ["nan", "inf", "-0.5"])
def test_a_lock_timeout_setting_must_be_finite_and_not_negative(
    tree: TreeWriter, value: str
) -> None:
    root = tree(
        {
            "workspace.toml": f"lock_timeout = {value}\n",
            "p/wrangler.toml": toml_binding("p-db", "i"),
        }
    )
    code, out, err = cli("apply", "--all", "--root", str(root))
    assert code == 2, out + err
    assert "workspace.toml: lock_timeout must be a finite number of seconds" in out + err
