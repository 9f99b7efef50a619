"""`status --format html` without a browser: escaping, order, links, commands, times.
(tests/dashboard/test_page_browser.py looks at the same page in headless Chromium.)"""

from __future__ import annotations

import html.parser
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.commands import app
from orchestrator.discovery.gitinfo import GitInfo, read_git, web_url
from orchestrator.reporting.page import parse_utc, relative_time, render_status_page
from tests.dashboard.boards import HOSTILE, NOW, data_loss_row, sample_board

runner = CliRunner()


class Collector(html.parser.HTMLParser):
    """Tags, attributes and text of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Collector:
    collector = Collector()
    collector.feed(page)
    return collector


def articles(page: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in parse(page).tags if tag == "article"]


def test_user_text_is_escaped_everywhere() -> None:
    board = sample_board(first_name=HOSTILE)
    page = render_status_page(board)
    assert "<script>document" not in page
    assert (
        "&lt;script&gt;document.body.dataset.pwned=&#39;yes&#39;&lt;/script&gt;&#34;q&#39;&amp;amp;"
        in page
    )
    # The page's own script is the only one, and no attribute was broken open by a quote.
    assert [tag for tag, _ in parse(page).tags].count("script") == 1
    ids = [attrs["id"] for attrs in articles(page)]
    assert ids[0] is not None and '"' not in ids[0] and "<" not in ids[0]
    assert HOSTILE in "".join(parse(page).text)  # shown as the text it is


def test_the_data_loss_database_is_first_and_coloured_danger() -> None:
    page = render_status_page(sample_board())
    cards = articles(page)
    assert [c["data-level"] for c in cards] == ["danger", "warn", "ready", "ok"]
    assert cards[0]["class"] == "db danger" and cards[0]["data-urgency"] == "lint_errors"
    assert 'class="headline danger"' in page


def test_findings_link_to_the_file_at_the_commit_and_to_the_rule() -> None:
    page = render_status_page(sample_board())
    hrefs = [attrs.get("href") for tag, attrs in parse(page).tags if tag == "a"]
    assert (
        "https://github.com/acme/shop/blob/0123456789abcdef0123/"
        "packages/billing-db/migrations/0004_recreate.sql#L12"
    ) in hrefs
    assert "#rule-d002" in hrefs
    assert 'id="rule-d002"' in page and "docs/lint-rules.md#d002" in page
    assert "https://github.com/acme/shop/commit/0123456789abcdef0123" in hrefs


def test_without_a_hosting_site_files_link_to_the_local_copy(tmp_path: Path) -> None:
    board = sample_board()
    plain = board.__class__(**{**board.__dict__, "origin": None})
    page = render_status_page(plain, tmp_path)
    target = (tmp_path / "packages/billing-db/migrations/0004_recreate.sql").as_uri() + "#L12"
    assert f'href="{target}"' in page
    assert "not a git checkout" in page


def test_undo_and_next_commands_are_copyable_code_blocks() -> None:
    page = render_status_page(sample_board())
    assert "<pre><code>wrangler d1 time-travel restore users-db-with-a-rather-long-name-" in page
    assert (
        "--bookmark=00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683</code></pre>"
        in page
    )
    assert (
        "<pre><code>orchestrate check --db billing-db --remote --env production</code></pre>"
        in page
    )
    assert (
        "<pre><code>orchestrate apply --db orders-db --remote --env production</code></pre>" in page
    )


def test_header_says_when_for_which_account_env_and_commit() -> None:
    text = " ".join(" ".join(parse(render_status_page(sample_board())).text).split())
    assert "generated just now (2027-01-15 08:00:00 UTC)" in text
    assert "account acc-1234" in text and "environment production" in text
    assert "commit 0123456789ab" in text
    assert "3 h ago" in text  # last applied 05:00, generated 08:00
    assert "30 min ago" in text  # drift checked 07:30


def test_drift_detail_and_counters() -> None:
    page = render_status_page(sample_board())
    assert "column items.note: TEXT is in the target" in page
    assert "and 1 more" in page  # 2 differences, 1 kept in the record


def test_no_character_needs_an_emoji_font() -> None:
    page = render_status_page(sample_board())
    # Latin text and general punctuation (· — …) only: nothing from the symbol blocks.
    assert [c for c in page if ord(c) >= 0x2100] == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (10, "just now"),
        (120, "2 min ago"),
        (3 * 3600, "3 h ago"),
        (5 * 86400, "5 d ago"),
        (-600, "in 10 min"),
    ],
)
def test_relative_time(seconds: float, text: str) -> None:
    assert relative_time(NOW - seconds, NOW) == text


def test_parse_utc_reads_sqlite_and_iso_stamps() -> None:
    assert parse_utc("2027-01-15 08:00:00") == NOW
    assert parse_utc("2027-01-15T08:00:00Z") == NOW
    assert parse_utc("yesterday") is None and parse_utc(None) is None


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@github.com:acme/shop.git", "https://github.com/acme/shop"),
        (
            "https://x-access-token:ghp_SECRET@github.com/acme/shop.git",
            "https://github.com/acme/shop",
        ),
        ("ssh://git@gitlab.com/acme/group/shop", "https://gitlab.com/acme/group/shop"),
        ("https://git.internal.example/acme/shop.git", None),
        ("/srv/git/shop.git", None),
    ],
)
def test_web_url_never_keeps_credentials(remote: str, url: str | None) -> None:
    assert web_url(remote) == url


def test_gitlab_blob_links_use_its_path() -> None:
    info = GitInfo("abc", False, "https://gitlab.com/acme/shop", "apps/")
    assert info.blob_url("m/1.sql", 3) == "https://gitlab.com/acme/shop/-/blob/abc/apps/m/1.sql#L3"


def test_read_git_in_a_real_repository(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws/a.txt").write_text("a\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    git("remote", "add", "origin", "git@github.com:acme/shop.git")
    info = read_git(tmp_path / "ws")
    assert info.commit and len(info.commit) == 40 and not info.dirty
    assert (info.web_url, info.prefix) == ("https://github.com/acme/shop", "ws/")
    (tmp_path / "ws/a.txt").write_text("b\n")
    assert read_git(tmp_path / "ws").dirty
    assert read_git(tmp_path.parent / "no-such-dir-at-all") == GitInfo()


def test_template_ships_inside_the_package() -> None:
    folder = resources.files("orchestrator.reporting") / "templates"
    for name in ("base.html.j2", "macros.html.j2", "status.html.j2", "fleet.html.j2"):
        assert (folder / name).is_file(), name
    assert "<!doctype html>" in (folder / "base.html.j2").read_text()


def test_cli_page_puts_the_pending_data_loss_first(monorepo: Path) -> None:
    result = runner.invoke(app, ["status", "--root", str(monorepo), "--format", "html"])
    assert result.exit_code == 0
    cards = articles(result.stdout)
    assert cards[0]["id"] == "db-templates-platform-db" and cards[0]["data-level"] == "danger"
    assert "D002" in result.stdout and "0009_fix_tier_constraint.sql:41" in result.stdout


def test_a_single_row_page_renders() -> None:
    board = sample_board()
    one = board.__class__(**{**board.__dict__, "databases": (data_loss_row(),), "problems": ()})
    page = render_status_page(one)
    assert len(articles(page)) == 1 and 'id="workspace"' not in page
