"""Every kind of message deploybot sends, at its largest, is one Slack takes: rendered
through the real presentation functions from the largest realistic domain values (names of
63 characters, versions of 128, reasons of 3,000, 200 services in 3 environments, 30
approvals waiting, long lists of locks, freezes, pods, events, checklist items) and checked
with the fake Slack's own rules (devtools/fake_slack_blocks.py), the text fallback within
the 4,000 characters Slack asks for. What is cut is cut between words with "…" and says
how much more there is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.alerts import Alert
from bot.domain.audit import AuditEvent
from bot.domain.audit_commands import PAGE_SIZE
from bot.domain.checklist import Tick, evaluate
from bot.domain.checklist_facts import Commit, PullRequest
from bot.domain.deploy_form import TAGS_LATE, FormChoices
from bot.domain.deployment import Decision, Deployment, JobOutcome, Kind, Verification
from bot.domain.dora import DoraStats, Restore
from bot.domain.failure_evidence import FailureEvidence
from bot.domain.freezes import Freeze
from bot.domain.links import Link
from bot.domain.live import Live
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision
from bot.domain.rollback_plan import RollbackPlan
from bot.domain.severity import Outcome, Severity
from bot.domain.states import State
from bot.domain.troubleshooting_answers import EventsAnswer, KubeRollout, PodsAnswer
from bot.domain.workloads import (
    Condition,
    EventView,
    PodView,
    ReplicaSetView,
    RolloutView,
    Termination,
)
from bot.presentation import (
    alert_views,
    audit_views,
    blocks,
    checklist_form_views,
    deploy_form_views,
    freeze_views,
    history_views,
    home_views,
    interrupted_views,
    live_views,
    lock_views,
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
from bot.services.policy import WindowStatus
from devtools.fake_slack_blocks import TEXT_RECOMMENDED, message_problems, view_problems
from tests.domain.test_checklist import FEATURE_FLAGS, comparison, green_facts, rules

ZONE = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 4, 18, 55, tzinfo=UTC)
M = timedelta(minutes=1)

#: A name as long as the configuration allows (bot.config.base: 63 characters).
def name(i: int, stem: str = "checkout-payments-reconciliation-worker-eu-west") -> str:
    return f"{stem}-{i:03d}".ljust(63, "x")


VERSION = ("v2026.12.04-release-candidate.17+build.20261204185500.sha." + "3f2a9c1d0e4b5f60"
           * 5)[:128]  # commands.MAX_VERSION
WORDS = ("the checkout service returned errors for customers paying with stored cards in "
         "the European region after the migration ")
REASON = (WORDS * 40)[:3000]  # longer than any command lets through: the views still hold
ENVS = ("production", "staging", name(0, "development-preview-environment"))
SERVICES = tuple(name(i) for i in range(200))
USERS = tuple(f"U0{i:07d}" for i in range(40))


def dep(i: int = 42, **kw: Any) -> Deployment:
    base: dict[str, Any] = dict(
        id=i, service=name(i), environment=ENVS[2], version=VERSION, previous_version=VERSION,
        state=State.AWAITING_APPROVAL, requested_by=USERS[i % 40], requested_at=T0,
        approvals_required=10, expires_at=T0 + 60 * M, channel="C0DEPLOYS",
        message_ts="1.1", emergency_reason=REASON,
        decisions=tuple(Decision(USERS[j], j > 0, T0, reason=REASON) for j in range(9)))
    base.update(kw)
    return Deployment(**base)


def lock(env: str, service: str, **kw: Any) -> Lock:
    base: dict[str, Any] = dict(id=1, environment=env, service=service, holder=USERS[1],
                                reason=REASON, origin="manual", created_at=T0 - 25 * M,
                                expires_at=T0 + 2 * 60 * M)
    base.update(kw)
    return Lock(**base)


FREEZES = tuple(Freeze(name=f"{WORDS[:70]} {i}", start=T0 + i * 60 * M,
                       end=T0 + (i + 50) * 60 * M, reason=REASON,
                       environments=frozenset(ENVS)) for i in range(40))


def window(env: str) -> WindowStatus:
    decision = PolicyDecision(allowed=False, reasons=tuple(f.name for f in FREEZES),
                              next_allowed_at=T0 + 3 * 24 * 60 * M,
                              blocked_by=tuple(f"freeze:{f.name}" for f in FREEZES))
    return WindowStatus(environment=env, decision=decision, next_change=T0 + 5 * M,
                        upcoming=FREEZES, schedule=None)


#: A service's links (dashboard, runbook, logs, …): ten long ones.
LINKS = tuple(Link(f"Dashboard {i} {WORDS[:40]}", f"https://grafana.example.com/d/{i}?" +
                   "var-x=y&" * 30) for i in range(10))
LOCKS = tuple(lock(env, s) for env in ENVS for s in SERVICES[:60])
RECENT = tuple(dep(i, state=State.FAILED, error=REASON, kind=Kind.ROLLBACK if i % 2 else
                   Kind.DEPLOY, rollback_of=1) for i in range(20))
LIVES = tuple(Live(env, s, VERSION, T0, "cluster") for env in ENVS for s in SERVICES)


def home() -> Home:
    held = {(lk.environment, lk.service): lk for lk in LOCKS}
    return Home(at=T0, environments=tuple(
        EnvironmentHome(window=window(env), services=tuple(
            ServiceLine(s, VERSION, T0, True, held.get((env, s))) for s in SERVICES))
        for env in ENVS),
        pending=tuple(dep(i) for i in range(30)), pending_total=30, recent=RECENT[:10],
        unresolved=0)


KINDS: dict[str, Callable[[], Message | dict[str, Any] | str]] = {
    "status": lambda: status_views.status_view(LIVES, RECENT, ZONE,
                                               [window(e) for e in ENVS], LOCKS),
    "home": lambda: home_views.home_view(home(), ZONE),
    "card_awaiting_approval": lambda: blocks.deployment_card(dep(), ZONE, LINKS),
    "card_rejected": lambda: blocks.deployment_card(dep(state=State.REJECTED), ZONE),
    "card_failed_watch": lambda: blocks.deployment_card(dep(
        state=State.FAILED, error=REASON, approvals_required=0, decisions=(),
        verification=Verification(ok=False, summary=REASON, offer_rollback=True)), ZONE,
        kill_switches=tuple(name(i, "kill-switch") for i in range(5))),
    "card_running": lambda: blocks.deployment_card(dep(
        state=State.RUNNING, progress=REASON, approvals_required=0, decisions=(),
        migrations=JobOutcome(False, name(1), REASON)), ZONE),
    "record": lambda: blocks.deployment_record(dep(state=State.SUCCEEDED), ZONE, links=LINKS),
    "announcement": lambda: blocks.announcement(
        dep(state=State.FAILED, error=REASON), ZONE, "https://s.example/p" + "1" * 100,
        severity=Severity.CRITICAL, mention="<!subteam^S0ONCALL>", links=LINKS),
    "requester_note": lambda: blocks.requester_note(dep(state=State.REJECTED), ZONE, None),
    "history": lambda: history_views.history_view(RECENT, ZONE, environment=ENVS[2],
                                                  service=SERVICES[0], limit=20),
    "lock_list": lambda: lock_views.lock_list_view(LOCKS, T0, ZONE),
    "lock_refusal": lambda: lock_views.refusal(LOCKS[0], ZONE),
    "freeze_status": lambda: freeze_views.freeze_status_view(
        [window(e) for e in ENVS], T0, ZONE, timedelta(days=30)),
    "window_closed": lambda: blocks.window_closed(
        tuple(f.name for f in FREEZES), T0 + 60 * M, ZONE, service=SERVICES[0],
        environment=ENVS[2], version=VERSION,
        request_value=f"{SERVICES[0]} {ENVS[2]} {VERSION}"),
    "emergency_alert": lambda: blocks.emergency_alert(dep(), [f.name for f in FREEZES], ZONE),
    "freeze_list": lambda: freeze_views.freeze_list_view(
        [FreezeEntry(f, True, i, USERS[i]) for i, f in enumerate(FREEZES)], T0, ZONE,
        timedelta(days=30)),
    "card_checklist": lambda: with_checklist(blocks.deployment_card(dep(), ZONE), dep(),
                                             checklist()),
    "record_checklist": lambda: blocks.deployment_record(dep(state=State.SUCCEEDED), ZONE,
                                                         checklist()),
    "tick_reply": lambda: tick_reply(42, FEATURE_FLAGS, checklist(), checked=False,
                                     reason=REASON),
    "audit": lambda: audit_views.audit_view(
        [AuditEvent(id=i, at=T0, actor=USERS[i % 40], action="slack.command",
                    environment=ENVS[2], deployment_id=i,
                    details={"command": "/deploy", "text": REASON, "reason": REASON},
                    slack_channel="C1", slack_ts=None) for i in range(PAGE_SIZE)],
        ZONE, environment=ENVS[2], since=T0 - timedelta(days=7), since_text="7d",
        more=True, before_id=None),
    "pods": lambda: troubleshooting_views.answer_message(
        PodsAnswer(ENVS[2], SERVICES[0], tuple(pod(i) for i in range(200)), T0), ZONE),
    "events": lambda: troubleshooting_views.answer_message(
        EventsAnswer(ENVS[2], SERVICES[0], tuple(EventView(
            "Warning", "BackOff", REASON, f"Pod/{name(i)}", 7, T0 - M) for i in range(200)),
            T0), ZONE),
    "rollout": lambda: troubleshooting_views.answer_message(KubeRollout(
        ENVS[2], SERVICES[0], RolloutView(
            deployment=SERVICES[0], namespace=ENVS[2], desired=300, updated=1, ready=2,
            available=2, conditions=tuple(Condition(f"Type{i}", "False", "Deadline", REASON,
                                                    T0) for i in range(20)),
            current=ReplicaSetView(name(1), VERSION, 4, REASON, 1, 0, T0 - 4 * M),
            previous=ReplicaSetView(name(2), VERSION, 3, REASON, 2, 2, T0 - 60 * M),
            rollout_started=T0 - 4 * M, settled=False), T0), ZONE),
    "failure_evidence": lambda: failure_evidence(FailureEvidence(
        environment=ENVS[2], service=SERVICES[0], version=VERSION, pod=pod(1),
        log_lines=tuple(REASON[:500] for _ in range(200)), log_previous=True,
        events=tuple(EventView("Warning", "BackOff", REASON, f"Pod/{name(i)}", 7, T0 - M)
                     for i in range(200))), 42, ZONE),
    "rollback_confirmation": lambda: rollback_views.rollback_confirmation(RollbackPlan(
        environment=ENVS[2], service=SERVICES[0], current=VERSION, target=VERSION[:-1] + "9",
        candidates=tuple(f"{VERSION[:120]}-{i}" for i in range(50)),
        migrations=JobOutcome(True, name(3), REASON), migrate_hint=REASON,
        approvals_required=10)),
    "deploy_form": lambda: deploy_form_views.deploy_form(FormChoices(
        services=SERVICES, environments=ENVS,
        versions={s: tuple(f"{VERSION[:120]}-{i}" for i in range(10)) for s in SERVICES},
        versions_from={s: "tags" for s in SERVICES},
        tags_missing={s: TAGS_LATE for s in SERVICES[100:]}), channel_id="C0DEPLOYS"),
    "deploy_form_one_service": lambda: deploy_form_views.deploy_form(FormChoices(
        services=SERVICES[:1], environments=ENVS,
        versions={SERVICES[0]: tuple(f"{VERSION[:120]}-{i}" for i in range(10))}),
        channel_id="C0DEPLOYS"),
    "reject_form": lambda: reject_views.reject_form(dep(), private_metadata="x" * 3000),
    "na_form": lambda: checklist_form_views.not_applicable_form(
        42, "rollback_plan", private_metadata="x" * 3000),
    "request_accepted": lambda: blocks.request_accepted(dep(), ZONE),
    "window_open_prompt": lambda: blocks.window_open_prompt(dep(state=State.SCHEDULED,
                                                                not_before=T0), ZONE),
    "interrupted": lambda: interrupted_views.interrupted_notice(
        REASON[:300], T0, ZONE, channel="C0DEPLOYS", now=T0 + 6 * M),
    "drift": lambda: live_views.drift_announcement(Live(ENVS[2], SERVICES[0], VERSION, T0,
                                                        "cluster", drift=True), ZONE),
    "alert": lambda: alert_views.slack_text(Alert(
        deployment_id=42, service=SERVICES[0], environment=ENVS[2], version=VERSION,
        kind=Kind.DEPLOY, state=State.FAILED, outcome=Outcome.PRODUCTION_FAILED,
        severity=Severity.CRITICAL, at=T0, requested_by=USERS[0], error=REASON),
        "https://s.example/p", LINKS),
    "locked_reply": lambda: lock_views.locked_reply(LOCKS[0], ZONE, announced=False),
    "unlocked_reply": lambda: lock_views.unlocked_reply(LOCKS[0], ZONE, announced=False),
    "stats": lambda: history_views.stats_view(
        DoraStats(since=T0 - timedelta(days=30), until=T0, changes=12000, failed=200,
                  rollbacks=100, restores=tuple(Restore(i, ENVS[2], SERVICES[i], T0 - 60 * M,
                                                        T0) for i in range(200))),
        ZONE, environments=list(ENVS), service=SERVICES[0], default_scope=False),
}


def pod(i: int) -> PodView:
    return PodView(name=name(i), version=VERSION, ready=0, containers=1, phase="Running",
                   waiting_reason="CrashLoopBackOff", waiting_message=REASON, restarts=5,
                   last_termination=Termination("Error", 1, T0 - 3 * M, REASON),
                   container=name(i, "container"), created=T0 - 10 * M, node=name(i, "node"),
                   unschedulable=REASON)


def checklist() -> Any:
    pull = PullRequest(7, REASON[:300], USERS[0], "https://gh/pull/7", True, False)
    commits = tuple(Commit(f"{i:040x}", REASON[:300], USERS[0], f"https://gh/commit/{i}",
                           (pull,)) for i in range(250))
    facts = green_facts(comparison=comparison(*commits, total=250))
    return evaluate(rules(), facts, [Tick(FEATURE_FLAGS, USERS[1], T0, reason=REASON)])


#: The limits a text is cut to (Slack's: a section's, a context element's, a header's, a
#: button's or an option's text, a field).
_FULL = (3000, 2000, 150, 75)


def _texts(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(path, node["text"])] if node.get("type") in ("mrkdwn", "plain_text") \
            and isinstance(node.get("text"), str) else []
        return found + [t for k, v in node.items() for t in _texts(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [t for i, v in enumerate(node) for t in _texts(v, f"{path}/{i}")]
    return []


def blind_cuts(blocks: list[dict[str, Any]]) -> list[str]:
    """Texts that fill their field to its last character without saying they were cut: a
    text sliced to fit (`text[:3000]`) loses the rest silently, mid-word or mid-markup."""
    return [f"cut blindly at {len(t)} characters at {p}: …{t[-40:]!r}"
            for p, t in _texts(blocks) if len(t) in _FULL and not t.endswith("…")]


def problems_of(message: Message | dict[str, Any] | str) -> list[str]:
    if isinstance(message, str):  # sent as a message's text alone
        return [f"a text of {len(message)} characters"] if len(message) > TEXT_RECOMMENDED \
            else []
    if isinstance(message, Message):
        out = message_problems(message.blocks) + blind_cuts(message.blocks)
        if len(message.text) > TEXT_RECOMMENDED:
            out.append(f"a text fallback of {len(message.text)} characters")
        return out
    return view_problems(message) + blind_cuts(message["blocks"])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_message_at_its_largest_is_one_slack_takes(kind: str) -> None:
    assert problems_of(KINDS[kind]()) == []
