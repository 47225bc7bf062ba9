"""The CodeReview port: a commit's CI checks (check runs and commit statuses) and what
changed since the running version (compare, the pull requests of each commit and their
reviews), read from GitHub's REST API through the shared GitHubClient."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.backends.github.client import GitHubClient
from bot.domain.checklist import CheckState, CheckStatus, Commit, Comparison, PullRequest

_FAILED = {"failure", "error", "cancelled", "timed_out", "action_required", "startup_failure",
           "stale"}
_PASSED = {"success", "neutral", "skipped"}


def _run_state(run: dict[str, Any]) -> CheckState:
    if run.get("status") != "completed":
        return "pending"
    conclusion = str(run.get("conclusion") or "")
    if conclusion in _PASSED:
        return "success"
    return "failure" if conclusion in _FAILED else "pending"


def _status_state(status: dict[str, Any]) -> CheckState:
    state = str(status.get("state") or "")
    if state == "success":
        return "success"
    return "failure" if state in ("failure", "error") else "pending"


def _login(user: Any) -> str:
    return str(user.get("login")) if isinstance(user, dict) and user.get("login") else "unknown"


class GitHubCodeReview:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def _get(self, repository: str, path: str, **params: Any) -> Any:
        url = f"/repos/{repository}{path}"

        def ask() -> Any:
            _, data = self._client.gh.requester.requestJsonAndCheck(
                "GET", url, parameters=params or None)
            return data

        return self._client.call(repository, ask)

    def checks(self, repository: str, ref: str) -> tuple[CheckStatus, ...]:
        r = quote(ref, safe="")
        runs = self._get(repository, f"/commits/{r}/check-runs", per_page=100)
        combined = self._get(repository, f"/commits/{r}/status", per_page=100)
        out: dict[str, CheckStatus] = {}
        # Check runs come newest first: the first of each name is its latest run.
        for run in runs.get("check_runs") or []:
            name = str(run.get("name"))
            out.setdefault(name, CheckStatus(name, _run_state(run)))
        for status in combined.get("statuses") or []:  # the latest per context already
            name = str(status.get("context"))
            out.setdefault(name, CheckStatus(name, _status_state(status)))
        return tuple(out.values())

    def compare(self, repository: str, base: str, head: str, *,
                max_commits: int) -> Comparison:
        spec = f"{quote(base, safe='')}...{quote(head, safe='')}"
        data = self._get(repository, f"/compare/{spec}")
        raw_commits = list(data.get("commits") or [])
        total = int(data.get("total_commits") or len(raw_commits))
        reviewed: dict[int, bool] = {}  # pull request number → approved (asked once)
        commits: list[Commit] = []
        for c in raw_commits[:max_commits]:
            sha = str(c.get("sha"))
            message = str((c.get("commit") or {}).get("message") or "")
            author = (_login(c.get("author")) if c.get("author") else
                      str(((c.get("commit") or {}).get("author") or {}).get("name") or
                          "unknown"))
            pulls = []
            for p in self._get(repository, f"/commits/{sha}/pulls") or []:
                number = int(p["number"])
                merged = bool(p.get("merged_at"))
                if merged and number not in reviewed:
                    reviews = self._get(repository, f"/pulls/{number}/reviews", per_page=100)
                    reviewed[number] = _approved(reviews)
                pulls.append(PullRequest(
                    number=number, title=str(p.get("title") or ""),
                    author=_login(p.get("user")), url=str(p.get("html_url") or ""),
                    merged=merged, approved=reviewed.get(number, False)))
            commits.append(Commit(sha=sha, title=message.splitlines()[0] if message else "",
                                  author=author, url=str(c.get("html_url") or ""),
                                  pulls=tuple(pulls)))
        files = tuple(str(f.get("filename")) for f in data.get("files") or [])
        return Comparison(base=base, head=head, url=str(data.get("html_url") or ""),
                          commits=tuple(commits),
                          total_commits=total if len(raw_commits) <= max_commits
                          else max(total, len(raw_commits)),
                          files=files)


def _approved(reviews: list[dict[str, Any]]) -> bool:
    """Approved when someone's latest deciding review approves and nobody's latest one asks
    for changes."""
    latest: dict[str, str] = {}
    for r in reviews:
        state = str(r.get("state") or "")
        if state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[_login(r.get("user"))] = state
    states = set(latest.values())
    return "APPROVED" in states and "CHANGES_REQUESTED" not in states
