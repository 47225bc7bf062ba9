"""Which deployments can be aborted, what an abort does in words, and `/deploy abort <id>`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import DEFAULT_VERSION_PATTERN
from bot.domain.abort import abort_refusal, what_abort_does
from bot.domain.commands import AbortArgs, UsageError, parse_deploy
from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State

AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
RUNNING = Deployment(id=7, service="api", environment="production", version="v1.2.4",
                     previous_version="v1.2.3", state=State.RUNNING, requested_by="U0ALICE",
                     requested_at=AT, approvals_required=1)


def parse(text: str) -> object:
    return parse_deploy(text, environments=("staging", "production"), services=("api",),
                        version_patterns={"api": DEFAULT_VERSION_PATTERN})


@pytest.mark.parametrize("state", [State.RUNNING, State.VERIFYING])
def test_a_deploy_rolling_out_or_watched_can_be_aborted(state: State) -> None:
    assert abort_refusal(replace(RUNNING, state=state)) is None


def test_what_an_abort_does() -> None:
    assert what_abort_does(RUNNING) == \
        "stop the rollout of api v1.2.4 in production and roll back to v1.2.3"
    assert what_abort_does(replace(RUNNING, state=State.VERIFYING)) == \
        "stop the watch of api v1.2.4 in production and roll back to v1.2.3"
    assert what_abort_does(replace(RUNNING, previous_version=None)).endswith(
        "(no previous version is known, so nothing is rolled back)")


@pytest.mark.parametrize(("change", "says"), [
    ({"state": State.SUCCEEDED}, "Deployment #7 already succeeded; nothing to abort."),
    ({"state": State.ROLLED_BACK}, "Deployment #7 already rolled back; nothing to abort."),
    ({"state": State.FAILED}, "Deployment #7 already failed; nothing to abort."),
    ({"state": State.QUEUED}, "Deployment #7 has not started yet (queued); nothing to abort."),
    ({"state": State.SCHEDULED}, "`/deploy cancel 7` cancels it."),
    ({"state": State.AWAITING_APPROVAL}, "An approver can reject it."),
    ({"abort_requested_by": "U0BOB"}, "Deployment #7 is already being aborted by <@U0BOB>"),
    ({"kind": Kind.ROLLBACK}, "Deployment #7 is a rollback; a rollback cannot be aborted"),
    ({"kind": Kind.MIGRATE}, "is a migration run; a migration run cannot be aborted"),
    ({"instance": "pr-7"}, "deploys the PR #7 preview; a preview cannot be aborted"),
])
def test_what_cannot_be_aborted_says_why(change: dict[str, object], says: str) -> None:
    refusal = abort_refusal(replace(RUNNING, **change))  # type: ignore[arg-type]
    assert refusal is not None and says in refusal, refusal


@pytest.mark.parametrize(("text", "number"), [
    ("abort 42", 42), ("abort #42", 42), ("  abort   7 ", 7),
])
def test_abort_forms(text: str, number: int) -> None:
    assert parse(text) == AbortArgs(number)


@pytest.mark.parametrize(("text", "problem"), [
    ("abort", "Which deployment should I abort?"),
    ("abort x", "`x` is not a deployment number"),
    ("abort -1", "`-1` is not a deployment number"),
    ("abort \uff14\uff12", "is not a deployment number"),  # fullwidth digits
    ("abort 1234567890123456789", "is not a deployment number"),  # more than an id holds
    ("abort 42 now", "takes one deployment number; `now` was not expected"),
])
def test_bad_abort_input_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert problem in info.value.problem
