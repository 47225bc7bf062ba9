"""The CodeReview port: a commit's CI checks (check runs and commit statuses) and what
changed since the running version (compare, the pull requests of each commit and their
reviews), read from GitHub through the shared GitHubClient: the compare from the REST API
(conditional), the checks, pull requests and reviews from the GraphQL API in one query."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.backends.github.client import GitHubClient
from bot.domain.checklist_facts import CheckState, CheckStatus, Commit, Comparison, PullRequest
from bot.errors import PermanentError

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


_PULLS = 10  # associated pull requests asked per commit (GitHub lists the one that merged it)
_REVIEWS = 100  # reviews asked per pull request, as the REST call asked one page of 100

# A commit's checks, as GET …/commits/{ref}/check-runs (filter=latest: checkType LATEST)
# and GET …/commits/{ref}/status (the combined status: the latest of each context) give them.
_CHECKS = """
      checkSuites(first: 100) { nodes {
        checkRuns(first: 100, filterBy: {checkType: LATEST}) {
          nodes { name status conclusion startedAt } } } }
      status { contexts { context state } }"""

# A commit's pull requests and their deciding reviews, as GET …/commits/{sha}/pulls and
# GET …/pulls/{n}/reviews give them (only the deciding states are asked: _approved reads no
# other).
_PULLS_FRAGMENT = f"""
fragment pulls on Commit {{
  associatedPullRequests(first: {_PULLS}) {{ nodes {{
    number title url merged author {{ login }}
    reviews(first: {_REVIEWS}, states: [APPROVED, CHANGES_REQUESTED, DISMISSED]) {{
      nodes {{ state author {{ login }} }} }} }} }}
}}"""


def review_query(commits: int) -> str:
    """The one GraphQL query of an evaluation: the head's checks (`head`: the commit, or the
    commit an annotated tag points at) and, for `commits` commits given by oid in variables
    `c0`…, their associated pull requests with their reviews (aliases `c0`…).

    GraphQL API v4 schema: Repository.object(expression:|oid:) → Commit;
    Commit.checkSuites → CheckSuite.checkRuns(filterBy: {checkType: LATEST}); Commit.status
    → Status.contexts (StatusContext); Commit.associatedPullRequests → PullRequest (number,
    title, url, merged, author, reviews(states:) → PullRequestReview (state, author));
    Query.rateLimit (cost, remaining, resetAt)."""
    declared = "".join(f", $c{i}: GitObjectID!" for i in range(commits))
    aliases = "".join(f"\n    c{i}: object(oid: $c{i}) {{ ...pulls }}" for i in range(commits))
    return (f"query($owner: String!, $name: String!, $head: String!{declared}) {{\n"
            "  rateLimit { cost remaining resetAt }\n"
            "  repository(owner: $owner, name: $name) {\n"
            f"    head: object(expression: $head) {{\n"
            f"      ... on Commit {{ oid {_CHECKS} }}\n"
            f"      ... on Tag {{ target {{ ... on Commit {{ oid {_CHECKS} }} }} }}\n"
            f"    }}{aliases}\n"
            "  }\n"
            f"}}{_PULLS_FRAGMENT if commits else ''}\n")


class GitHubCodeReview:
    """Requests per checklist evaluation (`evaluate`), whatever the number of commits:
    without a running version, 1 (the GraphQL query); with one, 2: the REST compare (for
    the commit list, total and changed files, which GraphQL does not give; conditional, so
    a re-evaluation of the same two versions is a 304 that does not count against the rate
    limit) and one GraphQL query for the head's checks and every listed commit's pull
    requests and reviews (at most `max_commits` ≤ 250 commits, aliased in the same query:
    never paginated). `checks` alone is 2 conditional REST requests."""

    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def _get(self, repository: str, path: str, **params: Any) -> Any:
        url = f"/repos/{repository}{path}"
        return self._client.call(repository,
                                 lambda: self._client.get(url, params or None).data)

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
        """2 requests (the REST compare and one GraphQL query)."""
        comparison = self.evaluate(repository, head, base=base, max_commits=max_commits)[1]
        assert comparison is not None
        return comparison

    def evaluate(self, repository: str, head: str, *, base: str | None,
                 max_commits: int) -> tuple[tuple[CheckStatus, ...], Comparison | None]:
        """`head`'s checks, and (with `base`) the comparison from `base`; see the class
        for what it costs."""
        data: dict[str, Any] | None = None
        raw_commits: list[dict[str, Any]] = []
        if base is not None:
            spec = f"{quote(base, safe='')}...{quote(head, safe='')}"
            data = self._get(repository, f"/compare/{spec}")
            raw_commits = list((data or {}).get("commits") or [])
        listed = raw_commits[:max_commits]
        owner, _, name = repository.partition("/")
        variables: dict[str, Any] = {"owner": owner, "name": name, "head": head}
        for i, c in enumerate(listed):
            variables[f"c{i}"] = str(c.get("sha"))
        query = review_query(len(listed))
        answer = self._client.call(repository,
                                   lambda: self._client.graphql(query, variables))
        repo = answer.get("repository") or {}
        commit = repo.get("head") or {}
        if "target" in commit:  # an annotated tag
            commit = commit.get("target") or {}
        if not commit.get("oid"):
            raise PermanentError(f"GitHub has no commit `{head}` in `{repository}`")
        checks = _graphql_checks(commit)
        if data is None or base is None:
            return checks, None
        commits: list[Commit] = []
        for i, c in enumerate(listed):
            sha = str(c.get("sha"))
            message = str((c.get("commit") or {}).get("message") or "")
            author = (_login(c.get("author")) if c.get("author") else
                      str(((c.get("commit") or {}).get("author") or {}).get("name") or
                          "unknown"))
            pulls = tuple(_pull(p) for p in
                          (((repo.get(f"c{i}") or {}).get("associatedPullRequests") or {})
                           .get("nodes") or []) if p)
            commits.append(Commit(sha=sha, title=message.splitlines()[0] if message else "",
                                  author=author, url=str(c.get("html_url") or ""),
                                  pulls=pulls))
        total = int(data.get("total_commits") or len(raw_commits))
        files = tuple(str(f.get("filename")) for f in data.get("files") or [])
        return checks, Comparison(
            base=base, head=head, url=str(data.get("html_url") or ""),
            commits=tuple(commits),
            total_commits=total if len(raw_commits) <= max_commits
            else max(total, len(raw_commits)),
            files=files)


def _graphql_checks(commit: dict[str, Any]) -> tuple[CheckStatus, ...]:
    """The checks of a GraphQL Commit, read as `checks` reads the REST answers: the latest
    run of each name (newest started first), then the commit statuses (enum values are the
    REST values in capitals)."""
    runs = [r for suite in ((commit.get("checkSuites") or {}).get("nodes") or [])
            for r in (((suite or {}).get("checkRuns") or {}).get("nodes") or []) if r]
    runs.sort(key=lambda r: str(r.get("startedAt") or ""), reverse=True)
    out: dict[str, CheckStatus] = {}
    for run in runs:
        name = str(run.get("name"))
        out.setdefault(name, CheckStatus(name, _run_state({
            "status": str(run.get("status") or "").lower(),
            "conclusion": str(run.get("conclusion") or "").lower()})))
    for status in ((commit.get("status") or {}).get("contexts") or []):
        name = str(status.get("context"))
        out.setdefault(name, CheckStatus(name, _status_state(
            {"state": str(status.get("state") or "").lower()})))
    return tuple(out.values())


def _pull(p: dict[str, Any]) -> PullRequest:
    merged = bool(p.get("merged"))
    reviews = [{"state": r.get("state"), "user": r.get("author")}
               for r in ((p.get("reviews") or {}).get("nodes") or []) if r]
    return PullRequest(number=int(p["number"]), title=str(p.get("title") or ""),
                       author=_login(p.get("author")), url=str(p.get("url") or ""),
                       merged=merged, approved=merged and _approved(reviews))


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
