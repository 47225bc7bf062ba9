"""GET /repos/{owner}/{name} on a FakeGitHub: the repository itself, as `deploybot doctor`
asks for it (visible to the token or 404), with the fields PyGithub reads."""

from __future__ import annotations

from werkzeug import Response

from devtools.fake_github.server import FakeGitHub, Hit


def add_repository_routes(fake: FakeGitHub) -> None:
    def repository(hit: Hit) -> Response:
        full_name = f"{hit.match[1]}/{hit.match[2]}"
        if full_name not in fake.repos:
            return fake.json({"message": "Not Found"}, 404)
        url = f"{hit.base}/repos/{full_name}"
        return fake.json({
            "id": abs(hash(full_name)) % 10**6, "node_id": f"R_{full_name}",
            "name": hit.match[2], "full_name": full_name, "private": True,
            "owner": {"login": hit.match[1], "id": 1, "type": "Organization",
                      "url": f"{hit.base}/users/{hit.match[1]}"},
            "url": url, "html_url": f"https://github.example/{full_name}",
            "default_branch": "main",
            "permissions": {"admin": False, "push": True, "pull": True},
        })

    fake.route("GET", r"/repos/([^/]+)/([^/]+)", repository, repo_scoped=False)
