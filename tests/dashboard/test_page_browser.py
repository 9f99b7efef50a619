"""The status page in a real browser: headless Chromium from Debian's packages (`make
browser` installs it; without it these tests skip and say so).

At 1024 and 1440 px nothing may stick out to the right, and the database whose pending
migration loses data on D1 is the first card, painted in the danger colour: checked in
the computed style and in the screenshot's pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli.commands import app
from orchestrator.reporting.page import render_status_page
from tests.dashboard.boards import HOSTILE, sample_board
from tests.dashboard.browser import measure, read_png, screenshot

pytestmark = pytest.mark.slow

DANGER = (0xCF, 0x22, 0x2E)  # --danger in the light scheme
RANK = {"danger": 0, "warn": 1, "ready": 2, "ok": 3}


def near(colour: tuple[int, int, int], wanted: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(colour, wanted, strict=True))


def fixture_page(monorepo: Path) -> str:
    result = CliRunner().invoke(app, ["status", "--root", str(monorepo), "--format", "html"])
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_fits(found: dict[str, Any], width: int) -> None:
    assert found["innerWidth"] == width
    assert found["scrollWidth"] <= width, found["wide"]
    assert found["wide"] == []


@pytest.mark.parametrize("width", [1024, 1440])
def test_nothing_overflows_and_the_data_loss_card_is_first_and_red(
    monorepo: Path, tmp_path: Path, width: int
) -> None:
    page = fixture_page(monorepo)
    found = measure(page, tmp_path, width)
    assert_fits(found, width)
    cards = found["cards"]
    assert cards[0]["id"] == "db-templates-platform-db" and cards[0]["level"] == "danger"
    assert cards[0]["background"] == "rgb(207, 34, 46)"
    ranks = [RANK[c["level"]] for c in cards]
    assert ranks == sorted(ranks)
    assert [c["top"] for c in cards] == sorted(c["top"] for c in cards)

    first = cards[0]
    y = int(first["top"] + first["height"] / 2)
    image = read_png(screenshot(page, tmp_path, width), rows=y + 1)
    x = int(first["right"]) - 6  # the header band's right end: no text there
    assert near(image.pixel(x, y), DANGER), image.pixel(x, y)
    # and the page around it is not: the danger colour marks the card, not everything
    assert not near(image.pixel(2, y), DANGER)


def test_hostile_names_stay_text_in_the_browser(tmp_path: Path) -> None:
    found = measure(render_status_page(sample_board(first_name=HOSTILE)), tmp_path, 1024)
    assert found["pwned"] is None
    assert_fits(found, 1024)  # the 90-character database name wraps instead of overflowing


def test_a_narrow_page_does_not_overflow(tmp_path: Path) -> None:
    # 500 px is the narrowest window headless Chromium lays out; the phone layout
    # (max-width: 640px) is in force there.
    found = measure(render_status_page(sample_board()), tmp_path, 500)
    assert_fits(found, 500)
    assert found["cards"][0]["level"] == "danger"
