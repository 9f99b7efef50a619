"""The stand-in for GitHub's REST API (tests/github_api_server.py) answers as GitHub does
for the calls the sticky comment makes: it is not GitHub, and this checks the stand-in."""

from __future__ import annotations

import httpx

from tests.github_api_server import github_api

AUTH = {"Authorization": "Bearer t0ken"}
LIST = "/repos/acme/shop/issues/7/comments"


def test_create_list_by_page_and_update() -> None:
    with github_api("t0ken") as gh, httpx.Client(base_url=gh.url, headers=AUTH) as client:
        made = [client.post(LIST, json={"body": f"c{i}"}) for i in range(3)]
        assert [r.status_code for r in made] == [201, 201, 201]
        page = client.get(LIST, params={"per_page": 2, "page": 2})
        assert page.status_code == 200 and [c["body"] for c in page.json()] == ["c2"]
        first = made[0].json()["id"]
        done = client.patch(f"/repos/acme/shop/issues/comments/{first}", json={"body": "new"})
        assert done.status_code == 200 and done.json() == {"id": first, "body": "new"}
        assert [c["body"] for c in gh.all_comments()] == ["new", "c1", "c2"]
        assert gh.requests[-1] == ("PATCH", f"/repos/acme/shop/issues/comments/{first}")


def test_bad_token_unknown_path_and_unknown_comment() -> None:
    with github_api("t0ken") as gh, httpx.Client(base_url=gh.url, headers=AUTH) as client:
        denied = httpx.get(gh.url + "/repos/acme/shop/issues/comments/1", headers={})
        assert denied.status_code == 401 and denied.json() == {"message": "Bad credentials"}
        assert client.get("/repos/acme/shop/pulls").status_code == 404
        assert client.patch(LIST, json={"body": "x"}).status_code == 404  # PATCH is per comment
        missing = client.patch("/repos/acme/shop/issues/comments/999", json={"body": "x"})
        assert missing.status_code == 404 and gh.all_comments() == []
