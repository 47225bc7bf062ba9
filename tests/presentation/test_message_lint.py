"""Every kind of message deploybot sends reads right in Slack (tests/presentation/
message_lint.py says what that means): cards, records, announcements, refusals, status,
history, audit, App Home, DMs, alerts, the troubleshooting and /logs answers, freeze and
lock notices, the usage texts and the error replies — each rendered through the real
presentation functions from representative domain values, with what a user typed
(message_lint.HOSTILE: `<!channel>`, `<@U123>`, `*bold*`, `&`, a tag) wherever free text
goes in.

The main kinds are also kept as golden files (tests/presentation/golden/*.txt), reviewed as
text in the diff; `UPDATE_GOLDEN=1` rewrites them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain import (
    audit_commands,
    ci_commands,
    commands,
    freeze_commands,
    history_commands,
    lock_commands,
    log_commands,
    rollback_commands,
)
from bot.domain.alerts import Alert
from bot.domain.announcements import PlannedAnnouncement
from bot.domain.audit import AuditEvent
from bot.domain.busy import busy_message
from bot.domain.cause import Cause, first_line
from bot.domain.checklist import Tick, evaluate
from bot.domain.checklist_facts import Commit, PullRequest
from bot.domain.deploy_form import TAGS_FAILED, TAGS_LATE, FormChoices
from bot.domain.deployment import (
    Decision,
    Deployment,
    JobOutcome,
    Kind,
    Promotion,
    Verification,
)
from bot.domain.dora import DoraStats, Restore
from bot.domain.failure_evidence import FailureEvidence
from bot.domain.freezes import Freeze, RuntimeFreeze
from bot.domain.links import Link
from bot.domain.live import Live
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision
from bot.domain.rollback_plan import RollbackPlan
from bot.domain.severity import Outcome, Severity
from bot.domain.states import State
from bot.domain.troubleshooting_answers import EventsAnswer, KubeRollout, PodsAnswer
from bot.domain.workflow_runs import CIReport, RunDetail, RunJob, Step, WorkflowRun
from bot.domain.workloads import (
    Condition,
    EventView,
    PodView,
    ReplicaSetView,
    RolloutView,
    Termination,
)
from bot.errors import RetryableError, UserError
from bot.ports import TriggerExpired
from bot.presentation import (
    alert_views,
    announcements,
    audit_views,
    blocks,
    checklist_form_views,
    ci_views,
    deploy_form_views,
    freeze_views,
    history_views,
    home_views,
    ids,
    interrupted_views,
    live_views,
    lock_views,
    log_views,
    migration_views,
    reject_views,
    rollback_views,
    status_views,
    troubleshooting_views,
)
from bot.presentation.checklist_views import tick_reply, with_checklist
from bot.presentation.evidence_views import failure_evidence
from bot.presentation.parts import Message
from bot.services.freezes import FreezeEntry
from bot.services.home import EnvironmentHome, Home, ServiceLine
from bot.services.migrations import DatabaseCheck, MigrationStatus
from bot.services.policy import WindowStatus
from handlers.replies import error_message
from tests.domain.test_checklist import FEATURE_FLAGS, comparison, green_facts, rules
from tests.presentation.message_lint import HOSTILE, LONG, problems, rendered

ZONE = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 4, 18, 55, tzinfo=UTC)  # Fri 13:55 in New York
M = timedelta(minutes=1)
GOLDEN = Path(__file__).parent / "golden"
LINKS = (Link("Dashboard", "https://grafana.example.com/d/api?var-env=production&x=1"),
         Link("Runbook", "https://wiki.example.com/runbooks/api"))
def dep(**kw: Any) -> Deployment:
    base: dict[str, Any] = dict(
        id=42, service="api", environment="production", version="v1.2.4",
        previous_version="v1.2.3", state=State.SUCCEEDED, requested_by="U0ALICE",
        requested_at=T0, approvals_required=1, started_at=T0 + M,
        finished_at=T0 + 4 * M, channel="C0DEPLOYS", message_ts="1.1",
        decisions=(Decision("U0CAROL", True, T0 + M / 2),))
    base.update(kw)
    return Deployment(**base)


def lock(**kw: Any) -> Lock:
    base: dict[str, Any] = dict(id=1, environment="production", service="api",
                                holder="U0BOB", reason=HOSTILE, origin="manual",
                                created_at=T0 - 25 * M, expires_at=T0 + 2 * 60 * M)
    base.update(kw)
    return Lock(**base)


FREEZE = Freeze(name="Holiday <!channel>", start=T0 + 60 * M, end=T0 + 3 * 24 * 60 * M,
                reason=HOSTILE, environments=frozenset({"production"}))


def window(env: str, open_: bool) -> WindowStatus:
    decision = (PolicyDecision(allowed=True, reasons=(), next_allowed_at=T0) if open_ else
                PolicyDecision(allowed=False, reasons=("Holiday freeze until Mon",),
                               next_allowed_at=T0 + 3 * 24 * 60 * M, blocked_by=("freeze:x",)))
    return WindowStatus(environment=env, decision=decision, next_change=T0 + 5 * M,
                        upcoming=(FREEZE,), schedule=None)


def audit_event(i: int, **kw: Any) -> AuditEvent:
    base: dict[str, Any] = dict(
        id=i, at=T0, actor="U0ALICE", action="slack.command", environment="production",
        deployment_id=None, details={"command": "/deploy", "text": HOSTILE},
        slack_channel="C1", slack_ts=None)
    base.update(kw)
    return AuditEvent(**base)


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = dict(
        deployment_id=42, service="api", environment="production", version="v1.2.4",
        kind=Kind.DEPLOY, state=State.FAILED, outcome=Outcome.PRODUCTION_FAILED,
        severity=Severity.CRITICAL, at=T0, requested_by="U0ALICE",
        error="verification failed: error rate 4.2% > 1%")
    base.update(kw)
    return Alert(**base)


FAILED_WATCH = dep(state=State.FAILED, error="verification failed: error rate 4.2% > 1%",
                   verification=Verification(ok=False, summary="error rate 4.2%",
                                             offer_rollback=True))
#: What the promotion gate found: the tag's commit succeeded in staging (a push to main
#: deployed it), or the version itself did.
BY_COMMIT = Promotion("staging", deployment_id=40, at=T0 - 5 * 60 * M, commit="3f2a9c1b7d4e")
BY_VERSION = Promotion("staging", deployment_id=41, at=T0 - 26 * 60 * M)
EMERGENCY = dep(emergency_reason=HOSTILE, approvals_required=1)
ROLLBACK = dep(id=5, kind=Kind.ROLLBACK, version="v1.2.3", previous_version="v1.2.4",
               rollback_of=4)
HOME = Home(at=T0, environments=(
    EnvironmentHome(window=window("staging", True), services=(
        ServiceLine("web", "v3.1.0", T0 - 60 * M, False, None),
        ServiceLine("api", "v1.2.4", T0, False, lock(environment="staging",
                                                     reason=LONG)))),
    EnvironmentHome(window=window("production", False), services=(
        ServiceLine("api", "v1.2.3", None, True, None),))),
    pending=(dep(state=State.AWAITING_APPROVAL, decisions=(), emergency_reason=HOSTILE,
                 expires_at=T0 + 60 * M),),
    pending_total=1, recent=(ROLLBACK, dep(), FAILED_WATCH), unresolved=0)
#: An automatic deploy of a push (its commit message and git author are anyone's text), and
#: of a pull request's head (no title: GitHub did not give one).
PUSHED = Cause("push", "main", "3f2a9c1d0e4b5f60718293a4b5c6d7e8f9012345",
               author=f"Mallory {HOSTILE}", message=first_line(f"Fix {HOSTILE} {LONG}\nbody"))
OPENED = Cause("pull_request", "feature/<x>", "3f2a9c1d0e4b5f60718293a4b5c6d7e8f9012345",
               author="octocat", pull_request=7, action="opened")
AUTOMATIC = dep(id=43, environment="staging", version="3f2a9c1d0e4b", approvals_required=0,
                decisions=(), requested_by="deploybot (github)", cause=PUSHED)
STATS = DoraStats(since=T0 - timedelta(days=30), until=T0, changes=12, failed=2, rollbacks=1,
                  restores=(Restore(1, "production", "api", T0 - 60 * M, None),))


CRASHING = PodView(name="api-7d9c-x2x4q", version="v1.2.4", ready=0, containers=1,
                   phase="Running", waiting_reason="CrashLoopBackOff",
                   waiting_message=f"back-off 40s restarting failed container {HOSTILE}",
                   restarts=5, last_termination=Termination("Error", 1, T0 - 3 * M, HOSTILE),
                   container="api", created=T0 - 10 * M, node="node-1")
EVENT = EventView("Warning", "BackOff", f"Back-off restarting {HOSTILE}", "Pod/api-7d9c-x2x4q",
                  7, T0 - M)
ROLLOUT = RolloutView(
    deployment="api", namespace="production", desired=3, updated=1, ready=2, available=2,
    conditions=(Condition("Progressing", "False", "ProgressDeadlineExceeded", HOSTILE,
                          T0 - 4 * M),),
    current=ReplicaSetView("api-7d9c", "v1.2.4", 4, f"deploybot #42: v1.2.4 by {HOSTILE}", 1,
                           0, T0 - 4 * M),
    previous=ReplicaSetView("api-5f8b", "v1.2.3", 3, None, 2, 2, T0 - 60 * M),
    rollout_started=T0 - 4 * M, settled=False)
LONG_POD = replace(CRASHING, name="api-7d9c-y7z1a", waiting_reason="CreateContainerError",
                   waiting_message=" ".join([LONG] * 3), last_termination=None)
LOG_READ = log_views.LogRead(
    environment="production", service="api", pod="api-7d9c-x2x4q", container="api",
    previous=True, tail=200, since_seconds=600, grep=HOSTILE, read_lines=120, lines=12,
    read_cut=True, read_cap=2_000_000, posted_cut_lines=3, post_cap=1_000_000, masked=1)


RUN_URL = "https://github.com/acme/api/actions/runs/77"
RUN = WorkflowRun(77, f"CI {HOSTILE}", "CI", 9, 2, "completed", "failure", RUN_URL, "abc123",
                  "main", "push", T0 - 10 * M, T0 - 2 * M, "alice")
FAILED_JOB = RunJob(2, f"test {HOSTILE}", "completed", "failure", f"{RUN_URL}/job/2",
                    (Step(3, "pytest | tee <log>", "completed", "failure"),))


def _checklist() -> Any:
    pull = PullRequest(7, f"Fix {HOSTILE}", "dana <dana@example.com>", "https://gh/pull/7",
                       True, False)
    commits = tuple(Commit(f"{i:040x}", f"change {i} {HOSTILE}", "dana",
                           f"https://gh/commit/{i}", (pull,)) for i in range(12))
    facts = green_facts(comparison=comparison(*commits, total=15))
    return evaluate(rules(), facts, [Tick(FEATURE_FLAGS, "U0BOB", T0, reason=HOSTILE)])


def checklist_card() -> Message:
    """A card awaiting approval with its checklist: commits and pull requests from GitHub
    (their titles and authors are anyone's text), a tick and a "not applicable"."""
    d = dep(state=State.AWAITING_APPROVAL, decisions=())
    checklist = _checklist()
    return with_checklist(blocks.deployment_card(d, ZONE), d, checklist)


#: Each kind: how it is built. The golden ones are marked with a leading "*".
KINDS: dict[str, Callable[[], Message | dict[str, Any] | str]] = {
    # the card, through its life
    "*card_awaiting_approval": lambda: blocks.deployment_card(
        dep(state=State.AWAITING_APPROVAL, decisions=(), expires_at=T0 + 60 * M,
            promotion=BY_COMMIT), ZONE, LINKS),
    "*card_emergency": lambda: blocks.deployment_card(
        dep(state=State.AWAITING_APPROVAL, decisions=(), emergency_reason=HOSTILE,
            promotion=Promotion("staging")), ZONE),
    "card_promoted_by_version": lambda: blocks.deployment_card(
        dep(state=State.AWAITING_APPROVAL, decisions=(), promotion=BY_VERSION), ZONE),
    "*card_rollback": lambda: blocks.deployment_card(ROLLBACK, ZONE),
    "*card_checklist": checklist_card,
    "tick_reply": lambda: tick_reply(42, FEATURE_FLAGS, _checklist(), checked=False,
                                     reason=HOSTILE),
    "record_checklist": lambda: blocks.deployment_record(dep(), ZONE, _checklist()),
    "card_failed_watch": lambda: blocks.deployment_card(FAILED_WATCH, ZONE),
    "card_migration": lambda: blocks.deployment_card(
        dep(kind=Kind.MIGRATE, target="orders 0042", state=State.RUNNING), ZONE),
    "card_scheduled": lambda: blocks.deployment_card(
        dep(state=State.SCHEDULED, decisions=(), not_before=T0 + 60 * M * 60), ZONE),
    "*card_automatic": lambda: blocks.deployment_card(replace(AUTOMATIC, state=State.RUNNING,
                                                              progress="rolling out"), ZONE),
    "card_automatic_pull_request": lambda: blocks.deployment_card(
        replace(AUTOMATIC, environment="development", cause=OPENED), ZONE),
    "card_running_long_progress": lambda: blocks.deployment_card(
        dep(state=State.RUNNING, progress="3/4 pods updated " * 30), ZONE),
    # the record, the announcement, the requester's DM
    "*record": lambda: blocks.deployment_record(
        dep(emergency_reason=HOSTILE, promotion=BY_VERSION), ZONE, links=LINKS),
    "record_promoted_by_commit": lambda: blocks.deployment_record(
        dep(promotion=BY_COMMIT), ZONE, _checklist()),
    "record_automatic": lambda: blocks.deployment_record(AUTOMATIC, ZONE),
    "record_promotion_skipped": lambda: blocks.deployment_record(
        dep(emergency_reason=HOSTILE, promotion=Promotion("staging")), ZONE),
    "*announcement_succeeded": lambda: blocks.announcement(
        dep(), ZONE, "https://slack.example.com/archives/C0DEPLOYS/p1",
        severity=Severity.LOW),
    "*announcement_emergency": lambda: blocks.announcement(
        EMERGENCY, ZONE, "https://slack.example.com/archives/C0DEPLOYS/p1",
        severity=Severity.LOW),
    "*announcement_failed_no_permalink": lambda: blocks.announcement(
        FAILED_WATCH, ZONE, None, severity=Severity.CRITICAL, mention="<!subteam^S0ONCALL>",
        links=LINKS),
    "*announcement_automatic": lambda: blocks.announcement(
        AUTOMATIC, ZONE, "https://slack.example.com/archives/C0DEPLOYS/p2",
        severity=Severity.LOW),
    "announcement_automatic_failed": lambda: blocks.announcement(
        replace(AUTOMATIC, state=State.FAILED, error="rollout timed out", cause=OPENED), ZONE,
        None, severity=Severity.MEDIUM),
    "announcement_permalink_none": lambda: blocks.announcement(
        FAILED_WATCH, ZONE, "None", severity=Severity.CRITICAL),
    "announcement_rollback": lambda: blocks.announcement(ROLLBACK, ZONE, None,
                                                         severity=Severity.HIGH),
    "dm_succeeded": lambda: blocks.requester_note(dep(), ZONE, None),
    "dm_rejected_with_reason": lambda: blocks.requester_note(dep(
        state=State.REJECTED, decisions=(Decision("U0BOB", False, T0, reason=HOSTILE),)),
        ZONE, None),
    "card_rejected_with_reason": lambda: blocks.deployment_card(dep(
        state=State.REJECTED, decisions=(Decision("U0BOB", False, T0, reason=LONG),)), ZONE),
    "na_form": lambda: checklist_form_views.not_applicable_form(
        42, "rollback_plan", private_metadata="{}"),
    "*reject_form": lambda: reject_views.reject_form(
        dep(state=State.AWAITING_APPROVAL), private_metadata="{}"),
    "dm_failed": lambda: blocks.requester_note(FAILED_WATCH, ZONE, "https://s.example/p"),
    "dm_expired_window": lambda: blocks.requester_note(
        dep(state=State.EXPIRED, not_before=T0 + 60 * M), ZONE, None),
    # replies and refusals
    "request_accepted": lambda: blocks.request_accepted(
        dep(state=State.AWAITING_APPROVAL, decisions=()), ZONE),
    "request_accepted_rollback": lambda: blocks.request_accepted(ROLLBACK, ZONE),
    "decision_reply": lambda: blocks.decision_reply(dep(), approve=True, started=True),
    # a request acked whose process stopped before answering (bot/services/acknowledged.py)
    "request_interrupted": lambda: interrupted_views.interrupted_notice(
        f"/deploy api production {HOSTILE}", T0, ZONE, channel="C0DEPLOYS", now=T0 + 6 * M),
    "request_interrupted_click": lambda: interrupted_views.interrupted_notice(
        interrupted_views.click_described(ids.APPROVE, "4"), T0, ZONE, channel="deployments",
        now=T0 + 24 * 60 * M),
    "request_interrupted_form": lambda: interrupted_views.interrupted_notice(
        interrupted_views.form_described(ids.DEPLOY_FORM), T0, ZONE, channel="C0DEPLOYS",
        now=T0 + 6 * M),
    "verdict_reply": lambda: blocks.verdict_reply(FAILED_WATCH, ROLLBACK),
    "*refusal_window_production": lambda: blocks.window_closed(
        ("Fridays after 14:00 are closed",), T0 + 3 * 24 * 60 * M, ZONE, service="api",
        environment="production", version="v1.2.4",
        request_value="api production v1.2.4"),
    "*refusal_window_staging": lambda: blocks.window_closed(
        ("Nights are closed",), T0 + 60 * M, ZONE, service="api", environment="staging",
        version="v1.2.4", request_value="api staging v1.2.4"),
    "window_open_prompt": lambda: blocks.window_open_prompt(
        dep(state=State.SCHEDULED), ZONE),
    "emergency_alert": lambda: blocks.emergency_alert(EMERGENCY, ["Holiday freeze"], ZONE),
    "*status": lambda: status_views.status_view(
        [Live("production", "api", "v1.2.4", T0, "cluster"),
         Live("staging", "api", "v1.2.3", T0, "cluster"),
         Live("staging", "web", "v3.1.0", T0, "cluster")],
        [ROLLBACK, dep(), FAILED_WATCH], ZONE,
        [window("staging", True), window("production", False)],
        [lock(environment="staging", reason=LONG, origin="rollback", deployment_id=5,
              expires_at=None),
         lock(environment="production", holder="U0CAROL")]),
    # history, audit, home
    "*history": lambda: history_views.history_view(
        [AUTOMATIC, dep(), replace(FAILED_WATCH, error=LONG), ROLLBACK],
        ZONE, environment=None, service=None, limit=20),
    "history_stats": lambda: history_views.stats_view(
        STATS, ZONE, environments=["production"], service=None, default_scope=True),
    "*audit": lambda: audit_views.audit_view(
        [audit_event(3), audit_event(2, actor="deploybot (github)", action="refusal",
                                     details={"message": audit_commands.USAGE}),
         audit_event(1, details={"reason": " ".join([LONG] * 3)})],
        ZONE, environment="production", since=T0 - timedelta(days=7), since_text="7d",
        more=True, before_id=None),
    "*home": lambda: home_views.home_view(HOME, ZONE),
    # announcements in the deployments channel
    "*freeze_start": lambda: announcements.freeze_started(FREEZE, ZONE),
    "freeze_warning": lambda: announcements.freeze_warning(FREEZE, 60 * M, ZONE),
    "freeze_end": lambda: announcements.freeze_ended(FREEZE, ZONE),
    "window_closing": lambda: announcements.text(PlannedAnnouncement(
        key="k", due_at=T0, kind="window_closing", environment="production", lead=60 * M,
        closes_at=T0 + 65 * M), ZONE),
    "freeze_list": lambda: freeze_views.freeze_list_view([], T0, ZONE, timedelta(days=30)),
    "freeze_added": lambda: freeze_views.freeze_added_announcement(
        RuntimeFreeze(7, FREEZE, "U0ALICE", T0), ZONE),
    # locks
    "*lock_refusal": lambda: lock_views.refusal(lock(reason=LONG, origin="rollback",
                                                     deployment_id=5), ZONE),
    "lock_list": lambda: lock_views.lock_list_view([lock(), lock(reason=LONG)], T0, ZONE),
    "lock_announcement": lambda: lock_views.lock_announcement(lock(), ZONE),
    "lock_expired": lambda: lock_views.expiry_announcement(lock(), ZONE),
    "locked_reply": lambda: lock_views.locked_reply(lock(), ZONE, announced=False),
    "lock_already": lambda: lock_views.already_locked(lock(), ZONE, user_id="U0ALICE"),
    "unlocked_reply": lambda: lock_views.unlocked_reply(
        lock(reason=LONG, origin="rollback", deployment_id=5), ZONE, announced=True),
    "unlock_announcement": lambda: lock_views.unlock_announcement(lock(), "U0ALICE", ZONE),
    # alerts
    "*alert_failed": lambda: alert_views.slack_text(alert(), None, LINKS),
    "alert_lock_blocked": lambda: alert_views.slack_text(
        alert(deployment_id=None, outcome=Outcome.LOCK_BLOCKED, state=State.CANCELLED,
              severity=Severity.HIGH, error=None), "https://s.example/p"),
    # troubleshooting, /logs, the failure evidence, /rollback
    "*pods": lambda: troubleshooting_views.answer_message(
        PodsAnswer("production", "api", (CRASHING, LONG_POD), T0), ZONE),
    "events": lambda: troubleshooting_views.answer_message(
        EventsAnswer("production", "api", (EVENT,), T0), ZONE),
    "rollout": lambda: troubleshooting_views.answer_message(
        KubeRollout("production", "api", ROLLOUT, T0), ZONE),
    "*logs_answer": lambda: log_views.answer_text(
        LOG_READ, permalink="https://files.example.com/F1", in_thread=True, note=None),
    "logs_comment": lambda: log_views.file_comment(LOG_READ, "U0ALICE"),
    "logs_nothing": lambda: log_views.answer_text(
        replace(LOG_READ, lines=0), permalink="", in_thread=False, note=None),
    "*failure_evidence": lambda: failure_evidence(FailureEvidence(
        environment="production", service="api", version="v1.2.4",
        pod=replace(CRASHING, waiting_message=" ".join([LONG] * 3)),
        log_lines=("booting", f"KeyError: {HOSTILE}", "```"), log_previous=True,
        events=(EVENT,)), 42, ZONE),
    "rollback_confirmation": lambda: rollback_views.rollback_confirmation(RollbackPlan(
        environment="production", service="api", current="v1.2.4", target="v1.2.3",
        candidates=("v1.2.3", "v1.2.2"),
        migrations=JobOutcome(True, "api-migrate-42", f"Applying orders.0042 {HOSTILE}"),
        migrate_hint="python manage.py migrate <app> <previous_migration>",
        approvals_required=1)),
    "*ci": lambda: ci_views.ci_report_view(CIReport(
        service="api", repository="acme/api", version="v1.2.4", sha="abc123def456",
        run_id=None, runs=(RunDetail(RUN, (FAILED_JOB,), True),), total=3, at=T0), ZONE),
    "migrations_status": lambda: migration_views.migration_status_view(MigrationStatus(
        environment="production", service="api", version="v1.2.4",
        command=("python", "manage.py", "showmigrations"), job="api-status-1",
        succeeded=False, output=f"orders\n [X] 0041_x\n [ ] 0042 {HOSTILE}\n```",
        cause=f"exit 1: {HOSTILE}", at=T0,
        database=DatabaseCheck(False, ("python", "manage.py", "check"), "api-check-1",
                               HOSTILE), check_key="services.api.migrations.check_command"),
        ZONE),
    "freeze_list_entries": lambda: freeze_views.freeze_list_view(
        [FreezeEntry(FREEZE, True, 7, "U0ALICE"), FreezeEntry(FREEZE, False)], T0, ZONE,
        timedelta(days=30)),
    "*deploy_form": lambda: deploy_form_views.deploy_form(FormChoices(
        services=("api", "web"), environments=("staging", "production"),
        versions={"api": ("v1.2.4", "v1.2.3"), "web": ("w7",)},
        versions_from={"api": "tags", "web": "history"}), channel_id="C0DEPLOYS"),
    "deploy_form_typed_only": lambda: deploy_form_views.deploy_form(FormChoices(
        services=("api",), environments=("production",)), channel_id=None),
    # GitHub slow for one service (its deployed versions instead), failing for another
    "*deploy_form_github_late": lambda: deploy_form_views.deploy_form(FormChoices(
        services=("api", "web", "worker"), environments=("production",),
        versions={"api": ("v1.2.3",), "web": ("w7",)},
        versions_from={"api": "history", "web": "tags", "worker": "history"},
        tags_missing={"api": TAGS_LATE, "worker": TAGS_FAILED}), channel_id=None),
    "drift": lambda: live_views.drift_announcement(Live(
        "production", "api", "v1.2.5", T0, "cluster", drift=True), ZONE),
    # usage texts
    **{f"usage_{m.__name__.rsplit('.', 1)[-1]}": (lambda m=m: str(m.USAGE))  # type: ignore[misc]
       for m in (audit_commands, ci_commands, commands, freeze_commands, history_commands,
                 lock_commands, log_commands, rollback_commands)},
    # errors as the user sees them
    "error_user": lambda: error_message(_refusal(HOSTILE))[0],
    "error_retryable": lambda: error_message(RetryableError("GitHub answered 502"))[0],
    "error_trigger_expired": lambda: error_message(TriggerExpired())[0],
    "error_busy": lambda: error_message(UserError(busy_message(
        dep(state=State.RUNNING, channel="#deployments"), environment="production",
        service="api")))[0],
}


def _refusal(text: str) -> UserError:
    """The refusal `/deploy` gives `text` (a UserError, as the handler renders it)."""
    try:
        commands.parse_deploy(text, environments=["production"], services=["api"],
                              version_patterns={})
    except UserError as e:
        return e
    raise AssertionError(f"/deploy {text} was not refused")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_message_reads_right(kind: str) -> None:
    message = KINDS[kind]()
    assert problems(message) == []
    if kind.startswith("*"):
        path = GOLDEN / f"{kind[1:]}.txt"
        text = rendered(message)
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no {path.name}: write it with UPDATE_GOLDEN=1, then review it"
        assert text == path.read_text(encoding="utf-8"), \
            f"{path.name} changed: review the diff, then UPDATE_GOLDEN=1"


# -- the checker finds what it should ---------------------------------------------------

@pytest.mark.parametrize(("text", "finding"), [
    ("*Audit log: *production** — newest first", "nested"),
    ("*Last 20 deployments: all services in *production**", "nested"),
    ("*bold without its end", "left open"),
    ("`code without its end", "unclosed `"),
    ("```\nblock without its end", "unclosed ```"),
    ("<None|Deployment thread>", "no link, mention or channel"),
    ("Run `/deploy <env> <version>`", "no link"),
    ("text: &amp;lt;environment&amp;gt;", "escaped twice"),
    ("cause: v1.2.4 was aborted by &lt;@U0BOB&gt;; rolled back to v1.2.3; unl…",
     "cut mid-word"),
    ("<!channel> everyone", "fired"),
])
def test_the_checker_finds(text: str, finding: str) -> None:
    assert any(finding in p for p in problems(text)), problems(text)


@pytest.mark.parametrize("text", [
    "*Audit log: production* — newest first",
    "`snake_case` and a :white_check_mark: and some_name_here",
    "*<https://x.example/a?b=1&amp;c=2|Dashboard>* · <@U0BOB> · <#C0DEPLOYS>",
    "```\n*not* _bold_ &lt;here&gt;\n```",
    "v1.2.4 was aborted by &lt;@U0BOB&gt;; rolled back to v1.2.3; unlock…",
    "3 * 4 = 12, ~approximately~ _italic_",
    "> quoted line\nnext",
])
def test_the_checker_passes(text: str) -> None:
    assert problems(text) == []


def test_plain_text_with_entities_or_markup_is_found() -> None:
    msg = Message(text="x", blocks=[
        {"type": "header", "text": {"type": "plain_text", "text": "Deploy &lt;api&gt;"}},
        {"type": "header", "text": {"type": "plain_text", "text": "*Deploy* api"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    found = problems(msg)
    assert any("entity in plain_text" in p for p in found)
    assert any("mrkdwn in plain_text" in p for p in found)
    assert any("3001 characters" in p or "3000" in p for p in found)


# -- what each fix of issue 18 keeps right ----------------------------------------------

def test_a_dependencys_error_is_one_sentence_saying_try_again_once() -> None:
    text = error_message(RetryableError("GitHub answered 502; try again shortly"))[0]
    assert text == "⏳ GitHub answered 502. Nothing was changed; please try again in a minute."


def test_the_emergency_result_keeps_its_siren_and_says_no_low_severity() -> None:
    msg = blocks.announcement(EMERGENCY, ZONE, None, severity=Severity.LOW)
    body = rendered(msg)
    assert "🚨 *Emergency deploy: api `v1.2.4` is live in production*" in body
    assert "Severity: low" not in body and msg.text.startswith("🚨 Emergency")


def test_a_rollback_is_named_once() -> None:
    for text in (blocks.deployment_card(ROLLBACK, ZONE).text,
                 blocks.requester_note(ROLLBACK, ZONE, None).text):
        assert "ollback #5 rollback" not in text
        assert "#5 api back to v1.2.3 in production" in text


def test_no_channel_is_named_with_two_hashes() -> None:
    for channel in ("#deployments", "deployments"):
        text = busy_message(dep(state=State.RUNNING, channel=channel),
                            environment="production", service="api")
        assert "follow it in #deployments." in text and "##" not in text
    assert "<#C0DEPLOYS>" in busy_message(dep(state=State.RUNNING), environment="production",
                                          service="api")


def test_the_staging_refusal_speaks_of_staging() -> None:
    body = rendered(KINDS["*refusal_window_staging"]())
    assert "production" not in body
    assert '`/deploy api staging v1.2.4 --emergency "reason"`' in body
