"""GitHub requests per checklist evaluation and per poll cycle (issue 13, "GitHub economy").

The real backend (bot/backends/github: PyGithub's requester, the conditional-GET cache, the
GraphQL query) talks over HTTP to the fake GitHub API the tests use
(devtools/fake_github/server.py with fake_github_review.py and fake_github_repo.py, on
pytest-httpserver), which records every request and answers repeated GETs with 304 when
their ETag still matches. Nothing is modelled: the figures are the requests the fake
received.

* **Checklist evaluation** (`GitHubCodeReview.evaluate`, what ChecklistService asks when a
  card is posted, when approve is clicked and every `checklist.refresh_every` while checks are
  pending) of a range of 1, 50 and 500 commits, with `checklist.max_commits` 50 (the
  default) and 250 (the maximum): the first evaluation, then a re-evaluation with nothing
  changed. "counted" is what counts against GitHub's REST rate limit (everything but the
  304s; the GraphQL query counts against the separate GraphQL budget, 1 point here). The
  REST-only cost the checklist had before (2 checks + compare + one `…/pulls` per commit +
  one `…/reviews` per merged pull request) is printed next to it, computed from the same
  fixture.
* **Poll cycle** (`GitHubRepositoryHeads`: one branch head and the open pull requests of one
  repository, what `github.poll` asks every `github.poll_every`): the first cycle, a cycle
  with nothing changed, and one after a merge.

Run it from the repository root::

    .venv/bin/python -m benchmarks.github_requests
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer

from bot.backends.github import GitHubClient, GitHubCodeReview, GitHubRepositoryHeads
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.repo import RepoState
from devtools.fake_github.review import FakeReview

REPO = "acme/api"


@contextmanager
def fake_github() -> Iterator[tuple[FakeGitHub, GitHubClient]]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        fake = FakeGitHub(server, {REPO: []})
        client = GitHubClient(token=TOKEN, api_url=fake.url, timeout=10)
        try:
            yield fake, client
        finally:
            client.close()
    finally:
        server.clear()
        server.stop()


def history(fake: FakeGitHub, commits: int) -> FakeReview:
    """`commits` commits since v1.0.0, two a pull request (most approved), CI on the head."""
    h = FakeReview(fake, REPO)
    h.commit("initial", pr=1)
    h.tag("v1.0.0")
    for i in range(commits):
        h.commit(f"change {i}", pr=100 + i // 2, approved=i % 5 != 0,
                 files=[f"app/module_{i % 20}.py"])
    h.tag("v2.0.0")
    h.check("v2.0.0", "build", "success")
    h.check("v2.0.0", "test", "pending")
    h.status("v2.0.0", "ci/security", "success")
    return h


def rest_only_cost(h: FakeReview, commits: int, max_commits: int) -> int:
    """What the REST-only checklist asked for the same range: check-runs + status + compare,
    `…/commits/{sha}/pulls` per listed commit, `…/pulls/{n}/reviews` per merged pull
    request (each asked once)."""
    listed = h.history[-commits:][:max_commits]
    merged = {n for c in listed for n in c.pulls if h.pulls[n].merged}
    return 3 + len(listed) + len(merged)


def evaluation(commits: int, max_commits: int) -> tuple[int, int, int, int, int]:
    with fake_github() as (fake, client):
        h = history(fake, commits)
        review = GitHubCodeReview(client)
        _, cmp = review.evaluate(REPO, "v2.0.0", base="v1.0.0", max_commits=max_commits)
        assert cmp is not None and cmp.total_commits == commits
        first, first_counted = len(fake.server.log), fake.counted()
        review.evaluate(REPO, "v2.0.0", base="v1.0.0", max_commits=max_commits)
        again = len(fake.server.log) - first
        again_counted = fake.counted() - first_counted
        return (rest_only_cost(h, commits, max_commits), first, first_counted, again,
                again_counted)


def poll_cycles() -> list[tuple[str, int, int, str]]:
    with fake_github() as (fake, client):
        repo = RepoState(fake)
        repo.set_branch(REPO, "main", "a" * 40)
        repo.open_pull(REPO, 7, "feature-x", "b" * 40)
        heads = GitHubRepositoryHeads(client)
        out: list[tuple[str, int, int, str]] = []

        def cycle(name: str) -> None:
            before, counted = len(fake.server.log), fake.counted()
            heads.branch_head(REPO, "main")
            heads.open_pulls(REPO)
            statuses = [str(s) for _, _, s in fake.answered()[before:]]
            out.append((name, len(fake.server.log) - before, fake.counted() - counted,
                        "+".join(statuses)))

        cycle("first cycle")
        cycle("nothing changed")
        repo.set_branch(REPO, "main", "c" * 40)
        cycle("after a merge")
        cycle("nothing changed again")
        return out


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    print(f"GitHub requests — {platform.python_implementation()} "
          f"{platform.python_version()}, fake GitHub API over HTTP (pytest-httpserver)")
    print()
    print("Checklist evaluation (checks of the head + compare from the running version)")
    print(f"{'commits':>7} {'max_commits':>11} | {'REST-only before':>16} | "
          f"{'now: requests':>13} {'counted':>7} | {'re-eval: requests':>17} {'counted':>7}")
    for commits, max_commits in ((1, 50), (50, 50), (500, 50), (1, 250), (50, 250),
                                 (500, 250)):
        before, first, counted, again, again_counted = evaluation(commits, max_commits)
        print(f"{commits:>7} {max_commits:>11} | {before:>16} | {first:>13} {counted:>7} | "
              f"{again:>17} {again_counted:>7}")
        assert first <= 3 and again <= 3
    print("  (now: 1 REST compare + 1 GraphQL query; on re-evaluation the compare is a 304;")
    print("   'counted' = all but 304s; the GraphQL query costs 1 point of its own budget)")
    print()
    print("Poll cycle (one branch head + the open pull requests of one repository)")
    print(f"{'cycle':<22} | {'requests':>8} {'counted':>7} | statuses")
    for name, requests, counted, statuses in poll_cycles():
        print(f"{name:<22} | {requests:>8} {counted:>7} | {statuses}")


if __name__ == "__main__":
    main()
