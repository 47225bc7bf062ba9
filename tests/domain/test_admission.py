"""The admission rules (bot.domain.admission): every refusal decided in one place, with all
its reasons; downgrades by semantic-version precedence; supersession."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.admission import (
    Ask,
    Decision,
    Downgrade,
    Facts,
    Refusal,
    Rule,
    admit,
    downgrade,
    older,
    superseded,
)
from bot.domain.approval import ApprovalRule
from bot.domain.deployment import Deployment, Kind
from bot.domain.faulty import FaultyMark
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision
from bot.domain.states import State
from bot.domain.versions import CommitTag, TagCommit, tag_of

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
ASK = Ask(kind=Kind.DEPLOY, environment="production", service="api", version="v1.2.3",
          user_id="U0ALICE")
LOCK = Lock(id=1, environment="production", service="api", holder="U0BOB", reason="db work",
            origin="manual", created_at=T0)
MARK = FaultyMark(environment="production", service="api", version="v1.2.3",
                  reason="rolled back", marked_by="U0BOB", marked_at=T0)
CLOSED = PolicyDecision(allowed=False, reasons=("Friday after 14:00",), next_allowed_at=None)


def deployment(i: int, *, state: State = State.AWAITING_APPROVAL, kind: Kind = Kind.DEPLOY,
               environment: str = "production", instance: str | None = None) -> Deployment:
    return Deployment(id=i, service="api", environment=environment, version=f"v1.2.{i}",
                      previous_version=None, state=state, requested_by="U0ALICE",
                      requested_at=T0, approvals_required=1, expires_at=None, kind=kind,
                      instance=instance)


@pytest.mark.parametrize(("a", "b", "is_older"), [
    ("v1.2.3", "v1.2.4", True),
    ("v1.2.4", "v1.2.3", False),
    ("v1.2.3", "v1.2.3", False),
    ("v1.9.0", "v1.10.0", True),  # numeric, not string order
    ("v1.2.3-rc.1", "v1.2.3", True),  # a pre-release precedes its release (semver §11)
    ("v1.2.3-alpha", "v1.2.3-alpha.1", True),
    ("v1.2.3-alpha.2", "v1.2.3-alpha.10", True),  # numeric identifiers numerically
    ("v1.2.3-1", "v1.2.3-alpha", True),  # numeric below alphanumeric
    ("abc123", "v1.2.3", False),  # not semantic: never called older
    ("v1.2.3", "main-4f2a", False),
])
def test_versions_compare_by_semantic_version_precedence(a: str, b: str,
                                                         is_older: bool) -> None:
    assert older(a, b) is is_older


def test_a_downgrade_needs_its_confirmation_of_exactly_the_live_version() -> None:
    assert downgrade(Kind.DEPLOY, "v1.2.3", "v1.2.4", confirmed_from=None) == Downgrade(
        "v1.2.3", "v1.2.4")
    assert downgrade(Kind.DEPLOY, "v1.2.3", "v1.2.4", confirmed_from="v1.2.4") is None
    # Confirmed over v1.2.4, but v1.2.5 runs now: that is another downgrade.
    assert downgrade(Kind.DEPLOY, "v1.2.3", "v1.2.5", confirmed_from="v1.2.4") == Downgrade(
        "v1.2.3", "v1.2.5")
    assert downgrade(Kind.ROLLBACK, "v1.2.3", "v1.2.4", confirmed_from=None) is None
    assert downgrade(Kind.DEPLOY, "v1.2.5", "v1.2.4", confirmed_from=None) is None
    assert downgrade(Kind.DEPLOY, "v1.2.3", None, confirmed_from=None) is None


def test_a_commit_running_compares_as_its_tag_or_asks_when_github_could_not_say() -> None:
    sha = "3f2a9c1d0e4b"
    tagged = CommitTag(sha, tag="v1.2.4")
    assert downgrade(Kind.DEPLOY, "v1.2.3", sha, confirmed_from=None,
                     live_tag=tagged) == Downgrade("v1.2.3", sha, tag="v1.2.4")
    assert downgrade(Kind.DEPLOY, "v1.2.5", sha, confirmed_from=None, live_tag=tagged) is None
    assert downgrade(Kind.DEPLOY, "v1.2.3", sha, confirmed_from=sha, live_tag=tagged) is None
    # No tag points at it: nothing can tell, as before.
    assert downgrade(Kind.DEPLOY, "v1.2.3", sha, confirmed_from=None,
                     live_tag=CommitTag(sha)) is None
    # GitHub could not be asked: said, and confirmed like a downgrade (never skipped).
    unknown = CommitTag(sha, unknown="GitHub is unreachable")
    assert downgrade(Kind.DEPLOY, "v1.2.3", sha, confirmed_from=None,
                     live_tag=unknown) == Downgrade("v1.2.3", sha,
                                                    unknown="GitHub is unreachable")
    assert downgrade(Kind.DEPLOY, "v1.2.3", sha, confirmed_from=sha, live_tag=unknown) is None
    # A tag of another commit says nothing of this one.
    assert downgrade(Kind.DEPLOY, "v1.2.3", sha, confirmed_from=None,
                     live_tag=CommitTag("0123456789ab", tag="v9.0.0")) is None
    # Recorded as a downgrade from the commit, once confirmed.
    confirmed = admit(ASK, Facts(live=sha, live_tag=tagged, downgrade_confirmed_from=sha))
    assert confirmed.allowed and confirmed.downgrade_from == sha


def test_of_several_tags_of_one_commit_the_highest_release_names_it() -> None:
    full = "3f2a9c1d0e4b" + "0" * 28
    listed = [("v1.2.4-rc.2", full), ("latest", full), ("v1.2.4", full),
              ("v1.2.3", "1" * 40)]
    assert tag_of("3f2a9c1d0e4b", listed) == "v1.2.4"
    assert tag_of("3f2a9c1d0e4b", [("latest", full)]) == "latest"
    assert tag_of("0123456789ab", listed) is None


def test_nothing_in_the_way_admits_and_records_nothing() -> None:
    admission = admit(ASK, Facts(live="v1.2.2"))
    assert admission.allowed and admission.refusals == ()
    assert (admission.downgrade_from, admission.skipped_gate) == (None, None)


def test_every_reason_is_decided_at_once_in_rule_order() -> None:
    facts = Facts(lock=LOCK, active=deployment(9, state=State.RUNNING), faulty=MARK,
                  promote_from="staging", promoted=False, window=CLOSED, live="v1.2.4")
    admission = admit(ASK, facts)
    assert [r.rule for r in admission.refusals] == [
        Rule.LOCK, Rule.IN_FLIGHT, Rule.FAULTY, Rule.PROMOTION, Rule.WINDOW, Rule.DOWNGRADE]
    assert admission.first is not None and admission.first.lock == LOCK
    refusal = admission.refused(Rule.DOWNGRADE)
    assert refusal is not None and refusal.downgrade == Downgrade("v1.2.3", "v1.2.4")


def test_the_holder_a_rollback_and_the_deployment_itself_pass() -> None:
    assert admit(replace(ASK, user_id="U0BOB"), Facts(lock=LOCK)).allowed
    assert admit(replace(ASK, kind=Kind.ROLLBACK), Facts(lock=LOCK)).allowed
    assert admit(replace(ASK, deployment_id=9),
                 Facts(active=deployment(9, state=State.QUEUED))).allowed


def test_force_passes_a_faulty_mark_and_an_emergency_skips_the_gate_saying_so() -> None:
    assert admit(replace(ASK, forced=True), Facts(faulty=MARK)).allowed
    admission = admit(replace(ASK, emergency=True),
                      Facts(promote_from="staging", promoted=False))
    assert admission.allowed and admission.skipped_gate == "staging"


def test_a_tag_promoted_as_its_commit_records_it_and_a_refusal_names_the_commit() -> None:
    sha = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345"
    admission = admit(ASK, Facts(promote_from="staging", promoted=True,
                                 promoted_by=sha[:12], commit=TagCommit("v1.2.3", sha=sha)))
    assert admission.allowed and admission.promoted_by == "3f2a9c1b7d4e"
    assert admission.skipped_gate is None
    looked_for = TagCommit("v1.2.3", sha="9" * 40)
    refused = admit(ASK, Facts(promote_from="staging", promoted=False, commit=looked_for))
    assert refused.first == Refusal(Rule.PROMOTION, source="staging", commit=looked_for)
    assert refused.promoted_by is None
    assert looked_for.version == "9" * 12 and TagCommit("v1", unknown="502").version is None


def test_a_confirmed_downgrade_is_admitted_and_recorded() -> None:
    admission = admit(ASK, Facts(live="v1.2.4", downgrade_confirmed_from="v1.2.4"))
    assert admission.allowed and admission.downgrade_from == "v1.2.4"
    # A preview instance is never a downgrade of the environment's main instance.
    assert admit(replace(ASK, instance="pr-7"), Facts(live="v1.2.4")).allowed


def test_a_newer_request_supersedes_older_waiting_ones_of_the_same_service_there() -> None:
    new = deployment(5)
    others = [
        deployment(2),  # waiting for approval: superseded
        deployment(3, state=State.SCHEDULED),  # waiting for its window: superseded
        deployment(4, state=State.QUEUED),  # approved and under way: stands
        deployment(1, environment="staging"),  # another environment
        deployment(6),  # newer than the new one (a race): stands
        deployment(7, kind=Kind.MIGRATE),  # a migration run is no deploy
        deployment(8, instance="pr-7"),  # a preview instance
    ]
    assert [d.id for d in superseded(new, others)] == [2, 3]
    assert superseded(replace(new, kind=Kind.ROLLBACK), others) == []


def test_the_approval_rules_are_one_of_the_reasons() -> None:
    d = deployment(4)
    rule = ApprovalRule(required=1, allow_self_approval=False)
    own = Decision(deployment=d, user_id="U0ALICE", approve=True, is_approver=True,
                   rule=rule, at=T0)
    admission = admit(replace(ASK, deployment_id=4), Facts(decision=own, lock=LOCK))
    assert [r.rule for r in admission.refusals] == [Rule.APPROVAL, Rule.LOCK]
    first = admission.first
    assert first is not None and first.error is not None
    assert "so you cannot approve it yourself" in first.error.message
    other = replace(own, user_id="U0CAROL")
    assert admit(replace(ASK, deployment_id=4), Facts(decision=other)).allowed
