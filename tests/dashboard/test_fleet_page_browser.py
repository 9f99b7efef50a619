"""The fleet page in a real browser: headless Chromium from Debian's packages (`make
browser` installs it; without it these tests skip and say so).

At 1024 and 1440 px, with 2,000 members, nothing sticks out to the right, and the failed
members come first, marked in the danger colour (their badges and the failed counter),
more prominent than the drifted: checked in the computed style and in the pixels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.browser import measure, read_png, screenshot
from tests.dashboard.fleets import HOSTILE_MEMBER, fleet_page
from tests.dashboard.test_page_browser import DANGER, assert_fits, near

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("width", [1024, 1440])
def test_nothing_overflows_and_failed_members_are_first_and_red(tmp_path: Path, width: int) -> None:
    page = fleet_page(first_failed=HOSTILE_MEMBER, failed=3, drifted=4)
    found = measure(page, tmp_path, width)
    assert_fits(found, width)
    assert found["pwned"] is None
    rows = found["members"]
    assert [r["level"] for r in rows] == ["danger"] * 3 + ["warn"] * 4
    assert [r["top"] for r in rows] == sorted(r["top"] for r in rows)
    assert {r["badge"] for r in rows[:3]} == {"rgb(207, 34, 46)"}
    assert "rgb(207, 34, 46)" not in {r["badge"] for r in rows[3:]}
    failed = next(c for c in found["counters"] if c["label"] == "failed")
    assert failed["on"] and failed["colour"] == "rgb(207, 34, 46)"

    first = rows[0]
    y = int(first["top"] + first["height"] / 2)
    image = read_png(screenshot(page, tmp_path, width, height=y + 40), rows=y + 1)
    x = int(first["left"]) + 3  # the row's danger edge
    assert near(image.pixel(x, y), DANGER), image.pixel(x, y)
    drifted = rows[3]
    y2 = int(drifted["top"] + drifted["height"] / 2)
    image = read_png(screenshot(page, tmp_path, width, height=y2 + 40), rows=y2 + 1)
    assert not near(image.pixel(int(drifted["left"]) + 3, y2), DANGER)


def test_a_narrow_fleet_page_does_not_overflow(tmp_path: Path) -> None:
    assert_fits(measure(fleet_page(first_failed=HOSTILE_MEMBER), tmp_path, 500), 500)
