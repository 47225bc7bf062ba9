"""Attestation kept as ticks (issue 12): an approval that completed the approvals where the
environment attests keeps, per item nothing checked, a tick marked `attested`; the settled
checklist shows those, whatever the environment's setting says later, and they never count
as checks."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.checklist import (
    FEATURE_FLAGS,
    ITEMS,
    MONITORING,
    ROLLBACK_PLAN,
    TESTS,
    Mark,
    Tick,
    attestations,
    evaluate,
    rules_for,
    settle,
    unchecked_items,
    unevaluated,
)
from bot.domain.checklist_facts import CheckStatus, Facts

AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
WHY = "no GitHub repository configured for api"
RULES = rules_for(items=[TESTS, FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN], required_in={},
                  environment="production", production=False, required_checks=["build"],
                  migration_paths=[])
FACTS = Facts(checks=(CheckStatus("build", "success"),), checked_at=AT)


def test_what_an_approval_attests_is_what_nothing_checked() -> None:
    assert unchecked_items(unevaluated(ITEMS, WHY)) == ITEMS
    ticked = evaluate(RULES, FACTS, [Tick(FEATURE_FLAGS, "U0CAROL", AT),
                                     Tick(ROLLBACK_PLAN, "U0CAROL", AT, reason="stateless")])
    assert unchecked_items(ticked) == (MONITORING,)  # GitHub checked the tests
    assert attestations([MONITORING], by="U0BOB", at=AT) == [
        Tick(MONITORING, "U0BOB", AT, attested=True)]


def test_an_attestation_is_not_a_tick() -> None:
    cl = evaluate(RULES, FACTS, [Tick(MONITORING, "U0BOB", AT, attested=True)])
    monitoring = cl.get(MONITORING)
    assert monitoring is not None
    assert (monitoring.mark, monitoring.tick) == (Mark.PENDING, None)


def test_kept_attestations_name_the_approvers_or_whoever_kept_them() -> None:
    kept = attestations(unchecked_items(unevaluated(ITEMS, WHY)), by="U0BOB", at=AT)
    both = settle(unevaluated(ITEMS, WHY), approvers=["U0BOB", "U0CAROL"], attested=kept)
    assert {(i.mark, i.detail) for i in both.items} == {
        (Mark.ATTESTED, "attested by <@U0BOB>, <@U0CAROL> on approval")}
    alone = settle(unevaluated(ITEMS, WHY), approvers=[], attested=kept)
    assert {i.detail for i in alone.items} == {"attested by <@U0BOB> on approval"}


def test_the_setting_decides_only_without_kept_attestations() -> None:
    on_now = unevaluated(ITEMS, WHY, attestation=True)
    assert {i.mark for i in settle(on_now, approvers=["U0BOB"]).items} == {Mark.ATTESTED}
    assert {i.mark for i in settle(on_now, approvers=["U0BOB"], attested=[]).items} == {
        Mark.NOT_CHECKED}
    # A plain tick among them attests nothing.
    plain = [Tick(MONITORING, "U0BOB", AT)]
    settled = settle(evaluate(RULES, FACTS, []), approvers=["U0BOB"], attested=plain)
    monitoring = settled.get(MONITORING)
    assert monitoring is not None and monitoring.mark is Mark.NOT_CHECKED
