"""How a version that is not all running reads, in `/deploy status` and on App Home (one
wording, bot/presentation/live_views.py): a failed rollout left applied says when it was
applied, that it is not running, and which version still serves; a rollout under way says
how far it is. Message lint and golden files (status_rollout.txt, home_rollout.txt; write
them with UPDATE_GOLDEN=1, then review the diff)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.live import Live, Observed, Progress, Recorded, Serving
from bot.domain.policy import PolicyDecision
from bot.presentation.home_views import home_view
from bot.presentation.live_views import live_line, version_text
from bot.presentation.parts import Message
from bot.presentation.status_views import status_view
from bot.services.home import EnvironmentHome, Home, ServiceLine
from bot.services.policy import WindowStatus
from tests.presentation.message_lint import problems, rendered

ZONE = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # Wed 11:00 in New York
M = timedelta(minutes=1)
GOLDEN = Path(__file__).parent / "golden"

#: v1.2.4-bad applied at 11:00, its new pods cannot pull their image; v1.2.3's serve.
STUCK = Observed(version="v1.2.4-bad", since=None, settled=False, deployment_id=2,
                 progress=Progress(applied=T0, available=0, desired=3,
                                   serving=(Serving("v1.2.3", None, 3),)))
#: v1.2.4 applied at 10:05, two of its three pods serve, one of v1.2.3's still does.
ROLLING = Observed(version="v1.2.4", since=None, settled=False,
                   progress=Progress(applied=T0 - 55 * M, available=2, desired=3,
                                     serving=(Serving("v1.2.3", None, 1),)))
#: Past its progress deadline, with a hand-made hotfix image still serving too.
DEADLINE = Observed(version="v2.0.0", since=None, settled=False,
                    detail="rollout stuck: ProgressDeadlineExceeded",
                    progress=Progress(applied=None, available=0, desired=1, serving=(
                        Serving(None, "registry.local/hotfix/web@sha256:abc", 1),)))


def live(service: str, observed: Observed, *, environment: str = "staging") -> Live:
    recorded = Recorded("v1.2.3", T0 - 120 * M, 1)
    return Live(environment, service, observed.version, observed.since, "cluster",
                recorded=recorded, observed=observed)


def test_a_failed_rollout_left_applied_is_not_shown_running_and_the_old_version_is_named(
) -> None:
    line = live_line(live("api", STUCK), ZONE)
    assert line == ("`staging` / `api`: `v1.2.4-bad` applied Wed 2026-12-02 11:00 EST, not "
                    "running (0/3 new pods available); `v1.2.3` still serves (3 old pods)")
    assert "since" not in line


def test_mid_rollout_says_how_far_and_what_still_serves() -> None:
    assert live_line(live("api", ROLLING), ZONE) == (
        "`staging` / `api`: `v1.2.4` applied Wed 2026-12-02 10:05 EST, rolling out: 2/3 new "
        "pods available; `v1.2.3` still serves (1 old pod)")


def test_a_stuck_rollout_says_why_and_an_unknown_apply_time_is_not_invented() -> None:
    assert version_text("v2.0.0", None, DEADLINE, ZONE) == (
        "`v2.0.0` applied, not running (0/1 new pod available; rollout stuck: "
        "ProgressDeadlineExceeded); `registry.local/hotfix/web@sha256:abc` still serves "
        "(1 old pod)")


def test_nothing_serving_is_said() -> None:
    bare = Observed("v1.2.4-bad", settled=False,
                    progress=Progress(applied=T0, available=0, desired=3))
    assert version_text("v1.2.4-bad", None, bare, ZONE).endswith(
        "not running (0/3 new pods available); no pod serves")


def test_settled_and_uncounted_answers_read_as_before() -> None:
    assert version_text("v1.2.3", T0, Observed("v1.2.3", since=T0), ZONE) == (
        "`v1.2.3` since Wed 2026-12-02 11:00 EST")
    assert version_text("v1.2.3", None, None, ZONE) == "`v1.2.3` (since unknown)"
    uncounted = Observed("v1.2.4", since=T0, settled=False, detail="2/3 pods updated")
    assert version_text("v1.2.4", T0, uncounted, ZONE) == (
        "`v1.2.4` since Wed 2026-12-02 11:00 EST — rollout not settled: 2/3 pods updated")


def _window(env: str) -> WindowStatus:
    return WindowStatus(environment=env, decision=PolicyDecision(
        allowed=True, reasons=(), next_allowed_at=T0), next_change=T0 + 180 * M,
        upcoming=(), schedule=None)


HOME = Home(at=T0, environments=(
    EnvironmentHome(window=_window("staging"), services=(
        ServiceLine("api", "v1.2.4-bad", None, True, None, unsettled=STUCK),
        ServiceLine("web", "v1.2.4", None, True, None, unsettled=ROLLING),
        ServiceLine("worker", "v3.0.0", T0 - 60 * M, True, None))),),
    pending=(), pending_total=0, recent=(), unresolved=0)

KINDS: dict[str, Any] = {
    "status_rollout": lambda: status_view(
        [live("api", STUCK), live("web", ROLLING), live("worker", DEADLINE)], [], ZONE),
    "home_rollout": lambda: home_view(HOME, ZONE),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_status_and_home_read_right(kind: str) -> None:
    message: Message | dict[str, Any] = KINDS[kind]()
    assert problems(message) == []
    path = GOLDEN / f"{kind}.txt"
    text = rendered(message)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no {path.name}: write it with UPDATE_GOLDEN=1, then review it"
    assert text == path.read_text(encoding="utf-8"), \
        f"{path.name} changed: review the diff, then UPDATE_GOLDEN=1"


def test_home_says_it_as_status_does() -> None:
    text = rendered(home_view(HOME, ZONE))
    assert ("• `api` `v1.2.4-bad` applied Wed 2026-12-02 11:00 EST, not running (0/3 new "
            "pods available); `v1.2.3` still serves (3 old pods)") in text
    assert ("• `web` `v1.2.4` applied Wed 2026-12-02 10:05 EST, rolling out: 2/3 new pods "
            "available; `v1.2.3` still serves (1 old pod)") in text
    assert "• `worker` `v3.0.0` since Wed 2026-12-02 10:00 EST" in text
