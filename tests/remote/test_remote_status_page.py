"""`status --remote --format html` against the D1 API stand-in (tests/d1_api_server.py,
not Cloudflare): the page names the account, and offers the Time Travel undo of the last
release as a command to copy; the API token appears nowhere."""

from __future__ import annotations

import html
from pathlib import Path

from orchestrator.dashboard import Urgency
from orchestrator.reporting.page import LABEL
from tests.apply.helpers import cli
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT, TOKEN, serve_tree, small_tree


def test_remote_page_names_the_account_and_offers_the_undo(
    remote_env: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono", databases=2)
    serve_tree(remote_env, 2)
    code, _, err = cli("apply", "--db", "db0", "--remote", "--root", str(root))
    assert code == 0, err
    code, page, err = cli("status", "--remote", "--format", "html", "--root", str(root))
    assert code == 0, err
    text = html.unescape(page)
    assert f"account <b>{ACCOUNT}</b>" in text
    assert "<pre><code>wrangler d1 time-travel restore db0 --bookmark=" in text
    assert "<pre><code>orchestrate apply --db db1 --remote</code></pre>" in text
    assert LABEL[Urgency.PENDING] in text
    assert TOKEN not in page and TOKEN not in err
