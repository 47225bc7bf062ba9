"""More of the fake GitHub API (devtools/fake_github/server.py), registered with `route(...)`:
branches and pull requests (polling), releases, and GitHub App installation tokens.

`RepoState(fake)` serves, for every repository of the fake:
- GET /repos/{r}/branches/{b}: the branch's head commit (`set_branch`, with the commit's
  message and author), 404 "Branch not found";
- GET /repos/{r}/pulls?state=open: the open pull requests (`open_pull`, `close_pull`), with
  who opened each and its title;
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


#: When the fake's commits were authored (a fixed instant: the fake reads no clock for them).
AUTHORED = "2026-11-18T15:00:00Z"


@dataclass(frozen=True)
class Commit:
    """A commit as the fake gives it: its message, and its author — the GitHub account
    matched to their email (`login`; None: none matches, GitHub answers `author: null`) and
    the name and email git has."""

    sha: str
    message: str
    login: str | None = "octocat"
    name: str = "The Octocat"
    email: str = "octocat@users.noreply.github.com"


def _user(login: str, base: str) -> dict[str, Any]:
    """A user as GitHub's REST API gives one inside another object (a "simple user")."""
    number = sum(login.encode()) + 1000
    return {"login": login, "id": number, "node_id": f"U_{login}", "type": "User",
            "site_admin": False, "url": f"{base.split('/repos/')[0]}/users/{login}",
            "html_url": f"https://github.example/{login}"}


def commit_json(c: Commit, base: str) -> dict[str, Any]:
    """`c` as GitHub's REST API gives a commit ("Get a commit",
    https://docs.github.com/rest/commits/commits#get-a-commit, without its `stats` and
    `files`; "Get a branch" gives the same object as its `commit`): `commit.message` whole
    (subject, blank line, body), `commit.author` the name, email and date git has, and
    `author` the GitHub account of that email, null when there is none."""
    who = {"name": c.name, "email": c.email, "date": AUTHORED}
    account = _user(c.login, base) if c.login is not None else None
    return {
        "sha": c.sha, "node_id": f"C_{c.sha}", "url": f"{base}/commits/{c.sha}",
        "html_url": f"https://github.example/{base.split('/repos/')[-1]}/commit/{c.sha}",
        "comments_url": f"{base}/commits/{c.sha}/comments",
        "commit": {"author": who, "committer": who, "message": c.message,
                   "tree": {"sha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                            "url": f"{base}/git/trees/4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
                   "url": f"{base}/git/commits/{c.sha}", "comment_count": 0,
                   "verification": {"verified": False, "reason": "unsigned",
                                    "signature": None, "payload": None,
                                    "verified_at": None}},
        "author": account, "committer": account, "parents": [],
    }


@dataclass
class Pull:
    number: int
    branch: str
    sha: str
    author: str = "octocat"  # who opened it (`user.login`)
    title: str = ""


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
    commits: dict[str, Commit] = field(default_factory=dict)  # sha -> the commit
    #: GitHub always gives a branch's head commit whole; True answers only its sha (as the
    #: fake did before), to check that a reader finding less says only what it knows.
    bare_commits: bool = False

    def __post_init__(self) -> None:
        self.fake.route("GET", r"/branches/(?P<branch>.+)", self._branch)
        self.fake.route("GET", r"/pulls", self._pulls)
        self.fake.route("GET", r"/releases/tags/(?P<tag>.+)", self._release_by_tag)
        self.fake.route("GET", r"/releases", self._releases)

    # -- set up -------------------------------------------------------------------------
    def set_branch(self, repo: str, branch: str, sha: str, *, message: str | None = None,
                   author: str | None = "octocat", name: str = "The Octocat") -> None:
        """`branch` of `repo` moves to `sha`, a commit by `author` (a GitHub login; None: an
        email that is nobody's account) named `name` in git, with `message` (default
        "Change <sha7>"; a commit given before keeps its own)."""
        self.branches[(repo, branch)] = sha
        if message is not None or sha not in self.commits:
            self.commits[sha] = Commit(sha, message or f"Change {sha[:7]}", author, name)

    def open_pull(self, repo: str, number: int, branch: str, sha: str, *,
                  author: str = "octocat", title: str | None = None) -> None:
        self.pulls[(repo, number)] = Pull(number, branch, sha, author,
                                          title if title is not None else f"PR {number}")

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
        # "Get a branch" (https://docs.github.com/rest/branches/branches#get-a-branch): the
        # head commit whole, as "Get a commit" gives it.
        commit = (commit_json(self.commits.get(sha) or Commit(sha, f"Change {sha[:7]}"),
                              hit.base) if not self.bare_commits else
                  {"sha": sha, "node_id": f"C_{sha}", "url": f"{hit.base}/commits/{sha}"})
        return self.fake.json({
            "name": name, "protected": False, "commit": commit,
            "_links": {"self": f"{hit.base}/branches/{name}",
                       "html": f"https://github.example/{hit.repo}/tree/{name}"},
            "protection_url": f"{hit.base}/branches/{name}/protection",
        })

    def _pulls(self, hit: Hit) -> Response:
        state = hit.request.args.get("state", "open")
        assert state == "open", state
        out: list[dict[str, Any]] = []
        for (repo, number), p in sorted(self.pulls.items(), key=lambda kv: -kv[0][1]):
            if repo != hit.repo:
                continue
            # "List pull requests" (https://docs.github.com/rest/pulls/pulls#list-pull-
            # requests): `user` is who opened it, `title` what they called it.
            out.append({
                "id": 1000 + number, "number": number, "state": "open",
                "url": f"{hit.base}/pulls/{number}", "title": p.title,
                "user": _user(p.author, hit.base),
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
