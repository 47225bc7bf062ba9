"""The CodeReview port through the GitHub backend, against the local fake GitHub API over
HTTP: check runs and commit statuses of a tag's commit, the commits since the running
version with their pull requests and reviews, changed files, and errors kept classified.
An evaluation costs at most 2 requests whatever the number of commits (the REST compare and
one GraphQL query); repeated GETs are conditional (304s)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.backends.github import GitHubClient, GitHubCodeReview
from bot.domain.checklist_facts import CheckStatus
from bot.errors import NotFound, PermanentError, RateLimited, RetryableError
from devtools.fake_github import FakeGitHub
from devtools.fake_github.review import FakeReview


@pytest.fixture
def review(client: GitHubClient) -> GitHubCodeReview:
    return GitHubCodeReview(client)


@pytest.fixture
def history(fake: FakeGitHub) -> FakeReview:
    h = FakeReview(fake, "acme/api")
    h.commit("initial", pr=1)
    h.tag("v2.0.0")
    h.commit("Add login", author="dana", pr=10, files=["app/login.py"])
    h.commit("Fix typo", author="eli", files=["README.md"])  # pushed straight to main
    h.commit("Add orders table", author="dana", pr=11, approved=False,
             files=["migrations/0003_orders.py", "app/orders.py"])
    h.tag("v2.1.0")
    return h


def test_check_runs_and_statuses_are_read_with_the_latest_run_of_each_name(
        review: GitHubCodeReview, history: FakeReview, fake: FakeGitHub) -> None:
    history.check("v2.1.0", "build", "failure")
    history.check("v2.1.0", "build", "success")  # re-run: the newest counts
    history.check("v2.1.0", "test", "pending")
    history.check("v2.1.0", "lint", "cancelled")
    history.status("v2.1.0", "security", "error")
    history.status("v2.1.0", "quality", "success")
    got = set(review.checks("acme/api", "v2.1.0"))
    assert got == {CheckStatus("build", "success"), CheckStatus("test", "pending"),
                   CheckStatus("lint", "failure"), CheckStatus("security", "failure"),
                   CheckStatus("quality", "success")}
    assert fake.reads() == ["/repos/acme/api/commits/v2.1.0/check-runs",
                            "/repos/acme/api/commits/v2.1.0/status"]


def test_compare_lists_commits_with_their_pull_requests_and_reviews(
        review: GitHubCodeReview, history: FakeReview) -> None:
    cmp = review.compare("acme/api", "v2.0.0", "v2.1.0", max_commits=50)
    assert [c.title for c in cmp.commits] == ["Add login", "Fix typo", "Add orders table"]
    assert [c.author for c in cmp.commits] == ["dana", "eli", "dana"]
    assert [c.reviewed for c in cmp.commits] == [True, False, False]
    (pr10,) = cmp.commits[0].pulls
    assert (pr10.number, pr10.merged, pr10.approved) == (10, True, True)
    assert pr10.url.endswith("/pull/10")
    assert cmp.commits[1].pulls == ()
    assert cmp.commits[2].pulls[0].approved is False
    assert set(cmp.files) == {"app/login.py", "README.md", "migrations/0003_orders.py",
                              "app/orders.py"}
    assert cmp.total_commits == 3
    assert cmp.url.endswith("/compare/v2.0.0...v2.1.0")


def test_compare_asks_about_at_most_max_commits(review: GitHubCodeReview,
                                                history: FakeReview,
                                                fake: FakeGitHub) -> None:
    cmp = review.compare("acme/api", "v2.0.0", "v2.1.0", max_commits=1)
    assert len(cmp.commits) == 1 and cmp.total_commits == 3
    (graphql,) = [req for req, _ in fake.server.log if req.path == "/graphql"]
    variables = json.loads(graphql.get_data(as_text=True))["variables"]
    assert [k for k in variables if k.startswith("c")] == ["c0"]  # one commit's pulls


def test_a_changes_requested_review_is_not_an_approval(review: GitHubCodeReview,
                                                       history: FakeReview) -> None:
    history.pulls[10].reviews = [("ann", "APPROVED"), ("bo", "CHANGES_REQUESTED")]
    cmp = review.compare("acme/api", "v2.0.0", "v2.1.0", max_commits=50)
    assert cmp.commits[0].pulls[0].approved is False


def test_errors_stay_classified(review: GitHubCodeReview, history: FakeReview,
                                fake: FakeGitHub) -> None:
    with pytest.raises(NotFound):
        review.checks("acme/nope", "v1")
    fake.status = 502
    with pytest.raises(RetryableError, match="502"):
        review.checks("acme/api", "v2.1.0")
    reset = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
    fake.status = 403
    fake.headers = {"X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(reset.timestamp()))}
    with pytest.raises(RateLimited, match="resets at 12:30 UTC") as e:
        review.compare("acme/api", "v2.0.0", "v2.1.0", max_commits=5)
    assert e.value.reset_at == reset


def test_an_unreachable_github_is_retryable() -> None:
    gh = GitHubClient(token="t", api_url="http://127.0.0.1:9", timeout=2)
    try:
        with pytest.raises(RetryableError, match="unreachable"):
            GitHubCodeReview(gh).checks("acme/api", "v1")
    finally:
        gh.close()


def _many(fake: FakeGitHub, n: int) -> FakeReview:
    h = FakeReview(fake, "acme/api")
    h.commit("initial", pr=1)
    h.tag("v1.0.0")
    for i in range(n):
        h.commit(f"change {i}", pr=100 + i // 2, approved=i % 3 != 0,
                 files=[f"app/m{i % 7}.py"])
    h.tag("v2.0.0")
    h.check("v2.0.0", "build", "success")
    h.status("v2.0.0", "ci/security", "pending")
    return h


@pytest.mark.parametrize(("commits", "max_commits"), [(1, 50), (50, 50), (500, 50),
                                                      (500, 250)])
def test_an_evaluation_costs_at_most_two_requests_whatever_the_number_of_commits(
        review: GitHubCodeReview, fake: FakeGitHub, commits: int, max_commits: int) -> None:
    h = _many(fake, commits)
    checks, cmp = review.evaluate("acme/api", "v2.0.0", base="v1.0.0",
                                  max_commits=max_commits)
    assert len(fake.server.log) == 2 <= 3
    assert cmp is not None and cmp.total_commits == commits
    assert len(cmp.commits) == min(commits, max_commits)
    assert [c.reviewed for c in cmp.commits] == [
        h.pulls[100 + i // 2].reviews[0][1] == "APPROVED" for i in range(len(cmp.commits))]
    assert set(checks) == {CheckStatus("build", "success"),
                           CheckStatus("ci/security", "pending")}


def test_the_same_facts_as_the_rest_calls_gave(review: GitHubCodeReview,
                                               history: FakeReview) -> None:
    history.check("v2.1.0", "build", "failure")
    history.check("v2.1.0", "build", "success")  # re-run: the newest counts
    history.check("v2.1.0", "test", "pending")
    history.check("v2.1.0", "lint", "cancelled")
    history.status("v2.1.0", "security", "error")
    history.status("v2.1.0", "quality", "success")
    history.pulls[10].reviews = [("ann", "CHANGES_REQUESTED"), ("ann", "APPROVED"),
                                 ("bo", "COMMENTED")]
    checks, cmp = review.evaluate("acme/api", "v2.1.0", base="v2.0.0", max_commits=50)
    assert set(checks) == set(review.checks("acme/api", "v2.1.0"))  # REST
    assert cmp is not None
    assert [(c.title, c.author, c.reviewed) for c in cmp.commits] == [
        ("Add login", "dana", True), ("Fix typo", "eli", False),
        ("Add orders table", "dana", False)]
    pr10 = cmp.commits[0].pulls[0]
    assert (pr10.number, pr10.title, pr10.author, pr10.merged, pr10.approved) == (
        10, "Add login", "dana", True, True)
    assert pr10.url.endswith("/pull/10")


def test_without_a_running_version_one_request(review: GitHubCodeReview,
                                               history: FakeReview, fake: FakeGitHub) -> None:
    history.check("v2.1.0", "build", "success")
    assert review.evaluate("acme/api", "v2.1.0", base=None, max_commits=50) == (
        (CheckStatus("build", "success"),), None)
    assert fake.calls() == ["/graphql"]


def test_a_re_evaluation_of_the_same_versions_is_a_304_and_one_query(
        review: GitHubCodeReview, history: FakeReview, fake: FakeGitHub) -> None:
    first = review.evaluate("acme/api", "v2.1.0", base="v2.0.0", max_commits=50)
    again = review.evaluate("acme/api", "v2.1.0", base="v2.0.0", max_commits=50)
    assert again == first
    assert [s for _, p, s in fake.answered() if p != "/graphql"] == [200, 304]
    assert fake.counted() == 3


def test_repeated_checks_are_conditional(review: GitHubCodeReview, history: FakeReview,
                                         fake: FakeGitHub) -> None:
    history.check("v2.1.0", "build", "pending")
    assert review.checks("acme/api", "v2.1.0") == (CheckStatus("build", "pending"),)
    assert review.checks("acme/api", "v2.1.0") == (CheckStatus("build", "pending"),)
    history.check("v2.1.0", "build", "success")
    assert review.checks("acme/api", "v2.1.0") == (CheckStatus("build", "success"),)
    assert [s for _, _, s in fake.answered()] == [200, 200, 304, 304, 200, 304]


def test_graphql_errors_are_classified(review: GitHubCodeReview, history: FakeReview,
                                       fake: FakeGitHub) -> None:
    with pytest.raises(NotFound, match="acme/nope"):
        review.evaluate("acme/nope", "v2.1.0", base=None, max_commits=5)
    fake.graphql_errors = [{"type": "RATE_LIMITED",  # type: ignore[attr-defined]
                            "message": "API rate limit exceeded for user ID 1."}]
    reset = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
    fake.headers = {"X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(reset.timestamp()))}
    with pytest.raises(RateLimited, match="resets at 12:30 UTC") as e:
        review.evaluate("acme/api", "v2.1.0", base=None, max_commits=5)
    assert e.value.reset_at == reset
    fake.headers = {}
    fake.graphql_errors = [{"message": "Field 'x' doesn't exist on type 'Commit'"}]  # type: ignore[attr-defined]
    with pytest.raises(PermanentError, match="doesn't exist"):
        review.evaluate("acme/api", "v2.1.0", base=None, max_commits=5)
    fake.graphql_errors = None  # type: ignore[attr-defined]
    fake.status = 403  # a secondary rate limit: HTTP 403 with Retry-After
    fake.headers = {"Retry-After": "60"}
    with pytest.raises(RateLimited, match="retry after 60 s"):
        review.evaluate("acme/api", "v2.1.0", base="v2.0.0", max_commits=5)
    fake.status, fake.headers = 502, {}
    with pytest.raises(RetryableError, match="502"):
        review.evaluate("acme/api", "v2.1.0", base=None, max_commits=5)


def test_an_unknown_head_is_refused(review: GitHubCodeReview, history: FakeReview) -> None:
    with pytest.raises(PermanentError, match="no commit `v9`"):
        review.evaluate("acme/api", "v9", base=None, max_commits=5)
