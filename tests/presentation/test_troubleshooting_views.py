"""What `/rollout`, `/pods` and `/events` show, from plain answers: the guide's `kubectl get`
columns in readable Block Kit, times in the configured zone, durations humanised, unhealthy
pods and warnings first, text from the cluster escaped, and Slack's limits (50 blocks, 3,000
characters a section) kept however long the lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.troubleshooting_answers import (
    ActionsRollout,
    EventsAnswer,
    KubeRollout,
    PodsAnswer,
    SimulatedRollout,
)
from bot.domain.troubleshooting_commands import TroubleshootArgs
from bot.domain.workflow_runs import RunJob, Step, WorkflowRun
from bot.domain.workloads import (
    Condition,
    EventView,
    PodView,
    ReplicaSetView,
    RolloutView,
    Termination,
)
from bot.presentation.troubleshooting_views import answer_message, reading, span

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def pod(name: str, *, healthy: bool = True, **kw: object) -> PodView:
    values: dict[str, object] = dict(
        name=name, version="v1.2.2", ready=1, containers=1, phase="Running",
        waiting_reason=None, waiting_message=None, restarts=0, last_termination=None,
        container="api", created=ago(days=2), node="node-2")
    if not healthy:
        values.update(version="v1.2.3", ready=0, waiting_reason="CrashLoopBackOff",
                      waiting_message="back-off 40s restarting failed container=api",
                      restarts=5, last_termination=Termination("Error", 1, ago(minutes=3)),
                      created=ago(minutes=10), node="node-1")
    values.update(kw)
    return PodView(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (45, "45s"), (180, "3m"),
                                           (3600, "1h"), (7500, "2h 5m"), (86400 * 3, "3d"),
                                           (86400 * 3 + 4 * 3600 + 60, "3d 4h"), (-5, "0s")])
def test_durations_read_as_people_say_them(seconds: int, text: str) -> None:
    assert span(timedelta(seconds=seconds)) == text


def test_the_acknowledgement_says_what_is_read() -> None:
    assert reading(TroubleshootArgs("pods", "production", "api")) == (
        "⏳ Listing the pods of `api` in production… (the answer follows here)")


def test_a_rollout_under_way() -> None:
    view = RolloutView(
        deployment="api", namespace="production", desired=3, updated=1, ready=2, available=2,
        conditions=(Condition("Available", "True", "MinimumReplicasAvailable",
                              "Deployment has minimum availability.", ago(hours=3)),
                    Condition("Progressing", "True", "ReplicaSetUpdated",
                              'ReplicaSet "api-7d9c" is progressing.', ago(minutes=4))),
        current=ReplicaSetView("api-7d9c", "v1.2.3", 4, "deploybot #12: v1.2.3 by <@U1>", 1, 0,
                               ago(minutes=4)),
        previous=ReplicaSetView("api-5f8b", "v1.2.2", 3, None, 2, 2, ago(days=2)),
        rollout_started=ago(minutes=4), settled=False)
    m = answer_message(KubeRollout("production", "api", view, NOW), ZONE)
    assert m.text == (
        "*Rollout of `api` in production* — Deployment `api` in namespace `production`\n"
        "🔄 Rolling out · desired *3* · updated *1* · ready *2* · available *2*\n"
        "The current rollout started Wed 2026-11-18 09:56 EST: it has run for 4m.\n"
        "*Conditions*\n"
        "✅ *Available* True — MinimumReplicasAvailable: Deployment has minimum availability. "
        "_(3h ago)_\n"
        "✅ *Progressing* True — ReplicaSetUpdated: ReplicaSet \"api-7d9c\" is progressing. "
        "_(4m ago)_\n"
        "*Current:* `v1.2.3` — ReplicaSet `api-7d9c` · revision 4 · 0/1 ready · created 4m ago\n"
        "      cause: deploybot #12: v1.2.3 by &lt;@U1&gt;\n"
        "*Previous:* `v1.2.2` — ReplicaSet `api-5f8b` · revision 3 · 2/2 ready · created 2d ago\n"
        "Read from the cluster · Wed 2026-11-18 10:00 EST")
    assert [b["type"] for b in m.blocks] == ["section"] * 4 + ["context"]


def test_a_stuck_rollout_and_a_missing_deployment() -> None:
    view = RolloutView("api", "production", 3, 1, 3, 3, (
        Condition("Progressing", "False", "ProgressDeadlineExceeded",
                  'ReplicaSet "api-7d9c" has timed out progressing.'),), None, None, None,
        settled=False)
    shown = answer_message(KubeRollout("production", "api", view, NOW), ZONE).text
    assert "❌ Stuck (ProgressDeadlineExceeded) · desired *3*" in shown
    assert "❌ *Progressing* False — ProgressDeadlineExceeded" in shown
    assert "*Current:* none\n*Previous:* none" in shown
    missing = answer_message(KubeRollout("production", "api", None, NOW), ZONE).text
    assert "There is no Deployment of `api` in production: nothing runs there yet." in missing


def test_what_the_simulated_executor_knows() -> None:
    shown = answer_message(SimulatedRollout("staging", "api", "v1.3.0", ago(hours=2),
                                            ("v1.2.3", "v1.2.2"), NOW), ZONE).text
    assert "Runs `v1.3.0` since Wed 2026-11-18 08:00 EST (2h ago)." in shown
    assert "Before it: `v1.2.3`, `v1.2.2`." in shown
    nothing = answer_message(SimulatedRollout("staging", "api", None, None, (), NOW), ZONE)
    assert "Nothing was rolled out there yet." in nothing.text


def test_the_latest_deploy_run_and_its_jobs() -> None:
    url = "https://github.com/acme/api/actions/runs/77"
    run = WorkflowRun(77, "Deploy", "Deploy v1.3.0 to staging (deploybot-3-v1.3.0)", 9, 1,
                      "completed", "failure", url, "abc", "main", "workflow_dispatch",
                      ago(minutes=10), ago(minutes=2), "alice")
    jobs = (RunJob(1, "build", "completed", "success", f"{url}/job/1"),
            RunJob(2, "deploy", "completed", "failure", f"{url}/job/2",
                   (Step(3, "Roll out", "completed", "failure"),)))
    m = answer_message(ActionsRollout("staging", "api", "acme/api", "deploy.yml", run, jobs,
                                      NOW), ZONE)
    assert (f"*Latest deploy run:* <{url}|❌ Deploy v1.3.0 to staging (deploybot-3-v1.3.0) "
            "#9> — failure · started Wed 2026-11-18 09:50 EST (10m ago) by alice · took 8m"
            ) in m.text
    assert f"✅ <{url}/job/1|build> — success" in m.text
    assert f"↳ failed step 3: <{url}/job/2#step:3:1|Roll out>" in m.text
    assert "`/ci rerun 77 --failed`" in m.text


def test_pods_unhealthy_first_with_reason_restarts_last_termination_age_and_node() -> None:
    m = answer_message(PodsAnswer("production", "api", (
        pod("api-7d9c-x2x", healthy=False), pod("api-5f8b-abc")), NOW), ZONE)
    assert m.text == (
        "*Pods of `api` in production* — 2 pod(s), 1 unhealthy\n"
        "❌ *`api-7d9c-x2x`* — `v1.2.3` · 0/1 ready · *CrashLoopBackOff*\n"
        "restarts 5 · last termination: Error, exit 1, 3m ago · age 10m · node `node-1`\n"
        "> back-off 40s restarting failed container=api\n"
        "✅ *`api-5f8b-abc`* — `v1.2.2` · 1/1 ready · *Running*\n"
        "restarts 0 · age 2d · node `node-2`\n"
        "Read from the cluster · Wed 2026-11-18 10:00 EST · `/logs production api` shows a "
        "pod's log")


def test_an_unschedulable_pod_quotes_the_scheduler() -> None:
    p = pod("api-1", phase="Pending", ready=0, node=None,
            unschedulable="0/3 nodes are available: 3 Insufficient cpu.")
    shown = answer_message(PodsAnswer("production", "api", (p,), NOW), ZONE).text
    assert "❌ *`api-1`* — `v1.2.2` · 0/1 ready · *Pending*" in shown
    assert "· no node\n> 0/3 nodes are available: 3 Insufficient cpu." in shown


def test_long_lists_are_capped_within_slacks_limits() -> None:
    pods = tuple(pod(f"api-{i}", healthy=i % 2 == 0, waiting_message="x" * 5000)
                 for i in range(120))
    m = answer_message(PodsAnswer("production", "api", pods, NOW), ZONE)
    assert len(m.blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in m.blocks if b["type"] == "section")
    assert m.blocks[-2]["text"]["text"] == "… and 100 more pod(s)"
    events = tuple(EventView("Warning", "BackOff", "y" * 4000, f"Pod/api-{i}", i + 1,
                             ago(minutes=i)) for i in range(200))
    e = answer_message(EventsAnswer("production", "api", events, NOW), ZONE)
    assert len(e.blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in e.blocks if b["type"] == "section")
    assert e.blocks[-2]["text"]["text"].endswith("… and 160 more event(s)")


def test_events_warnings_marked_with_count_age_and_object() -> None:
    m = answer_message(EventsAnswer("production", "api", (
        EventView("Warning", "BackOff", "Back-off restarting failed container api",
                  "Pod/api-7d9c-x2x", 12, ago(minutes=1)),
        EventView("Normal", "ScalingReplicaSet", "Scaled up replica set api-7d9c to 1",
                  "Deployment/api", 1, ago(minutes=4))), NOW), ZONE)
    assert m.text.splitlines()[:3] == [
        "*Events of `api` in production* — 2 event(s), 1 warning(s)",
        "⚠️ *BackOff* (12 times) `Pod/api-7d9c-x2x` · 1m ago — Back-off restarting failed "
        "container api",
        "• *ScalingReplicaSet* `Deployment/api` · 4m ago — Scaled up replica set api-7d9c to 1"]


def test_cluster_text_cannot_mention_or_break_out() -> None:
    p = pod("api-1", healthy=False, waiting_message="<!channel> `boom`\n& more")
    shown = answer_message(PodsAnswer("production", "api", (p,), NOW), ZONE).text
    assert "> &lt;!channel&gt; 'boom' &amp; more" in shown
    assert "<!channel>" not in shown
