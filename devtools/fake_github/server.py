"""A local fake of the GitHub REST API endpoints deploybot uses, on pytest-httpserver.

It answers what PyGithub asks for tags: GET /repos/{repo}/git/ref/tags/{tag} (one ref) and
GET /repos/{repo}/tags (the list, newest first), with the JSON shapes PyGithub reads (and
`url` fields pointing at the fake; a tag's commit is `sha_of(tag)`, unless `tag(repo, name,
sha)` put it at a commit of its own, as `git tag v1.2.3 <sha>` does); and the Deployments
API: POST /repos/{repo}/deployments and POST /repos/{repo}/deployments/{id}/statuses (kept in
`deployments` and `statuses`).
Every request is recorded by the httpserver (`log`).

Other areas of the API (checks, pull requests, Actions, …) add their endpoints with
`route(method, pattern, handler)` from modules of their own (devtools/fake_github/*.py):
`pattern` is matched against the path after `/repos/{owner}/{name}` (or the whole path with
`repo_scoped=False`); the handler gets a `Hit` and answers with `fake.json(...)`.

Conditional requests, as GitHub's REST API makes them ("Best practices for using the REST
API", Use conditional requests): every GET answered 200 carries an `ETag` (weak, a hash of
the body); a GET whose `If-None-Match` names the ETag of what it would answer now gets
`304 Not Modified` with no body. `answered()` lists the statuses (304s are the ones that do
not count against GitHub's rate limit)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "ghp_testtoken"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def sha_of(text: str) -> str:
    """The commit sha the fake gives a tag (or any name) that has none set explicitly."""
    return _sha(text)


@dataclass(frozen=True)
class Hit:
    """One request that matched a route: the request, the regex match, the repository
    ("owner/name", or "" for a route outside /repos) and its API URL (for `url` fields)."""

    request: Request
    match: re.Match[str]
    repo: str
    base: str

    def body(self) -> Any:
        return json.loads(self.request.get_data(as_text=True) or "{}")


Handler = Callable[[Hit], Response]


class FakeGitHub:
    def __init__(self, server: HTTPServer, repos: dict[str, Sequence[str]],
                 *, token: str = TOKEN) -> None:
        self.server = server
        self.repos = {name: list(tags) for name, tags in repos.items()}  # newest first
        self.token = token
        self.status: int | None = None  # answer every request with this status instead
        self.headers: dict[str, str] = {}
        self.deployments_status: int | None = None  # the Deployments API only answers this
        self.deployments: list[dict[str, Any]] = []  # request bodies; id = index + 1
        self.statuses: list[tuple[int, dict[str, Any]]] = []  # (deployment id, body)
        self._routes: list[tuple[str, re.Pattern[str], bool, Handler]] = []
        self._tag_commits: dict[tuple[str, str], str] = {}  # (repo, tag) -> commit sha
        server.expect_request(re.compile(r"^/.*")).respond_with_handler(self._handle)

    def route(self, method: str, pattern: str, handler: Handler, *,
              repo_scoped: bool = True) -> None:
        """Answer `method` requests whose path (after /repos/{repo}, unless not
        `repo_scoped`) matches `pattern` in full with `handler`. Later routes win."""
        self._routes.insert(0, (method.upper(), re.compile(pattern), repo_scoped, handler))

    def tag(self, repo: str, name: str, sha: str) -> None:
        """A (lightweight) tag `name` of `repo` at commit `sha`, the newest tag."""
        self.repos[repo].insert(0, name)
        self._tag_commits[(repo, name)] = sha

    def commit_of(self, repo: str, tag: str) -> str:
        """The commit `tag` points at: the one `tag` set, else `sha_of(tag)`."""
        return self._tag_commits.get((repo, tag)) or _sha(tag)

    def accepts(self, request: Request) -> bool:
        """Whether the request's credentials are good: `token {self.token}`. Another way to
        authenticate (a GitHub App) replaces this on the instance."""
        return request.headers.get("Authorization") == f"token {self.token}"

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def calls(self) -> list[str]:
        return [req.path for req, _ in self.server.log]

    def reads(self) -> list[str]:
        """The paths of the GET requests (tags), without the Deployments API's POSTs."""
        return [req.path for req, _ in self.server.log if req.method == "GET"]

    def answered(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request so far."""
        return [(req.method, req.path, resp.status_code) for req, resp in self.server.log]

    def counted(self) -> int:
        """Requests that count against the rate limit: all but the 304s."""
        return sum(1 for _, resp in self.server.log if resp.status_code != 304)

    def json(self, data: object, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json",
                        headers=self.headers)

    def _handle(self, request: Request) -> Response:
        response = self._answer(request)
        if request.method != "GET" or response.status_code != 200:
            return response
        etag = f'W/"{hashlib.sha1(response.get_data()).hexdigest()}"'
        response.headers["ETag"] = etag
        asked = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
        if etag in asked:
            return Response(status=304, headers={**self.headers, "ETag": etag})
        return response

    def _answer(self, request: Request) -> Response:
        if self.status is not None:
            return self.json({"message": "fake failure"}, self.status)
        if not self.accepts(request):
            return self.json({"message": "Bad credentials"}, 401)
        for method, pattern, scoped, handler in self._routes:
            if scoped or method != request.method:
                continue
            found = pattern.fullmatch(request.path)
            if found is not None:
                return handler(Hit(request, found, "", self.url))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", request.path)
        if m is None or m[1] not in self.repos:
            return self.json({"message": "Not Found"}, 404)
        repo, rest = m[1], m[2]
        base = f"{self.url}/repos/{repo}"
        for method, pattern, scoped, handler in self._routes:
            if not scoped or method != request.method:
                continue
            found = pattern.fullmatch(rest)
            if found is not None:
                return handler(Hit(request, found, repo, base))
        if rest.startswith("/deployments"):
            return self._deployments(request, base, rest)
        tags = self.repos[repo]
        if rest.startswith("/git/ref/tags/"):
            tag = rest.removeprefix("/git/ref/tags/")
            if tag not in tags:
                return self.json({"message": "Not Found"}, 404)
            sha = self.commit_of(repo, tag)
            return self.json({
                "ref": f"refs/tags/{tag}", "node_id": f"REF_{tag}",
                "url": f"{base}/git/refs/tags/{tag}",
                "object": {"sha": sha, "type": "commit", "url": f"{base}/git/commits/{sha}"},
            })
        if rest == "/releases":  # none (devtools/fake_github/repo.py serves some)
            return self.json([])
        if rest == "/tags":
            return self.json([
                {"name": t, "node_id": f"TAG_{t}",
                 "commit": {"sha": self.commit_of(repo, t),
                            "url": f"{base}/commits/{self.commit_of(repo, t)}"},
                 "zipball_url": f"{base}/zipball/{t}", "tarball_url": f"{base}/tarball/{t}"}
                for t in tags[:100]])
        return self.json({"message": "Not Found"}, 404)

    def _deployments(self, request: Request, base: str, rest: str) -> Response:
        if self.deployments_status is not None:
            return self.json({"message": "fake failure"}, self.deployments_status)
        if request.method != "POST":
            return self.json({"message": "Not Found"}, 404)
        body = json.loads(request.get_data(as_text=True) or "{}")
        if rest == "/deployments":
            self.deployments.append(body)
            number = len(self.deployments)
            return self.json({
                "id": number, "node_id": f"DE_{number}", "url": f"{base}/deployments/{number}",
                "sha": _sha(str(body.get("ref"))), "ref": body.get("ref"),
                "task": body.get("task", "deploy"), "payload": body.get("payload", {}),
                "environment": body.get("environment"), "description": body.get("description"),
                "statuses_url": f"{base}/deployments/{number}/statuses",
                "repository_url": base,
                "created_at": "2026-11-26T00:00:00Z", "updated_at": "2026-11-26T00:00:00Z",
            }, 201)
        m = re.fullmatch(r"/deployments/(\d+)/statuses", rest)
        if m is None or not 1 <= int(m[1]) <= len(self.deployments):
            return self.json({"message": "Not Found"}, 404)
        self.statuses.append((int(m[1]), body))
        return self.json({"id": len(self.statuses), "state": body.get("state"),
                           "url": f"{base}/deployments/{m[1]}/statuses/{len(self.statuses)}",
                           "log_url": body.get("log_url", "")}, 201)
