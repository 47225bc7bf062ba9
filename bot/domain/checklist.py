"""The pre-deployment checklist (pure): its items, how each is evaluated from what GitHub
says about the version's commit and from the ticks people gave in Slack, which items an
environment requires green before approval, and who may tick what.

Marks: ✅ ok, ❌ failed, ⏳ pending (not known yet, or could not be checked), "not applicable"
(a manual item someone marked N/A with a reason), and, once the deploy was decided, for the
items nothing checked (deploybot does not evaluate the checklist, or nobody ticked a manual
item): "not checked" with why, or "attested" by the approvers where the environment said
approval attests them (`checklist_attestation: approver`) when the approvals were complete —
kept then as ticks (`attested`), so a later change of the setting rewrites no record. An item
is ok only when something checked it: GitHub's checks and reviews, or a tick by a named
person."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from bot.domain.checklist_facts import CheckState, Comparison, Facts
from bot.domain.flag_status import FlagReading
from bot.errors import Forbidden, UserError

TESTS, REVIEWS, MIGRATIONS = "tests", "reviews", "migrations"
FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN = "feature_flags", "monitoring", "rollback_plan"
ITEMS: tuple[str, ...] = (TESTS, REVIEWS, MIGRATIONS, FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN)
MANUAL: tuple[str, ...] = (FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN)  # ticked in Slack
LABELS: Mapping[str, str] = {
    TESTS: "Tests passing",
    REVIEWS: "Code reviewed and approved",
    MIGRATIONS: "Database migrations reviewed",
    FEATURE_FLAGS: "Feature flags configured",
    MONITORING: "Monitoring alerts set up",
    ROLLBACK_PLAN: "Rollback plan documented",
}
MAX_REASON = 200  # a "not applicable" reason is a word or a short sentence


class Mark(Enum):
    OK = "ok"
    FAILED = "failed"
    PENDING = "pending"
    NOT_APPLICABLE = "not_applicable"
    NOT_CHECKED = "not_checked"  # nothing checked it and nobody ticked it (detail: why)
    ATTESTED = "attested"  # nothing checked it; the approvers vouched for it on approval


@dataclass(frozen=True)
class Tick:
    """A manual item ticked in Slack (`reason` None), or marked not applicable (`reason`);
    or (`attested`) an item nothing checked, attested by the approval that completed the
    deploy's approvals where its environment said so then (`checklist_attestation:
    approver`): `by` is that approver. An attestation is kept, not derived from today's
    configuration, so a later change of the setting rewrites no record; it never counts as
    a check (`evaluate` leaves it out)."""

    item: str
    by: str
    at: datetime
    reason: str | None = None
    attested: bool = False


@dataclass(frozen=True)
class Rules:
    """The checklist of one service in one environment (from app.yaml)."""

    items: tuple[str, ...]  # shown, in ITEMS order
    required: frozenset[str]  # must be green (ok or not applicable) before approval
    required_checks: tuple[str, ...] = ()  # empty: every check reported must pass
    migration_paths: tuple[str, ...] = ()  # empty: the migrations item is not shown


@dataclass(frozen=True)
class ItemState:
    item: str
    mark: Mark
    detail: str  # why, in a few words ("" when nothing to add)
    required: bool
    tickable: bool  # has a checkbox in Slack
    tick: Tick | None = None

    @property
    def label(self) -> str:
        return LABELS[self.item]

    @property
    def green(self) -> bool:
        return self.mark in (Mark.OK, Mark.NOT_APPLICABLE)


@dataclass(frozen=True)
class Checklist:
    items: tuple[ItemState, ...]
    facts: Facts
    skipped: str | None = None  # an emergency deploy skipped the red items: its reason
    #: Why deploybot does not evaluate this checklist (e.g. "no GitHub repository configured
    #: for api"); None: it asks GitHub and takes ticks.
    unevaluated: str | None = None
    attestation: bool = False  # approval attests the items nothing checked

    @property
    def blocking(self) -> tuple[ItemState, ...]:
        """Required items that are not green: approval must wait for them."""
        return tuple(i for i in self.items if i.required and not i.green)

    def get(self, item: str) -> ItemState | None:
        return next((i for i in self.items if i.item == item), None)


def rules_for(*, items: Sequence[str], required_in: Mapping[str, Sequence[str]],
              environment: str, production: bool, required_checks: Sequence[str],
              migration_paths: Sequence[str]) -> Rules:
    """An item is required where `required_in[item]` names the environment; an item not in
    `required_in` is required in production environments."""
    shown = tuple(i for i in ITEMS if i in items and (i != MIGRATIONS or migration_paths))
    required = frozenset(
        i for i in shown
        if (environment in required_in[i] if i in required_in else production))
    return Rules(items=shown, required=required, required_checks=tuple(required_checks),
                 migration_paths=tuple(migration_paths))


def _why(facts: Facts) -> str:
    return f"could not be checked: {facts.problem}"


def _tests(rules: Rules, facts: Facts) -> tuple[Mark, str]:
    if facts.checks is None:
        return Mark.PENDING, _why(facts) if facts.problem else "not checked yet"
    by_name: dict[str, list[CheckState]] = {}
    for c in facts.checks:
        by_name.setdefault(c.name, []).append(c.state)
    names = list(rules.required_checks) or sorted(by_name)
    if not names:
        return Mark.PENDING, "no checks reported for this commit yet"
    failed = [n for n in names if "failure" in by_name.get(n, [])]
    missing = [n for n in names if n not in by_name]
    running = [n for n in names if n in by_name and "pending" in by_name[n] and n not in failed]
    if failed:
        return Mark.FAILED, "failed: " + ", ".join(failed)
    if missing or running:
        parts = ([f"pending: {', '.join(running)}"] if running else []) + (
            [f"not reported: {', '.join(missing)}"] if missing else [])
        return Mark.PENDING, "; ".join(parts)
    return Mark.OK, ", ".join(names)


def _reviews(facts: Facts, tick: Tick | None) -> tuple[Mark, str, bool]:
    """(mark, detail, tickable). When GitHub cannot tell (no running version to compare
    with, or too many commits to check one by one) someone other than the requester reviews
    by hand and ticks it; a red answer from GitHub cannot be ticked away."""
    cmp = facts.comparison
    by_hand = (cmp is None and facts.no_base and not facts.problem) or (
        cmp is not None and len(cmp.commits) < cmp.total_commits)
    if by_hand and tick is not None and tick.reason is None:
        return Mark.OK, f"reviewed by hand by <@{tick.by}>", True
    if cmp is None:
        if facts.problem:
            return Mark.PENDING, _why(facts), False
        if facts.no_base:
            return Mark.PENDING, ("no running version to compare with: review by hand and "
                                  "tick (not by the requester)"), True
        return Mark.PENDING, "not checked yet", False
    if by_hand:
        return Mark.PENDING, (f"{cmp.total_commits} commits, too many to check one by one: "
                              "review the comparison and tick (not by the requester)"), True
    bad = [c for c in cmp.commits if not c.reviewed]
    if bad:
        shas = ", ".join(f"`{c.sha[:7]}`" for c in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        return Mark.FAILED, (f"{len(bad)} commit(s) without an approved, merged pull "
                             f"request: {shas}{more}"), False
    if not cmp.commits:
        return Mark.OK, "no new commits", False
    return Mark.OK, f"{len(cmp.commits)} commit(s), all through approved pull requests", False


def migrations_changed(rules: Rules, comparison: Comparison) -> list[str]:
    """The changed files under the configured migration paths."""
    return [f for f in comparison.files
            if any(f.startswith(p) for p in rules.migration_paths)]


def _migrations(rules: Rules, facts: Facts, tick: Tick | None) -> tuple[Mark, str, bool]:
    """(mark, detail, tickable)."""
    cmp = facts.comparison
    if cmp is None:
        if tick is not None and tick.reason is None:  # unknown, but someone reviewed them
            return Mark.OK, f"reviewed by <@{tick.by}>", True
        why = (_why(facts) if facts.problem else
               "no running version to compare with: review and tick" if facts.no_base
               else "not checked yet")
        return Mark.PENDING, why, facts.no_base
    changed = migrations_changed(rules, cmp)
    if not changed:
        return Mark.OK, "no migration changes", False
    files = ", ".join(f"`{f}`" for f in changed[:3]) + (
        f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    if tick is not None and tick.reason is None:
        return Mark.OK, f"{files} reviewed by <@{tick.by}>", True
    return Mark.PENDING, f"{files} changed: needs a review tick (not by the requester)", True


def flags_mark(reading: FlagReading) -> tuple[Mark, str]:
    """"Feature flags configured" from the declared flags as read: ✅ every one exists (with
    the variant its `expect` names), ❌ naming what is missing or wrong, ⏳ when they could
    not be read."""
    if reading.problem is not None:
        return Mark.PENDING, f"could not be checked: {reading.problem}"
    if not reading.ok:
        return Mark.FAILED, reading.problems()
    return Mark.OK, f"as declared in {reading.where}: {reading.values()}"


def with_flags(checklist: Checklist, reading: FlagReading | None) -> Checklist:
    """`checklist` with "Feature flags configured" evaluated from `reading` (unchanged
    without one, or when it does not show the item)."""
    if reading is None or checklist.get(FEATURE_FLAGS) is None:
        return checklist
    mark, detail = flags_mark(reading)
    return replace(checklist, items=tuple(
        replace(i, mark=mark, detail=detail, tickable=False, tick=None)
        if i.item == FEATURE_FLAGS else i for i in checklist.items))


def _manual(tick: Tick | None) -> tuple[Mark, str]:
    if tick is None:
        return Mark.PENDING, "tick it, or mark it not applicable with a reason"
    if tick.reason is not None:
        return Mark.NOT_APPLICABLE, f"not applicable: {tick.reason} (<@{tick.by}>)"
    return Mark.OK, f"<@{tick.by}>"


def evaluate(rules: Rules, facts: Facts, ticks: Iterable[Tick], *,
             skipped: str | None = None) -> Checklist:
    """The checklist from GitHub's `facts` and the ticks given in Slack (attestations are
    not checks: they are left out here, and shown by `settle`)."""
    by_item = {t.item: t for t in ticks if not t.attested}
    out: list[ItemState] = []
    for item in rules.items:
        tick = by_item.get(item)
        tickable = item in MANUAL
        if item == TESTS:
            mark, detail = _tests(rules, facts)
            tick = None
        elif item == REVIEWS:
            mark, detail, tickable = _reviews(facts, tick)
            tick = tick if tickable else None
        elif item == MIGRATIONS:
            mark, detail, tickable = _migrations(rules, facts, tick)
        elif item == FEATURE_FLAGS and facts.flags is not None:
            (mark, detail), tickable, tick = flags_mark(facts.flags), False, None
        else:
            mark, detail = _manual(tick)
        out.append(ItemState(item=item, mark=mark, detail=detail,
                             required=item in rules.required, tickable=tickable, tick=tick))
    return Checklist(items=tuple(out), facts=facts, skipped=skipped)


def unevaluated(items: Sequence[str], why: str, *, attestation: bool = False) -> Checklist:
    """The checklist of a deploy deploybot does not evaluate, and `why` (e.g. "no GitHub
    repository configured for api"): every item not checked, none tickable."""
    return Checklist(
        items=tuple(ItemState(item=i, mark=Mark.NOT_CHECKED, detail=f"not checked: {why}",
                              required=False, tickable=False) for i in ITEMS if i in items),
        facts=Facts(), unevaluated=why, attestation=attestation)


def _unchecked(checklist: Checklist, state: ItemState) -> bool:
    """Nothing checked it: not evaluated, or a manual item nobody ticked (nor marked N/A).
    A required item an emergency skipped stays skipped."""
    if checklist.skipped is not None and state.required:
        return False
    return state.mark is Mark.NOT_CHECKED or (
        state.item in MANUAL and state.mark is Mark.PENDING and state.tick is None)


def unchecked_items(checklist: Checklist) -> tuple[str, ...]:
    """The items nothing checked (not evaluated, or manual and nobody ticked them): what an
    attesting approval attests."""
    return tuple(s.item for s in checklist.items if _unchecked(checklist, s))


def attestations(items: Iterable[str], *, by: str, at: datetime) -> list[Tick]:
    """The ticks that keep an attesting approval (`by`, at `at`) of `items`."""
    return [Tick(item=i, by=by, at=at, attested=True) for i in items]


def settle(checklist: Checklist, *, approvers: Sequence[str] | None,
           attested: Iterable[Tick] | None = None) -> Checklist:
    """The checklist once the deploy was decided. `approvers`: who approved it (empty when
    nobody did: not needed, rejected, expired); None while it is still open (awaiting
    approval, or its window). The items nothing checked are then shown attested by the
    approvers, by name, where the approval attested them, and otherwise as not checked with
    why; never as done.

    `attested`: the attestations kept when the approvals were complete (ticks with
    `attested`, as stored): they alone decide, whatever the environment says today. None
    (a caller without the store): the environment's setting (`attestation`) decides."""
    if approvers is None:
        return checklist
    kept = None if attested is None else {t.item: t for t in attested if t.attested}

    def attesters(item: str) -> list[str]:
        """Who attested `item` on approval (empty: nobody did)."""
        if kept is None:
            return list(approvers or ()) if checklist.attestation else []
        tick = kept.get(item)
        return [] if tick is None else list(approvers or ()) or [tick.by]

    out: list[ItemState] = []
    for state in checklist.items:
        by = attesters(state.item)
        if not _unchecked(checklist, state):
            out.append(state)
        elif by:
            names = ", ".join(f"<@{a}>" for a in by)
            out.append(replace(state, mark=Mark.ATTESTED, tickable=False,
                               detail=f"attested by {names} on approval"))
        elif state.mark is Mark.NOT_CHECKED:
            out.append(replace(state, tickable=False))
        else:
            why = "nobody ticked it before approval" if approvers else "nobody ticked it"
            out.append(replace(state, mark=Mark.NOT_CHECKED, tickable=False,
                               detail=f"not checked: {why}"))
    return replace(checklist, items=tuple(out))


def check_tick(checklist: Checklist, item: str, *, user_id: str, requester: str,
               not_applicable: bool) -> None:
    """Refuse a tick that the rules do not allow: an unknown or automatic item, marking the
    migrations review not applicable, or the requester ticking their own migrations."""
    state = checklist.get(item)
    if state is None or not state.tickable:
        name = LABELS.get(item, item)
        raise UserError(f"“{name}” is checked automatically; it cannot be ticked in Slack.")
    if item in (MIGRATIONS, REVIEWS):
        name = LABELS[item]
        if not_applicable:
            raise UserError(f"“{name}” cannot be marked not applicable: someone must "
                            "review and tick it.")
        if user_id == requester:
            what = "its migrations" if item == MIGRATIONS else "its changes"
            raise Forbidden(f"You requested this deploy, so you cannot review {what} "
                            f"yourself: ask someone else to tick “{name}”.")


def clean_reason(text: str) -> str:
    """A "not applicable" reason: one short line, required."""
    reason = " ".join(text.split())
    if not reason:
        raise UserError("Say in a word why the item does not apply (e.g. “no new flags”).")
    if len(reason) > MAX_REASON:
        raise UserError(f"Keep the reason short (at most {MAX_REASON} characters).")
    return reason


def blocking_text(items: Sequence[ItemState]) -> str:
    """“Tests passing (failed: build); Rollback plan documented (…)” for a refusal."""
    return "; ".join(f"{i.label} ({i.detail})" if i.detail else i.label for i in items)
