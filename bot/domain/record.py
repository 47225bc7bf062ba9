"""The guide's deployment record for one deployment, derived from its state (pure).

A record never regresses: once a deployment ended, what it reached stays shown as it was (its
rollout, its checks, its announcement); a later Keep or rollback adds a line. A deploy someone
aborted says who and when, and how far it had got: stopped during its rollout, or live and
its checks stopped (an abort is not a failure of the rollout). Post-deployment checks are
✅ only when a watch ran: a success nobody watched (no `verify:` in its environment) says
"not checked" and why. The
pre-deployment section opens with the promotion gate's finding, when there was a gate. A
pre-deployment checklist item is done only when something checked it (bot.domain.checklist):
otherwise it is shown as not checked, or as attested by the approvers, by name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.domain.checklist import Checklist
from bot.domain.checklist import Mark as ChecklistMark
from bot.domain.deployment import Deployment, Kind
from bot.domain.flag_status import FlagReading
from bot.domain.outcome_notes import (
    STOPPED,
    Abort,
    RolledBack,
    aborted,
    failed_rollout,
    failed_verification,
    rolled_back,
)
from bot.domain.states import State

# The guide's pre-deployment checklist, as the record shows it when it is given no checklist
# (bot.domain.checklist evaluates one, or says why nothing checked it).
PRE_DEPLOYMENT_CHECKLIST = (
    "Tests passing",
    "Code reviewed and approved",
    "Database migrations reviewed",
    "Feature flags configured",
    "Monitoring alerts set up",
    "Rollback plan documented",
)
#: Why an item is not checked when the record is given no checklist at all.
NOT_CHECKED = "not checked by deploybot"


class Mark(StrEnum):
    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SKIPPED = "skipped"
    NOT_CHECKED = "not_checked"  # nothing checked it and nobody vouched for it (detail: why)
    ATTESTED = "attested"  # not checked, but the approvers vouched for it on approval
    ROLLED_BACK = "rolled_back"  # added later: a rollback replaced the deployment
    KEPT = "kept"  # added later: kept live although its checks failed
    ABORTED = "aborted"  # stopped because someone aborted it


@dataclass(frozen=True)
class Item:
    label: str
    mark: Mark
    detail: str | None = None
    at: datetime | None = None  # when it happened (shown in the reader's time zone)
    then: str | None = None  # what followed, shown after the time ("rolled back to v1.2.2")


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


_REACHED_RUN = {State.RUNNING, State.VERIFYING, State.SUCCEEDED, State.FAILED,
                State.ROLLED_BACK}
#: The start of the error of a deployment that went live and then failed its watch (the
#: runner writes it so).
# Closed before anything ran: the rest of the record will never happen.
_CLOSED = (State.REJECTED, State.EXPIRED, State.CANCELLED)


def _approval_item(d: Deployment) -> Item:
    if d.state is State.SCHEDULED:  # its approvals are set when its requester starts it
        return Item("Approval", Mark.PENDING, "when the deploy window opens")
    if not d.needs_approval:
        return Item("Approval", Mark.SKIPPED, "not needed for a rollback"
                    if d.kind is Kind.ROLLBACK else "not required in this environment")
    names = ", ".join(f"<@{a.user_id}>" for a in d.approvers)
    if d.state is State.AWAITING_APPROVAL:
        return Item("Approval", Mark.PENDING,
                    f"{len(d.approvers)}/{d.approvals_required}" + (f" — {names}" if names else ""))
    if d.state is State.REJECTED:
        who = d.rejecter.user_id if d.rejecter else "?"
        return Item("Approval", Mark.FAILED, f"rejected by <@{who}>")
    if d.state is State.EXPIRED or (d.state is State.CANCELLED
                                    and len(d.approvers) < d.approvals_required):
        return Item("Approval", Mark.FAILED, d.state.value)
    return Item("Approval", Mark.DONE, names or None)


def _rollout_item(d: Deployment, *, gone: bool = False) -> Item:
    """`gone`: a later rollback replaced it (it went live, it is not live now)."""
    if d.state is State.QUEUED:
        return Item("Rollout", Mark.PENDING, "queued")
    if d.state is State.RUNNING:
        return Item("Rollout", Mark.IN_PROGRESS, d.progress)
    if failed_verification(d):
        return Item("Rollout", Mark.DONE, f"{d.version} went live")
    if d.state is State.FAILED and d.migrations is not None and not d.migrations.ok:
        return Item("Rollout", Mark.SKIPPED, "not started: the migrations failed")
    if d.state is State.FAILED:
        return Item("Rollout", Mark.FAILED, d.error)
    if d.state in _CLOSED:
        return Item("Rollout", Mark.SKIPPED)
    if d.state in _REACHED_RUN:
        return Item("Rollout", Mark.DONE, f"{d.version} {'went' if gone else 'is'} live")
    return Item("Rollout", Mark.PENDING)


#: Log lines of the migrations Job shown in the record (the audit record keeps more).
RECORD_TAIL_LINES = 3


def short_tail(logs: str, lines: int = RECORD_TAIL_LINES, width: int = 120) -> str:
    """The last `lines` non-empty lines of `logs`, each at most `width` characters."""
    kept = [ln.strip()[:width] for ln in logs.splitlines() if ln.strip()][-lines:]
    return " / ".join(kept)


def _migrations_item(d: Deployment) -> Item | None:
    m = d.migrations
    if m is None:
        return None
    tail = short_tail(m.tail).replace("`", "'")
    detail = f"Job {m.job}" + (f": `{tail}`" if tail else "")
    return Item("Database migrations", Mark.DONE if m.ok else Mark.FAILED, detail)


#: How the runner's note on a deploy of the version already running ends
#: (bot.ports.AlreadyRunning: "v1.2.3 is already running in staging; nothing to do").
NOTHING_TO_DO = "; nothing to do"
#: How the runner's note on a deploy whose watch passed starts ("verified: watched 5m00s…").
VERIFIED = "verified:"


def watched(d: Deployment) -> bool:
    """A watch ran after its rollout: its verdict is recorded with it (or, on older records,
    the runner's "verified: …" note). A deploy or rollback that succeeded without one was
    not watched: its environment has no post-deployment watch (`verify:`), it is a per-PR
    preview, or nothing was rolled out."""
    return d.verification is not None or (d.progress or "").startswith(VERIFIED)


def _unwatched_item(d: Deployment) -> Item:
    """The checks of a success nobody watched: not checked, and why (never ✅)."""
    note = d.progress or ""
    if NOTHING_TO_DO in note:  # nothing changed, so there was nothing to watch
        return Item("Post-deployment checks", Mark.SKIPPED,
                    f"nothing was rolled out: {note.replace(NOTHING_TO_DO, '', 1)}")
    why = ("a per-PR preview is not watched" if d.instance is not None
           else f"no post-deployment watch configured for {d.environment} "
                f"(environments.{d.environment}.verify)")
    return Item("Post-deployment checks", Mark.NOT_CHECKED,
                f"not checked: {why}" + (f"; {note}" if note else ""))


def _watch_item(d: Deployment) -> Item:
    if d.state is State.VERIFYING:
        return Item("Post-deployment checks", Mark.IN_PROGRESS, d.progress)
    if d.state is State.SUCCEEDED and not watched(d):
        return _unwatched_item(d)
    if d.state is State.SUCCEEDED:
        v = d.verification
        return Item("Post-deployment checks", Mark.DONE,
                    d.progress or (f"{VERIFIED} {v.summary}" if v is not None else None))
    if failed_verification(d):
        return Item("Post-deployment checks", Mark.FAILED, d.error)
    if d.state in (State.FAILED, *_CLOSED):
        return Item("Post-deployment checks", Mark.SKIPPED)
    return Item("Post-deployment checks", Mark.PENDING)


def _announce_item(d: Deployment) -> Item:
    if d.state in (State.SUCCEEDED, State.FAILED, State.ROLLED_BACK):
        return Item("Announced in the deployments channel", Mark.DONE)
    if d.state in _CLOSED:
        return Item("Announced in the deployments channel", Mark.SKIPPED)
    return Item("Announced in the deployments channel", Mark.PENDING)


def _flag_item(d: Deployment) -> Item:
    """The change of a flag (`/flag`): what it did (the runner's words), or why not."""
    label = f"Flag `{d.target}` → `{d.version}`"
    if d.state is State.SUCCEEDED:
        return Item(label, Mark.DONE, d.progress)
    if d.state is State.RUNNING:
        return Item(label, Mark.IN_PROGRESS, d.progress)
    if d.state is State.FAILED:
        return Item(label, Mark.FAILED, d.error)
    if d.state in _CLOSED:
        return Item(label, Mark.SKIPPED)
    return Item(label, Mark.PENDING)


def _migration_run_item(d: Deployment) -> Item:
    """The Job of a migration run (`/migrate`)."""
    done = _migrations_item(d)
    if done is not None:
        return done
    if d.state is State.RUNNING:
        return Item("Database migrations", Mark.IN_PROGRESS, d.progress)
    if d.state is State.FAILED:
        return Item("Database migrations", Mark.FAILED, d.error)
    if d.state in _CLOSED:
        return Item("Database migrations", Mark.SKIPPED)
    return Item("Database migrations", Mark.PENDING, f"to {d.target}")


_MARKS = {ChecklistMark.OK: Mark.DONE, ChecklistMark.NOT_APPLICABLE: Mark.SKIPPED,
          ChecklistMark.FAILED: Mark.FAILED, ChecklistMark.PENDING: Mark.PENDING,
          ChecklistMark.NOT_CHECKED: Mark.NOT_CHECKED, ChecklistMark.ATTESTED: Mark.ATTESTED}


def _evaluated(checklist: Checklist) -> tuple[Item, ...]:
    """The record's pre-deployment items from the checklist (evaluated, or not checked)."""
    out = []
    for i in checklist.items:
        if (checklist.skipped is not None and i.required and not i.green
                and i.mark is not ChecklistMark.ATTESTED):
            out.append(Item(i.label, Mark.SKIPPED, f"skipped (emergency): {i.detail}"))
            continue
        out.append(Item(i.label, _MARKS[i.mark], i.detail or None))
    return tuple(out)


def _promotion_item(d: Deployment) -> Item | None:
    """The promotion gate, as it found it when the deploy was requested: the success there
    that passed it (which deployment, when it finished), or its skip by an emergency."""
    p = d.promotion
    if p is None:
        return None
    label = f"Promoted from {p.source}"
    if p.skipped:
        return Item(label, Mark.SKIPPED,
                    f"skipped (emergency): `{d.version}` had not succeeded there")
    return Item(label, Mark.DONE, f"{p.found(d.version)} in deployment #{p.deployment_id}",
                p.at)


def _unchecked() -> tuple[Item, ...]:
    """The guide's items when the record is given no checklist: nothing checked them."""
    return tuple(Item(label, Mark.NOT_CHECKED, NOT_CHECKED)
                 for label in PRE_DEPLOYMENT_CHECKLIST)


# -- what a rollback or a decision added later ------------------------------------------

def _as_reached(d: Deployment, rb: RolledBack | None) -> Deployment:
    """A rolled-back deployment as it was when it ended, before a rollback replaced it."""
    if d.state is not State.ROLLED_BACK:
        return d
    if rb is not None:
        return replace(d, state=State.SUCCEEDED if rb.reached is None else State.FAILED,
                       error=rb.reached)
    if d.verification is not None and d.verification.ok:  # a note it cannot read
        return replace(d, state=State.SUCCEEDED)
    return replace(d, state=State.FAILED)


def _aborted_items(d: Deployment, ab: Abort) -> tuple[Item, Item]:
    """The rollout and the checks of an aborted deploy: live and its checks stopped when it
    was aborted during its watch, else its rollout stopped (and no checks)."""
    if ab.went_live:
        return (Item("Rollout", Mark.DONE, f"{d.version} went live"),
                Item("Post-deployment checks", Mark.ABORTED, STOPPED))
    return (Item("Rollout", Mark.ABORTED, STOPPED),
            Item("Post-deployment checks", Mark.SKIPPED))


def _later_items(d: Deployment, rb: RolledBack | None,
                 ab: Abort | None = None) -> tuple[Item, ...]:
    """The lines added after the deployment ended: who aborted it and what followed, who
    kept it live after its checks failed, who chose to roll it back, and the rollback that
    replaced it."""
    out: list[Item] = []
    if ab is not None:
        out.append(Item(f"Aborted by {ab.by}", Mark.ABORTED, None, ab.at, then=ab.then))
        if rb is None or rb.by is None:  # the abort's own rollback: said on its line
            return tuple(out)
    v = d.verification
    if v is not None and v.decision == "keep" and failed_rollout(d):  # never served
        out.append(Item(f"Kept {d.version} applied", Mark.KEPT,
                        f"chosen by <@{v.decided_by}> after its rollout failed", v.decided_at))
    elif v is not None and v.decision == "keep":
        out.append(Item(f"Kept {d.version} live", Mark.KEPT,
                        f"chosen by <@{v.decided_by}> after its checks failed", v.decided_at))
    elif v is not None and v.decision == "rollback" and d.state is not State.ROLLED_BACK:
        since = f" (deployment #{v.rollback_id})" if v.rollback_id else ""
        out.append(Item(f"Rollback to {d.previous_version} chosen by <@{v.decided_by}>{since}",
                        Mark.ROLLED_BACK, None, v.decided_at))
    if d.state is State.ROLLED_BACK:
        if rb is None:
            out.append(Item("Rolled back", Mark.ROLLED_BACK, None, d.updated_at))
        elif rb.by is None:
            out.append(Item(f"Rolled back to {rb.to} automatically", Mark.ROLLED_BACK, None,
                            d.updated_at))
        else:
            since = f" (deployment #{rb.rollback_id})" if rb.rollback_id else ""
            out.append(Item(f"Rolled back to {rb.to} by {rb.by}{since}", Mark.ROLLED_BACK,
                            None, d.updated_at))
    return tuple(out)


#: The guide's record line for the flags a deploy's service declares.
FLAGS_SET = "Feature flags set"


def flags_set_item(reading: FlagReading) -> Item:
    """"Feature flags set": the declared flags as read when the rollout started (what was
    missing or not as expected said too), or why they could not be read then."""
    at = f"read from {reading.where} as the rollout started"
    if reading.problem is not None:
        return Item(FLAGS_SET, Mark.NOT_CHECKED, f"could not be read as the rollout started: "
                    f"{reading.problem}")
    if not reading.ok:
        return Item(FLAGS_SET, Mark.FAILED, f"{reading.values()} — {reading.problems()} ({at})")
    return Item(FLAGS_SET, Mark.DONE, f"{reading.values()} ({at})")


def build_record(d: Deployment, checklist: Checklist | None = None,
                 flags_set: FlagReading | None = None) -> tuple[Section, ...]:
    """The record's sections; `checklist` is the pre-deployment checklist as
    bot.domain.checklist gives it (evaluated, or not checked and why); without one, every
    item of the guide's is shown not checked. `flags_set`: the flags the service declares,
    as read when the rollout started (the guide's "Feature flags set"; None: not read)."""
    rb = rolled_back(d)
    ab = aborted(d)
    later = _later_items(d, rb, ab)
    gone = d.state is State.ROLLED_BACK
    d = _as_reached(d, rb)
    if d.kind is Kind.FLAG:
        return (
            Section("Before", (_approval_item(d),)),
            Section("Flag change", (_flag_item(d),)),
            Section("After", (_announce_item(d),)),
        )
    if d.kind is Kind.MIGRATE:
        return (
            Section("Before", (_approval_item(d),)),
            Section("Migration", (_migration_run_item(d),)),
            Section("After", (_announce_item(d), *later)),
        )
    if d.kind is Kind.ROLLBACK:  # a remedy: no checklist, no migrations of the old image
        return (
            Section("Rollback", (_approval_item(d), _rollout_item(d, gone=gone))),
            Section("Post-deployment", (_watch_item(d), _announce_item(d), *later)),
        )
    pre = _evaluated(checklist) if checklist is not None else _unchecked()
    gate = _promotion_item(d)
    if gate is not None:
        pre = (gate, *pre)
    rollout, watch = (_aborted_items(d, ab) if ab is not None
                      else (_rollout_item(d, gone=gone), _watch_item(d)))
    return (
        Section("Pre-deployment", (*pre, _approval_item(d))),
        Section("Deployment", tuple(i for i in (
            _migrations_item(d), rollout,
            flags_set_item(flags_set) if flags_set is not None else None) if i is not None)),
        Section("Post-deployment", (watch, _announce_item(d), *later)),
    )
