"""More of the fake GitHub API (devtools/fake_github/server.py), registered with `route(...)`:
branches and pull requests (polling), releases, and GitHub App installation tokens.

`RepoState(fake)` serves, for every repository of the fake:
- GET /repos/{r}/branches/{b}: the branch's head commit (`set_branch`), 404 "Branch not found";
- GET /repos/{r}/pulls?state=open: the open pull requests (`open_pull`, `close_pull`);
- GET /repos/{r}/releases/tags/{tag} and GET /repos/{r}/releases: the releases (`release`).
`rate_limit(reset_at)` answers every request with 403 and the rate-limit headers GitHub sends.

`AppTokens(fake, app_id, public_key, installation_id)` serves
POST /app/installations/{id}/access_tokens: it checks the JWT (RS256, signed with the App's
private key, `iss` the App id) and hands out a new installation token each time (`ghs_1`,
`ghs_2`, ...) that expires after `lifetime`; every other request must carry the newest one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from werkzeug import Request, Response

from devtools.fake_github.server import FakeGitHub, Hit


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Pull:
    number: int
    branch: str
    sha: str


@dataclass
class Release:
    tag: str
    name: str
    id: int


@dataclass
class RepoState:
    fake: FakeGitHub
    branches: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, branch) -> sha
    pulls: dict[tuple[str, int], Pull] = field(default_factory=dict)
    releases: dict[str, list[Release]] = field(default_factory=dict)  # repo -> newest first

    def __post_init__(self) -> None:
        self.fake.route("GET", r"/branches/(?P<branch>.+)", self._branch)
        self.fake.route("GET", r"/pulls", self._pulls)
        self.fake.route("GET", r"/releases/tags/(?P<tag>.+)", self._release_by_tag)
        self.fake.route("GET", r"/releases", self._releases)

    # -- set up -------------------------------------------------------------------------
    def set_branch(self, repo: str, branch: str, sha: str) -> None:
        self.branches[(repo, branch)] = sha

    def open_pull(self, repo: str, number: int, branch: str, sha: str) -> None:
        self.pulls[(repo, number)] = Pull(number, branch, sha)

    def close_pull(self, repo: str, number: int) -> None:
        self.pulls.pop((repo, number), None)

    def release(self, repo: str, tag: str, name: str) -> None:
        listed = self.releases.setdefault(repo, [])
        listed.insert(0, Release(tag, name, len(listed) + 1))

    def rate_limit(self, reset_at: datetime) -> None:
        """Every request from now on: 403 with the rate limit used up until `reset_at`."""
        self.fake.status = 403
        self.fake.headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(int(reset_at.timestamp()))}

    def lift_rate_limit(self) -> None:
        self.fake.status = None
        self.fake.headers = {}

    # -- answers ------------------------------------------------------------------------
    def _branch(self, hit: Hit) -> Response:
        name = hit.match["branch"]
        sha = self.branches.get((hit.repo, name))
        if sha is None:
            return self.fake.json({"message": "Branch not found",
                                   "documentation_url": "https://docs.github.com/rest"}, 404)
        return self.fake.json({
            "name": name, "protected": False,
            "commit": {"sha": sha, "node_id": f"C_{sha}", "url": f"{hit.base}/commits/{sha}"},
            "_links": {"self": f"{hit.base}/branches/{name}"},
        })

    def _pulls(self, hit: Hit) -> Response:
        state = hit.request.args.get("state", "open")
        assert state == "open", state
        out: list[dict[str, Any]] = []
        for (repo, number), p in sorted(self.pulls.items(), key=lambda kv: -kv[0][1]):
            if repo != hit.repo:
                continue
            out.append({
                "id": 1000 + number, "number": number, "state": "open",
                "url": f"{hit.base}/pulls/{number}", "title": f"PR {number}",
                "head": {"ref": p.branch, "sha": p.sha, "label": f"acme:{p.branch}"},
                "base": {"ref": "main", "sha": "0" * 40, "label": "acme:main"},
            })
        return self.fake.json(out)

    def _release_json(self, hit: Hit, r: Release) -> dict[str, Any]:
        return {"id": r.id, "tag_name": r.tag, "name": r.name, "draft": False,
                "prerelease": False, "url": f"{hit.base}/releases/{r.id}",
                "html_url": f"https://github.example/{hit.repo}/releases/tag/{r.tag}"}

    def _release_by_tag(self, hit: Hit) -> Response:
        for r in self.releases.get(hit.repo, []):
            if r.tag == hit.match["tag"]:
                return self.fake.json(self._release_json(hit, r))
        return self.fake.json({"message": "Not Found"}, 404)

    def _releases(self, hit: Hit) -> Response:
        return self.fake.json([self._release_json(hit, r)
                               for r in self.releases.get(hit.repo, [])])


@dataclass
class AppTokens:
    fake: FakeGitHub
    app_id: int
    public_key: str  # PEM
    installation_id: int
    lifetime: timedelta = timedelta(hours=1)
    issued: list[str] = field(default_factory=list)  # the installation tokens handed out
    jwt_issuers: list[str] = field(default_factory=list)  # `iss` of each JWT accepted

    def __post_init__(self) -> None:
        self.fake.route("POST", r"/app/installations/(?P<id>\d+)/access_tokens", self._token,
                        repo_scoped=False)
        self.fake.accepts = self._accepts  # type: ignore[method-assign]

    def _jwt_ok(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), self.public_key,
                                algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        if str(claims.get("iss")) != str(self.app_id):
            return False
        self.jwt_issuers.append(str(claims["iss"]))
        return True

    def _accepts(self, request: Request) -> bool:
        if request.path.startswith("/app/"):
            return self._jwt_ok(request)
        return bool(self.issued) and (
            request.headers.get("Authorization") == f"token {self.issued[-1]}")

    def _token(self, hit: Hit) -> Response:
        if int(hit.match["id"]) != self.installation_id:
            return self.fake.json({"message": "Not Found"}, 404)
        token = f"ghs_{len(self.issued) + 1}"
        self.issued.append(token)
        expires = datetime.now(UTC) + self.lifetime  # PyGithub compares with real time
        return self.fake.json({"token": token, "expires_at": _time(expires),
                               "permissions": {"contents": "read"},
                               "repository_selection": "all"}, 201)
