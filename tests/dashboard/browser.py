"""Headless Chromium (Debian's `chromium` package, installed by `make browser`) for the
dashboard page, and a small PNG reader for its screenshots."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 60

# Written into the page under test: after layout, it records what the test asserts on
# into a <pre id="measure"> element that --dump-dom prints.
MEASURE = """<script>
window.addEventListener("load", function () {
  var width = window.innerWidth, wide = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5 && !el.closest("pre")) {
      wide.push(el.tagName.toLowerCase() + "." + el.className + " right=" + Math.round(box.right));
    }
  });
  var cards = Array.prototype.map.call(document.querySelectorAll("article.db"), function (el) {
    var head = el.querySelector("header").getBoundingClientRect();
    return {id: el.id, level: el.dataset.level, top: head.top + window.scrollY,
            left: head.left, right: head.right, height: head.height,
            background: getComputedStyle(el.querySelector("header")).backgroundColor};
  });
  var members = Array.prototype.map.call(document.querySelectorAll("li.member[data-level]"), function (el) {
    var box = el.getBoundingClientRect(), badge = el.querySelector(".state");
    return {level: el.dataset.level, top: box.top + window.scrollY, left: box.left,
            height: box.height, badge: getComputedStyle(badge).backgroundColor,
            edge: getComputedStyle(el).boxShadow};
  });
  var counters = Array.prototype.map.call(document.querySelectorAll(".counters li"), function (el) {
    return {label: el.querySelector(".k").textContent, on: el.classList.contains("on"),
            colour: getComputedStyle(el.querySelector(".n")).color};
  });
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({
    innerWidth: width, scrollWidth: document.documentElement.scrollWidth,
    wide: wide.slice(0, 10), cards: cards, members: members, counters: counters,
    pwned: document.body.dataset.pwned || null
  });
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    """The chromium executable, or skip saying how to get it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "chromium is not installed: `make browser` installs Debian's package "
            "(needs apt-get as root); the page's browser tests need it"
        )
    return found


def _run(page: Path, width: int, height: int, *mode: str) -> subprocess.CompletedProcess[str]:
    profile = page.parent / f"profile-{width}-{mode[0].lstrip('-').split('=')[0]}"
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # the tests run as root in CI
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        *mode,
        page.as_uri(),
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, "HOME": str(page.parent)},
    )


def measure(page_html: str, folder: Path, width: int, height: int = 2000) -> dict[str, object]:
    """Lay the page out at ``width`` and return what MEASURE recorded."""
    page = folder / f"measure-{width}.html"
    page.write_text(page_html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = _run(page, width, height, "--dump-dom", "--virtual-time-budget=3000")
    found = re.search(r'<pre id="measure">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium printed no measurement (exit {done.returncode}): {done.stderr[-2000:]}"
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    result: dict[str, object] = json.loads(text.replace("&amp;", "&"))
    return result


def screenshot(page_html: str, folder: Path, width: int, height: int = 2000) -> Path:
    """A PNG of the page's first ``height`` pixels at ``width``."""
    page = folder / f"shot-{width}.html"
    page.write_text(page_html, encoding="utf-8")
    png = folder / f"shot-{width}.png"
    done = _run(page, width, height, f"--screenshot={png}")
    assert png.exists(), (
        f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    )
    return png


@dataclass(frozen=True)
class Image:
    """Decoded 8-bit RGB or RGBA pixels."""

    width: int
    height: int
    channels: int
    rows: tuple[bytes, ...]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        start = x * self.channels
        red, green, blue = self.rows[y][start : start + 3]
        return red, green, blue


def read_png(path: Path, rows: int | None = None) -> Image:
    """Decode a non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes): its first ``rows``."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, bytearray(), b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    height = min(height, rows) if rows is not None else height
    pixels = _unfilter(zlib.decompress(bytes(idat)), width * channels, height, channels)
    return Image(width, height, channels, pixels)


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> tuple[bytes, ...]:
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 2:  # the common case, done a row at a time
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
            kind = 0
        for i in range(stride if kind else 0):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return tuple(rows)


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    estimate = left + up - corner
    near_left, near_up, near_corner = (
        abs(estimate - left),
        abs(estimate - up),
        abs(estimate - corner),
    )
    if near_left <= near_up and near_left <= near_corner:
        return left
    return up if near_up <= near_corner else corner
