"""The CodeReview port through the GitHub backend, against the local fake GitHub API over
HTTP: check runs and commit statuses of a tag's commit, the commits since the running
version with their pull requests and reviews, changed files, and errors kept classified."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.backends.github import GitHubClient, GitHubCodeReview
from bot.domain.checklist import CheckStatus
from bot.errors import NotFound, RateLimited, RetryableError
from tests.backends.fake_github import FakeGitHub
from tests.backends.fake_github_review import FakeReview


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
    assert sum("/pulls" in p for p in fake.reads()) == 2  # one commit's pulls + its reviews


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
