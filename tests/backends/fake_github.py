"""A local fake of the GitHub REST API endpoints deploybot uses, on pytest-httpserver.

It answers what PyGithub asks for tags: GET /repos/{repo}/git/ref/tags/{tag} (one ref) and
GET /repos/{repo}/tags (the list, newest first), with the JSON shapes PyGithub reads (and
`url` fields pointing at the fake). Every request is recorded by the httpserver (`log`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "ghp_testtoken"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class FakeGitHub:
    def __init__(self, server: HTTPServer, repos: dict[str, Sequence[str]],
                 *, token: str = TOKEN) -> None:
        self.server = server
        self.repos = {name: list(tags) for name, tags in repos.items()}  # newest first
        self.token = token
        self.status: int | None = None  # answer every request with this status instead
        self.headers: dict[str, str] = {}
        server.expect_request(re.compile(r"^/repos/.*")).respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def calls(self) -> list[str]:
        return [req.path for req, _ in self.server.log]

    def _json(self, data: object, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json",
                        headers=self.headers)

    def _handle(self, request: Request) -> Response:
        if self.status is not None:
            return self._json({"message": "fake failure"}, self.status)
        if request.headers.get("Authorization") != f"token {self.token}":
            return self._json({"message": "Bad credentials"}, 401)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", request.path)
        if m is None or m[1] not in self.repos:
            return self._json({"message": "Not Found"}, 404)
        repo, rest = m[1], m[2]
        base = f"{self.url}/repos/{repo}"
        tags = self.repos[repo]
        if rest.startswith("/git/ref/tags/"):
            tag = rest.removeprefix("/git/ref/tags/")
            if tag not in tags:
                return self._json({"message": "Not Found"}, 404)
            sha = _sha(tag)
            return self._json({
                "ref": f"refs/tags/{tag}", "node_id": f"REF_{tag}",
                "url": f"{base}/git/refs/tags/{tag}",
                "object": {"sha": sha, "type": "commit", "url": f"{base}/git/commits/{sha}"},
            })
        if rest == "/tags":
            return self._json([
                {"name": t, "node_id": f"TAG_{t}",
                 "commit": {"sha": _sha(t), "url": f"{base}/commits/{_sha(t)}"},
                 "zipball_url": f"{base}/zipball/{t}", "tarball_url": f"{base}/tarball/{t}"}
                for t in tags[:100]])
        return self._json({"message": "Not Found"}, 404)
