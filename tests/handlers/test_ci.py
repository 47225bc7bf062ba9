"""`/ci` (issue 6) over signed Slack HTTP, with a local fake GitHub API: the workflow runs of a
version or of one run id with their failed jobs and steps, re-runs for deployers only
(audited, announced in the channel), and every error a user can meet said clearly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from devtools.fake_github import TOKEN, FakeGitHub, sha_of
from devtools.fake_github.repo import RepoState
from devtools.fake_github.runs import FakeRuns
from devtools.slack_requests import Reply
from tests.conftest import OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import ephemeral_text

TAGS = ["v1.3.0", "v1.2.4", "v1.2.3", "v1.2.2", "v1.1.0"]
RESET = "1893456000"  # 2030-01-01 00:00 UTC


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # a secret: from the environment only
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": TAGS, "acme/web": ["v2.0.0"]})


@pytest.fixture
def actions(fake_github: FakeGitHub) -> FakeRuns:
    return FakeRuns(fake_github)


@pytest.fixture
def config_data(fake_github: FakeGitHub, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Services `api` and `web` on GitHub, `worker` not; GitHub at the fake (or at the URL a
    test passes as its parameter)."""
    api_url = getattr(request, "param", None) or fake_github.url
    return base_config(services={"api": {"github": {"repository": "acme/api"}},
                                 "web": {"github": {"repository": "acme/web"}},
                                 "worker": {}},
                       github={"api_url": api_url})


def ci(bot: RunningBot, text_: str, *, user: str = REQUESTER) -> Reply:
    reply = bot.requester.command("/ci", text_, user_id=user)
    assert reply.status == 200, reply.body
    return reply


def answer(bot: RunningBot, text_: str, *, user: str = REQUESTER) -> tuple[str, Reply]:
    """The ack's text, and the reply (its ephemeral answer follows on the response_url)."""
    reply = ci(bot, text_, user=user)
    assert reply.json is not None and reply.json["response_type"] == "ephemeral"
    return str(reply.json["text"]), reply


def rerun_rows(bot: RunningBot) -> list[tuple[str, dict[str, Any]]]:
    """(actor, details) of the re-runs in the audit log (details: JSON text on SQLite)."""
    with bot.container.database.engine.connect() as conn:
        return [(r[0], json.loads(r[1]) if isinstance(r[1], str) else r[1])
                for r in conn.execute(text(
            "SELECT actor, details FROM audit_events WHERE action = 'ci.rerun' ORDER BY id"))]


def release_runs(actions: FakeRuns) -> None:
    """v1.2.3's commit: a failed CI run, a passing security scan, a deploy still running."""
    actions.add_run("acme/api", run_id=101, name="CI", tag="v1.2.3", conclusion="failure",
                    number=7, jobs=[
                        {"name": "lint", "conclusion": "success", "steps": ["ruff"]},
                        {"name": "test (3.12)", "conclusion": "failure",
                         "steps": ["checkout", "pytest", "coverage"], "failed": ["pytest"]}])
    actions.add_run("acme/api", run_id=102, name="Security", tag="v1.2.3", number=3)
    actions.add_run("acme/api", run_id=103, name="Deploy", tag="v1.2.3", status="in_progress",
                    conclusion=None, number=9)
    actions.add_run("acme/api", run_id=104, name="CI", tag="v1.3.0", conclusion="failure")


def test_the_runs_of_a_version_with_failed_jobs_and_steps_linked(
        bot: RunningBot, fake_github: FakeGitHub, actions: FakeRuns) -> None:
    release_runs(actions)
    ack, reply = answer(bot, "v1.2.3 api")
    assert ack.startswith("⏳ Looking up the CI runs of `v1.2.3` of `api`")
    got = ephemeral_text(bot, reply)
    assert f"commit `{sha_of('v1.2.3')[:12]}`" in got
    web = "https://github.example/acme/api/actions/runs"
    assert f"*<{web}/103|⏳ Deploy #9>* — in progress" in got
    assert f"*<{web}/102|✅ Security #3>* — success" in got
    assert f"*<{web}/101|❌ CI #7>* — failure" in got
    assert f"<{web}/101/job/10102|❌ test (3.12)> — failure" in got
    assert f"failed step 2: <{web}/101/job/10102#step:2:1|pytest>" in got
    assert "lint" not in got and "104" not in got  # passing jobs, other commits: not shown
    assert "`/ci rerun 101 --failed`" in got
    assert got.index("Deploy #9") < got.index("Security #3") < got.index("CI #7")  # newest 1st
    reads = fake_github.reads()
    assert reads[0] == "/repos/acme/api/git/ref/tags/v1.2.3"
    assert "/repos/acme/api/actions/runs/101/jobs" in reads
    assert "/repos/acme/api/actions/runs/102/jobs" not in reads  # passed: no jobs asked
    assert fake_github.server.log[1][0].args["head_sha"] == sha_of("v1.2.3")


def test_one_run_by_id_with_its_failed_jobs(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    ack, reply = answer(bot, "api 101")
    assert ack.startswith("⏳ Looking up workflow run 101 of `api`")
    got = ephemeral_text(bot, reply)
    assert got.startswith("*Workflow run 101* — `api` (acme/api)")
    assert "❌ CI #7" in got and "pytest" in got and "Security" not in got


def test_output_is_capped_to_the_newest_runs(bot: RunningBot, actions: FakeRuns) -> None:
    for i in range(15):
        actions.add_run("acme/api", run_id=200 + i, name=f"wf{i}", tag="v1.2.3",
                        conclusion="failure", jobs=[{"name": "j", "conclusion": "failure"}])
    _, reply = answer(bot, "v1.2.3 api")
    (post,) = bot.requester.response_posts(reply)
    got = str(post.args["text"])
    assert "wf14" in got and "wf5 #" in got and "wf4 #" not in got
    assert "5 more run(s) not shown" in got
    assert got.count("/job/") == 3  # failed jobs asked for the 3 newest failed runs only
    assert "Failed jobs not looked up here: `/ci 208` shows them" in got
    assert len(post.args["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in post.args["blocks"] if "text" in b)


def test_a_version_without_runs_says_so(bot: RunningBot, actions: FakeRuns) -> None:
    _, reply = answer(bot, "v1.2.4 api")
    assert "No workflow runs for this commit" in ephemeral_text(bot, reply)


def test_an_unknown_version_is_refused_with_the_nearest_tags(
        bot: RunningBot, actions: FakeRuns) -> None:
    _, reply = answer(bot, "v1.2.9 api")
    got = ephemeral_text(bot, reply)
    assert "`v1.2.9` is not a tag of acme/api. Nearest tags: `v1.2.4`, `v1.2.3`, `v1.2.2`." \
        in got


def test_a_release_name_shows_the_runs_of_its_tag(bot: RunningBot, fake_github: FakeGitHub,
                                                  actions: FakeRuns) -> None:
    RepoState(fake_github).release("acme/api", "v1.2.3", "1.2.3-final")
    release_runs(actions)
    _, reply = answer(bot, "1.2.3-final api")
    got = ephemeral_text(bot, reply)
    assert f"commit `{sha_of('v1.2.3')[:12]}`" in got and "❌ CI #7" in got


def test_an_unknown_run_id_is_a_clear_message(bot: RunningBot, actions: FakeRuns) -> None:
    _, reply = answer(bot, "999 api")
    assert "There is no workflow run 999 in acme/api" in ephemeral_text(bot, reply)


def test_the_service_is_asked_for_when_several_have_a_repository(bot: RunningBot,
                                                                 actions: FakeRuns) -> None:
    got, _ = answer(bot, "v1.2.3")
    assert "Which service? Name one of `api`, `web`, e.g. `/ci v1.2.3 api`." in got
    got, _ = answer(bot, "v1.2.3 worker")
    assert "`worker` has no GitHub repository configured" in got
    assert answer(bot, "help")[0].startswith("*Usage*")


def test_rate_limited_says_when_it_resets(bot: RunningBot, fake_github: FakeGitHub,
                                          actions: FakeRuns) -> None:
    fake_github.status = 403
    fake_github.headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": RESET}
    _, reply = answer(bot, "v1.2.3 api")
    got = ephemeral_text(bot, reply)
    assert "rate limit exceeded (it resets at 00:00 UTC)" in got, got
    assert got.endswith("please try again then.") and "in a minute" not in got
    fake_github.status, fake_github.headers = 429, {"Retry-After": "42"}
    _, reply = answer(bot, "rerun 101 api")
    got = ephemeral_text(bot, reply)
    assert "retry after 42 s" in got and "in a minute" not in got


def test_github_down_says_try_again(bot: RunningBot, fake_github: FakeGitHub,
                                    actions: FakeRuns) -> None:
    fake_github.status = 502
    _, reply = answer(bot, "101 api")
    got = ephemeral_text(bot, reply)
    assert "502" in got and "try again" in got.lower(), got


@pytest.mark.parametrize("config_data", ["http://127.0.0.1:9"], indirect=True)  # nobody there
def test_github_unreachable_says_try_again(bot: RunningBot) -> None:
    _, reply = answer(bot, "101 api")
    got = ephemeral_text(bot, reply)
    assert "unreachable" in got and "try again" in got.lower(), got
    assert "Traceback" not in got


def test_a_deployer_reruns_the_failed_jobs_audited_and_announced(
        bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    ack, reply = answer(bot, "rerun 101 --failed api")
    assert ack.startswith("⏳ Re-running its failed jobs: workflow run 101 of `api`")
    (post,) = bot.requester.response_posts(reply)
    assert post.args["response_type"] == "in_channel"  # announced in the channel
    got = str(post.args["text"])
    assert got.startswith(f"🔁 <@{REQUESTER}> re-ran the failed jobs of "
                          "*<https://github.example/acme/api/actions/runs/101|CI #7>*")
    assert actions.reruns == [("acme/api", 101, "rerun-failed-jobs")]
    ((actor, details),) = rerun_rows(bot)
    assert actor == REQUESTER
    assert (details["run_id"], details["failed_only"], details["repository"]) == (
        101, True, "acme/api")


def test_a_whole_rerun_posts_to_rerun(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 102 api")
    bot.requester.response_posts(reply)
    assert actions.reruns == [("acme/api", 102, "rerun")]


def test_a_non_deployer_is_refused_and_nothing_is_rerun(bot: RunningBot,
                                                        actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 101 api", user=OUTSIDER)
    got = ephemeral_text(bot, reply)
    assert "You may not re-run the CI of `api`: that needs the `deployers` role" in got
    assert actions.reruns == [] and rerun_rows(bot) == []


def test_a_run_in_progress_is_refused_clearly(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 103 api")
    got = ephemeral_text(bot, reply)
    assert "Workflow run 103 (Deploy) of acme/api is still in progress" in got
    assert actions.reruns == [] and rerun_rows(bot) == []


def test_rerun_failed_of_a_passing_run_is_refused(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 102 --failed api")
    assert "no failed jobs to re-run" in ephemeral_text(bot, reply)
    assert actions.reruns == []


def test_github_refusing_the_rerun_is_a_clear_message(bot: RunningBot,
                                                      actions: FakeRuns) -> None:
    release_runs(actions)
    actions.rerun_status, actions.rerun_message = 409, "The run is being re-run already"
    _, reply = answer(bot, "rerun 101 api")
    got = ephemeral_text(bot, reply)
    assert "GitHub refused to re-run workflow run 101 of acme/api (409)" in got
    assert "The run is being re-run already" in got
    assert rerun_rows(bot) == []


def test_an_unknown_run_cannot_be_rerun(bot: RunningBot, actions: FakeRuns) -> None:
    _, reply = answer(bot, "rerun 999 api")
    assert "There is no workflow run 999 in acme/api" in ephemeral_text(bot, reply)


# -- `/ci rerun <run-id> --job=<job-id>` (issue 16): one job, as `gh run rerun --job` ----------

def test_a_deployer_reruns_one_job_audited_and_announced(
        bot: RunningBot, fake_github: FakeGitHub, actions: FakeRuns) -> None:
    release_runs(actions)  # run 101's jobs: 10101 lint, 10102 test (3.12) (failed)
    _, reply = answer(bot, "101 api")
    assert "· job `10102`" in ephemeral_text(bot, reply)  # where the id comes from
    ack, reply = answer(bot, "rerun 101 --job=10102 api")
    assert ack.startswith("⏳ Re-running job 10102 of it: workflow run 101 of `api`")
    (post,) = bot.requester.response_posts(reply)
    assert post.args["response_type"] == "in_channel"
    got = str(post.args["text"])
    web = "https://github.example/acme/api/actions/runs/101"
    assert got.startswith(f"🔁 <@{REQUESTER}> re-ran job *<{web}/job/10102|test (3.12)>* "
                          f"(and the jobs that depend on it) of *<{web}|CI #7>* of `api`")
    assert "the job had ended in failure" in got
    assert "job `10102`" in json.dumps(post.args["blocks"])
    assert actions.job_reruns == [("acme/api", 10102)] and actions.reruns == []
    assert ("POST", "/repos/acme/api/actions/jobs/10102/rerun") in [
        (r.method, r.path) for r, _ in fake_github.server.log]
    ((actor, details),) = rerun_rows(bot)
    assert actor == REQUESTER
    assert (details["run_id"], details["job_id"], details["job"], details["failed_only"]) == (
        101, 10102, "test (3.12)", False)


def test_job_given_with_a_space_reruns_that_job(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 101 --job 10101 api")
    bot.requester.response_posts(reply)
    assert actions.job_reruns == [("acme/api", 10101)]


def test_a_non_deployer_may_not_rerun_a_job(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 101 --job=10102 api", user=OUTSIDER)
    assert "You may not re-run the CI of `api`" in ephemeral_text(bot, reply)
    assert actions.job_reruns == [] and rerun_rows(bot) == []


def test_a_job_of_another_run_is_refused_naming_its_run(bot: RunningBot,
                                                        actions: FakeRuns) -> None:
    release_runs(actions)
    actions.add_run("acme/api", run_id=105, name="Nightly", tag="v1.2.3",
                    conclusion="failure", jobs=[{"name": "e2e", "conclusion": "failure"}])
    _, reply = answer(bot, "rerun 101 --job=10501 api")
    got = ephemeral_text(bot, reply)
    assert ("Job 10501 (e2e) of acme/api belongs to workflow run 105, not to run 101 (CI). "
            "Re-run it with `/ci rerun 105 --job=10501`") in got
    assert actions.job_reruns == [] and rerun_rows(bot) == []


def test_an_unknown_job_is_a_clear_message(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    _, reply = answer(bot, "rerun 101 --job=424242 api")
    assert "There is no job 424242 in acme/api" in ephemeral_text(bot, reply)
    assert actions.job_reruns == []


def test_github_refusing_a_job_rerun_is_explained(bot: RunningBot, actions: FakeRuns) -> None:
    release_runs(actions)
    actions.rerun_status = 403
    actions.rerun_message = "Unable to re-run this job: its logs have expired"
    _, reply = answer(bot, "rerun 101 --job=10102 api")
    got = ephemeral_text(bot, reply)
    assert "GitHub refused to re-run job 10102 of acme/api (403)" in got
    assert "too old to re-run" in got
    assert "GitHub says: Unable to re-run this job: its logs have expired" in got
    assert actions.job_reruns == [] and rerun_rows(bot) == []


def test_job_and_failed_together_is_a_usage_error(bot: RunningBot, actions: FakeRuns) -> None:
    got, _ = answer(bot, "rerun 101 --failed --job=10102 api")
    assert got.startswith("⚠️ `--failed` and `--job` do not go together")
    assert "*Usage*" in got and "--job=&lt;job-id&gt;" in got
    assert actions.job_reruns == [] and actions.reruns == []
