"""Parsing `/ci` text: versions, run ids, re-runs, the optional service, and clear refusals."""

from __future__ import annotations

import pytest

from bot.domain.ci_commands import (
    CIHelpArgs,
    CIRerunArgs,
    CIRunsArgs,
    CIUsageError,
    parse_ci,
)
from bot.domain.workflow_runs import icon, outcome

ONE = {"services_with_repository": ["api"], "services": ["api", "worker"]}
TWO = {"services_with_repository": ["api", "web"], "services": ["api", "web", "worker"]}


@pytest.mark.parametrize(("text", "expected"), [
    ("v1.2.3", CIRunsArgs("api", version="v1.2.3")),
    ("v1.2.3 api", CIRunsArgs("api", version="v1.2.3")),
    ("api v1.2.3", CIRunsArgs("api", version="v1.2.3")),
    ("  1234567890 ", CIRunsArgs("api", run_id=1234567890)),
    ("rerun 42", CIRerunArgs("api", 42)),
    ("rerun 42 --failed", CIRerunArgs("api", 42, failed_only=True)),
    ("rerun --failed 42 api", CIRerunArgs("api", 42, failed_only=True)),
    ("rerun 42 --job=4201", CIRerunArgs("api", 42, job_id=4201)),
    ("rerun 42 --job 4201", CIRerunArgs("api", 42, job_id=4201)),
    ("rerun --job 4201 42 api", CIRerunArgs("api", 42, job_id=4201)),
    ("help", CIHelpArgs()),
])
def test_accepted_forms_with_one_service(text: str, expected: object) -> None:
    assert parse_ci(text, **ONE) == expected


def test_the_service_is_needed_when_several_have_a_repository() -> None:
    with pytest.raises(CIUsageError, match=r"Which service\? Name one of `api`, `web`, e.g. "
                                           r"`/ci v1.2.3 api`"):
        parse_ci("v1.2.3", **TWO)
    with pytest.raises(CIUsageError, match=r"e.g. `/ci rerun 7 --failed api`"):
        parse_ci("rerun 7 --failed", **TWO)
    assert parse_ci("7 web", **TWO) == CIRunsArgs("web", run_id=7)
    assert parse_ci("rerun 7 web", **TWO) == CIRerunArgs("web", 7)
    with pytest.raises(CIUsageError, match=r"e.g. `/ci rerun 7 --job=9 api`"):
        parse_ci("rerun 7 --job=9", **TWO)
    assert parse_ci("rerun 7 web --job=9", **TWO) == CIRerunArgs("web", 7, job_id=9)


@pytest.mark.parametrize(("text", "message"), [
    ("", "Which version or workflow run?"),
    ("v1.2.3 nope", "Unknown service `nope`"),
    ("v1.2.3 worker", "`worker` has no GitHub repository configured"),
    ("v1.2.3 --failed", "`--failed` goes with `/ci rerun"),
    ("v1.2.3 -x", "Unknown option `-x`"),
    ("rerun", "Which workflow run?"),
    ("rerun v1.2.3", "Which workflow run?"),
    ("rerun 1 2", "One run at a time"),
    ("rerun 1 --all", "takes only `--failed`"),
    ("rerun 0", "`0` is not a workflow run id"),
    ("rerun 1 --job=2 --failed", "`--failed` and `--job` do not go together"),
    ("rerun 1 --failed --job 2", "`--failed` and `--job` do not go together"),
    ("rerun 1 --job", "Which job? `--job` needs a job id"),
    ("rerun 1 --job --failed", "Which job? `--job` needs a job id"),
    ("rerun 1 --job=", "Which job? `--job` needs a job id"),
    ("rerun 1 --job=lint", "`lint` is not a job id"),
    ("rerun 1 --job=0", "`0` is not a job id"),
    ("rerun 1 --job=2 --job=3", "One job at a time: `--job` was given 2 times"),
    ("rerun --job=2", "Which workflow run?"),
    ("7 --job=2", "`--job` goes with `/ci rerun &lt;run-id&gt; --job=&lt;job-id&gt;`"),
    ("v1.2.3 api extra", "Too many words"),
    ("<!channel>", "neither a version"),
    ("api", "Which version or workflow run of `api`?"),
    ("x" * 400, "the limit is 300"),
])
def test_bad_text_is_refused_with_the_reason_and_the_usage(text: str, message: str) -> None:
    with pytest.raises(CIUsageError) as e:
        parse_ci(text, **ONE)
    assert message in e.value.message
    assert "*Usage*" in e.value.message
    assert "<!channel>" not in e.value.message


def test_no_service_with_a_repository_says_what_to_configure() -> None:
    with pytest.raises(CIUsageError, match=r"services.&lt;name&gt;.github.repository"):
        parse_ci("v1.2.3", services_with_repository=[], services=["api"])


@pytest.mark.parametrize(("status", "conclusion", "mark", "said"), [
    ("completed", "success", "✅", "success"),
    ("completed", "failure", "❌", "failure"),
    ("completed", "timed_out", "❌", "timed out"),
    ("in_progress", None, "⏳", "in progress"),
    ("queued", None, "⏳", "queued"),
    ("completed", "cancelled", "🚫", "cancelled"),
])
def test_run_icons_and_outcomes(status: str, conclusion: str | None, mark: str,
                                said: str) -> None:
    assert (icon(status, conclusion), outcome(status, conclusion)) == (mark, said)
