"""The guide's deployment record for one deployment, derived from its state (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.checklist import Checklist
from bot.domain.checklist import Mark as ChecklistMark
from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State

# The guide's pre-deployment checklist. Shown for the approvers to confirm by hand where
# deploybot does not evaluate it (no `checklist:` in app.yaml, or a service without GitHub);
# otherwise the record shows the evaluated checklist (bot.domain.checklist).
PRE_DEPLOYMENT_CHECKLIST = (
    "Tests passing",
    "Code reviewed and approved",
    "Database migrations reviewed",
    "Feature flags configured",
    "Monitoring alerts set up",
    "Rollback plan documented",
)


class Mark(StrEnum):
    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    MANUAL = "manual"  # to be confirmed by people; not checked by the bot
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Item:
    label: str
    mark: Mark
    detail: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


_REACHED_RUN = {State.RUNNING, State.VERIFYING, State.SUCCEEDED, State.FAILED,
                State.ROLLED_BACK}
#: The start of the error of a deployment that went live and then failed its watch (the
#: runner writes it so).
VERIFY_FAILED = "failed verification"
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


def failed_verification(d: Deployment) -> bool:
    """It went live, then the watch after the rollout failed (rolled back or not)."""
    return (d.state in (State.FAILED, State.ROLLED_BACK) and d.error is not None
            and d.error.startswith(VERIFY_FAILED))


def _rollout_item(d: Deployment) -> Item:
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
        return Item("Rollout", Mark.DONE, f"{d.version} is live")
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


def _watch_item(d: Deployment) -> Item:
    if d.state is State.VERIFYING:
        return Item("Post-deployment checks", Mark.IN_PROGRESS, d.progress)
    if d.state is State.SUCCEEDED:
        return Item("Post-deployment checks", Mark.DONE, d.progress)
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


def _evaluated(checklist: Checklist) -> tuple[Item, ...]:
    """The record's pre-deployment items from the evaluated checklist."""
    out = []
    for i in checklist.items:
        if i.mark is ChecklistMark.OK:
            mark = Mark.DONE
        elif i.mark is ChecklistMark.NOT_APPLICABLE:
            mark = Mark.SKIPPED
        elif checklist.skipped is not None and i.required:
            out.append(Item(i.label, Mark.SKIPPED, f"skipped (emergency): {i.detail}"))
            continue
        else:
            mark = Mark.FAILED if i.mark is ChecklistMark.FAILED else Mark.PENDING
        out.append(Item(i.label, mark, i.detail or None))
    return tuple(out)


def build_record(d: Deployment, checklist: Checklist | None = None) -> tuple[Section, ...]:
    """The record's sections; `checklist` is the evaluated pre-deployment checklist, when
    deploybot evaluates one for this deployment."""
    if d.kind is Kind.MIGRATE:
        return (
            Section("Before", (_approval_item(d),)),
            Section("Migration", (_migration_run_item(d),)),
            Section("After", (_announce_item(d),)),
        )
    if d.kind is Kind.ROLLBACK:  # a remedy: no checklist, no migrations of the old image
        return (
            Section("Rollback", (_approval_item(d), _rollout_item(d))),
            Section("Post-deployment", (_watch_item(d), _announce_item(d))),
        )
    if d.state is State.AWAITING_APPROVAL:
        pre_mark = Mark.MANUAL
    elif d.state is State.SCHEDULED:  # confirmed by the approvers later, not yet
        pre_mark = Mark.PENDING
    else:
        pre_mark = Mark.SKIPPED if d.state in _CLOSED else Mark.DONE
    pre = (_evaluated(checklist) if checklist is not None else
           tuple(Item(label, pre_mark, None) for label in PRE_DEPLOYMENT_CHECKLIST))
    return (
        Section("Pre-deployment", (*pre, _approval_item(d))),
        Section("Deployment", tuple(i for i in (_migrations_item(d), _rollout_item(d))
                                    if i is not None)),
        Section("Post-deployment", (_watch_item(d), _announce_item(d))),
    )
