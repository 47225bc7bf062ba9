"""The fake GitHub's endpoints for the pre-deployment checklist, registered on a FakeGitHub
with `route`: a linear commit history with tags, check runs
(GET /repos/{r}/commits/{ref}/check-runs), commit statuses (GET …/commits/{ref}/status,
combined), compare (GET /repos/{r}/compare/{base}...{head}), the pull requests of a commit
(GET /repos/{r}/commits/{sha}/pulls) and their reviews (GET /repos/{r}/pulls/{n}/reviews);
and the GraphQL endpoint (POST /graphql) answering the query of
bot/backends/github/review.py (`review_query`) from the same state.

The GraphQL answers take their shape from GitHub's GraphQL API v4 documentation
(docs.github.com/en/graphql: "Forming calls with GraphQL" for the `{"data": …, "errors":
[…]}` envelope; the reference pages of the objects Repository.object, Commit (checkSuites,
status, associatedPullRequests), CheckSuite/CheckRun (status and conclusion enums in
capitals: COMPLETED, SUCCESS, …), Status/StatusContext (state: SUCCESS, FAILURE, ERROR,
PENDING, EXPECTED), PullRequest, PullRequestReview and RateLimit), and, for errors, what
GitHub answers with HTTP 200: `{"data": {"repository": null}, "errors": [{"type":
"NOT_FOUND", "path": ["repository"], "message": "Could not resolve to a Repository with the
name '…'."}]}` and `{"errors": [{"type": "RATE_LIMITED", "message": "API rate limit
exceeded …"}]}` (github/docs issue #11071). It answers the fields that query asks for,
whatever the query text; the commits come from the variables `c0`, `c1`, … (oids).

Tests build the history with `commit(...)` and `tag(...)` and set CI results with
`check(...)` / `status(...)`; every answer is computed from that state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from werkzeug import Response

from devtools.fake_github.server import FakeGitHub, Hit


@dataclass
class FakePull:
    number: int
    title: str
    author: str
    merged: bool = True
    reviews: list[tuple[str, str]] = field(default_factory=list)  # (user, state)


@dataclass
class FakeCommit:
    sha: str
    message: str
    author: str
    files: list[str]
    pulls: list[int]


class FakeReview:
    def __init__(self, fake: FakeGitHub, repo: str) -> None:
        self.fake = fake
        self.repo = repo
        self.history: list[FakeCommit] = []  # oldest first
        self.tags: dict[str, str] = {}  # tag → sha
        self.pulls: dict[int, FakePull] = {}
        self.runs: dict[str, list[dict[str, Any]]] = {}  # sha → check runs, newest first
        self.statuses: dict[str, list[dict[str, Any]]] = {}  # sha → statuses, newest first
        fake.route("GET", r"/commits/([^/]+)/check-runs", self._check_runs)
        fake.route("GET", r"/commits/([^/]+)/status", self._status)
        fake.route("GET", r"/commits/([0-9a-f]{40})/pulls", self._commit_pulls)
        fake.route("GET", r"/compare/(.+)\.\.\.(.+)", self._compare)
        fake.route("GET", r"/pulls/(\d+)/reviews", self._reviews)
        # One /graphql route for every FakeReview of this fake (one per repository).
        known: dict[str, FakeReview] | None = getattr(fake, "graphql_repos", None)
        if known is None:
            known = {}
            fake.graphql_repos = known  # type: ignore[attr-defined]
            fake.graphql_errors = None  # type: ignore[attr-defined]
            fake.route("POST", r"/graphql", lambda hit: _graphql(fake, known, hit),
                       repo_scoped=False)
        known[repo] = self

    # -- building the history ---------------------------------------------------------
    def commit(self, message: str, *, author: str = "dev", files: list[str] | None = None,
               pr: int | None = None, approved: bool = True, merged: bool = True,
               pr_author: str | None = None) -> str:
        """A new commit on top; with `pr`, it arrived through that pull request (approved
        by a reviewer unless `approved=False`). Returns its sha."""
        sha = hashlib.sha1(f"{len(self.history)}:{message}".encode()).hexdigest()
        if pr is not None and pr not in self.pulls:
            reviews = [("reviewer", "APPROVED")] if approved else [("reviewer", "COMMENTED")]
            self.pulls[pr] = FakePull(pr, message, pr_author or author, merged, reviews)
        self.history.append(FakeCommit(sha, message, author, list(files or ["app/main.py"]),
                                       [pr] if pr is not None else []))
        return sha

    def tag(self, name: str) -> str:
        """Tag the newest commit (and list the tag, so the version check accepts it)."""
        sha = self.history[-1].sha
        self.tags[name] = sha
        tags = self.fake.repos.setdefault(self.repo, [])
        if name not in tags:
            tags.insert(0, name)
        return sha

    def sha(self, ref: str) -> str:
        return self.tags.get(ref, ref)

    def check(self, ref: str, name: str, result: str) -> None:
        """A check run: result "success"/"failure"/"cancelled"/… (completed) or "pending"
        (in progress). The newest run of a name counts."""
        done = result != "pending"
        self.runs.setdefault(self.sha(ref), []).insert(0, {
            "id": sum(len(v) for v in self.runs.values()) + 1, "name": name,
            "head_sha": self.sha(ref), "status": "completed" if done else "in_progress",
            "started_at": f"2026-11-17T10:{sum(len(v) for v in self.runs.values()):02d}:00Z",
            "conclusion": result if done else None})

    def status(self, ref: str, context: str, state: str) -> None:
        """A commit status: "success", "failure", "error" or "pending"."""
        sha = self.sha(ref)
        kept = [s for s in self.statuses.get(sha, []) if s["context"] != context]
        self.statuses[sha] = [{"context": context, "state": state,
                               "description": f"{context} {state}"}, *kept]

    # -- the endpoints ------------------------------------------------------------------
    def _index(self, ref: str) -> int | None:
        sha = self.sha(unquote(ref))
        return next((i for i, c in enumerate(self.history) if c.sha == sha), None)

    def _check_runs(self, hit: Hit) -> Response:
        runs = self.runs.get(self.sha(unquote(hit.match[1])), [])
        return self.fake.json({"total_count": len(runs), "check_runs": runs})

    def _status(self, hit: Hit) -> Response:
        statuses = self.statuses.get(self.sha(unquote(hit.match[1])), [])
        states = {s["state"] for s in statuses}
        combined = ("failure" if states & {"failure", "error"} else
                    "pending" if "pending" in states or not states else "success")
        return self.fake.json({"state": combined, "sha": self.sha(unquote(hit.match[1])),
                               "total_count": len(statuses), "statuses": statuses})

    def _pull(self, hit: Hit, p: FakePull) -> dict[str, Any]:
        return {"number": p.number, "title": p.title, "user": {"login": p.author},
                "html_url": f"https://github.example/{self.repo}/pull/{p.number}",
                "url": f"{hit.base}/pulls/{p.number}", "state": "closed",
                "merged_at": "2026-11-17T10:00:00Z" if p.merged else None}

    def _commit_pulls(self, hit: Hit) -> Response:
        i = self._index(hit.match[1])
        if i is None:
            return self.fake.json({"message": "No commit found"}, 422)
        return self.fake.json([self._pull(hit, self.pulls[n]) for n in self.history[i].pulls])

    def _compare(self, hit: Hit) -> Response:
        base, head = self._index(hit.match[1]), self._index(hit.match[2])
        if base is None or head is None:
            return self.fake.json({"message": "Not Found"}, 404)
        between = self.history[base + 1:head + 1]
        files = sorted({f for c in between for f in c.files})
        return self.fake.json({
            "html_url": f"https://github.example/{self.repo}/compare/"
                        f"{unquote(hit.match[1])}...{unquote(hit.match[2])}",
            "status": "ahead", "ahead_by": len(between), "behind_by": 0,
            "total_commits": len(between),
            "commits": [{"sha": c.sha, "html_url": f"https://github.example/{self.repo}/"
                                                   f"commit/{c.sha}",
                         "commit": {"message": c.message, "author": {"name": c.author}},
                         "author": {"login": c.author}} for c in between],
            "files": [{"filename": f, "status": "modified"} for f in files],
        })

    def _reviews(self, hit: Hit) -> Response:
        p = self.pulls.get(int(hit.match[1]))
        if p is None:
            return self.fake.json({"message": "Not Found"}, 404)
        return self.fake.json([{"id": i + 1, "user": {"login": u}, "state": s}
                               for i, (u, s) in enumerate(p.reviews)])

    # -- GraphQL ------------------------------------------------------------------------
    def graphql_commit(self, ref: str) -> dict[str, Any] | None:
        """Repository.object(expression: ref) as a Commit with its checks (lightweight
        tags: the commit itself)."""
        i = self._index(ref)
        if i is None:
            return None
        sha = self.history[i].sha
        runs = self.runs.get(sha, [])
        statuses = self.statuses.get(sha, [])
        return {
            "oid": sha,
            "checkSuites": {"nodes": [{"checkRuns": {"nodes": [
                {"name": r["name"], "status": r["status"].upper(),
                 "conclusion": r["conclusion"].upper() if r["conclusion"] else None,
                 "startedAt": r["started_at"]} for r in runs]}}] if runs else []},
            "status": ({"contexts": [{"context": st["context"], "state": st["state"].upper()}
                                     for st in statuses]} if statuses else None),
        }

    def graphql_pulls(self, oid: str) -> dict[str, Any] | None:
        """Repository.object(oid:) as a Commit with its associated pull requests."""
        c = next((c for c in self.history if c.sha == oid), None)
        if c is None:
            return None
        nodes = []
        for n in c.pulls:
            p = self.pulls[n]
            nodes.append({
                "number": p.number, "title": p.title,
                "url": f"https://github.example/{self.repo}/pull/{p.number}",
                "merged": p.merged, "author": {"login": p.author},
                "reviews": {"nodes": [
                    {"state": st, "author": {"login": u}} for u, st in p.reviews
                    if st in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")]}})
        return {"associatedPullRequests": {"nodes": nodes}}


def _graphql(fake: FakeGitHub, known: dict[str, FakeReview], hit: Hit) -> Response:
    errors = getattr(fake, "graphql_errors", None)
    if errors:
        return fake.json({"data": None, "errors": errors})
    body = hit.body()
    v = body.get("variables") or {}
    rate = {"cost": 1, "remaining": 4999, "resetAt": "2026-11-17T11:00:00Z"}
    repo = known.get(f"{v.get('owner')}/{v.get('name')}")
    if repo is None:
        return fake.json({"data": {"rateLimit": rate, "repository": None}, "errors": [{
            "type": "NOT_FOUND", "path": ["repository"],
            "locations": [{"line": 3, "column": 3}],
            "message": f"Could not resolve to a Repository with the name "
                       f"'{v.get('owner')}/{v.get('name')}'."}]})
    out: dict[str, Any] = {"head": repo.graphql_commit(str(v.get("head")))}
    for key, oid in v.items():
        if key[:1] == "c" and key[1:].isdigit():
            out[key] = repo.graphql_pulls(str(oid))
    return fake.json({"data": {"rateLimit": rate, "repository": out}})
