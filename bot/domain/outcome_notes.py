"""What a deployment's error text says of how it ended, as the runner notes it there: an
abort ("aborted by <@U0BOB> …"), a rollback that replaced it ("… rolled back to v1.2.2 by
<@U0BOB> (deployment #5)"), a failed watch ("failed verification: …") or a failed rollout
left applied (pure). The record, the announcements and the alerts read them back."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State

VERIFY_FAILED = "failed verification"

#: How the runner notes an abort at the start of the error of the deployment it stopped:
#: "aborted by <@U0BOB>; rolled back to v1.2.2", "aborted by <@U0BOB>; the rollback to v1.2.2
#: failed too: …" (bot.services.runner), with DURING_THE_WATCH after the name when the
#: rollout had gone live.
DURING_THE_WATCH = " during the watch"
_ABORTED = re.compile(r"^aborted by (?P<by>\S+?)(?P<watch>" + re.escape(DURING_THE_WATCH)
                      + r")?(?:; (?P<then>.*))?$", re.DOTALL)
#: What the record says of the step an abort stopped.
STOPPED = "stopped: aborted"


@dataclass(frozen=True)
class Abort:
    """An abort of a deploy, as the runner ended it."""

    by: str  # who asked for it, as written (a mention)
    at: datetime | None  # when they asked
    went_live: bool  # it was aborted during its watch: the rollout had gone live
    then: str | None  # what followed: "rolled back to v1.2.2", or why nothing was rolled back


def abort_note(error: str | None) -> Abort | None:
    """The abort the runner noted at the start of a deployment's `error` (None: none), as
    far as the text tells it (no time; live only when it says "during the watch"). For an
    alert, which has the error and not the deployment."""
    m = _ABORTED.match(error or "")
    if m is None:
        return None
    return Abort(by=m["by"], at=None, went_live=m["watch"] is not None, then=m["then"])


def aborted(d: Deployment) -> Abort | None:
    """How `d` was aborted (None: it was not, or it has not ended yet). It went live when
    the runner says it stopped the watch, or when its watch had come to a verdict."""
    if (d.kind is not Kind.DEPLOY or d.abort_requested_by is None or not d.error
            or d.state not in (State.FAILED, State.ROLLED_BACK)):
        return None
    rb = rolled_back(d)
    # A rollback someone ran later (its rollback failed) adds its own line: not this one's.
    note = abort_note(d.error if rb is None or rb.by is None else rb.reached)
    if note is None:
        return None
    return replace(note, at=d.abort_requested_at,
                   went_live=note.went_live or d.verification is not None)


def still_live(version: str, environment: str) -> str:
    """How the runner notes a failed watch left live (automatic rollback off); dropped
    from the headline once a rollback replaced it (`headline_error`)."""
    return f"{version} is still live (automatic rollback is off in {environment})"


def headline_error(d: Deployment) -> str | None:
    """`d`'s error as its headline (card status, `/deploys`, the summary) says it now: once
    rolled back, without the `still_live` note, which was true when the watch failed and is
    not now. The record's check line keeps the note: it says what was reached, then."""
    if d.error is None or d.state is not State.ROLLED_BACK:
        return d.error
    return d.error.replace("; " + still_live(d.version, d.environment), "") or None


def failed_verification(d: Deployment) -> bool:
    """It went live, then the watch after the rollout failed (rolled back or not)."""
    return (d.state in (State.FAILED, State.ROLLED_BACK) and d.error is not None
            and d.error.startswith(VERIFY_FAILED))


def failed_rollout(d: Deployment) -> bool:
    """Its rollout failed and left the new version applied, its new pods never ready (a
    Kubernetes Deployment whose template has the new image): rolled back automatically,
    or Rollback / Keep offered (and perhaps chosen since) — the runner records that offer
    as a verification that is not ok, although no watch ran. Not a failed watch, not an
    abort, not a rollout that failed leaving the old version as it was (that one just
    failed: no verification, nothing rolled back)."""
    if (d.kind is not Kind.DEPLOY or d.state not in (State.FAILED, State.ROLLED_BACK)
            or not d.error or failed_verification(d) or abort_note(d.error) is not None):
        return False
    if d.verification is not None:
        return not d.verification.ok
    rb = rolled_back(d)
    return rb is not None and rb.by is None and rb.reached is not None


#: How the runner notes a rollback at the end of the error of the deployment it replaced:
#: "rolled back to v1.2.2 by <@U0BOB> (deployment #5)", or "rolled back to v1.2.2" when it
#: rolled it back itself after a failed watch (bot.services.runner).
_ROLLED_BACK = re.compile(r"(?:^|; )rolled back to (?P<to>\S+)"
                          r"(?: by (?P<by>.+?) \(deployment #(?P<id>\d+)\))?$")


@dataclass(frozen=True)
class RolledBack:
    """A rollback that replaced a deployment, as the runner noted it on the deployment."""

    to: str  # the version rolled back to
    by: str | None  # who asked for it, as written (a mention); None: deploybot, by itself
    rollback_id: int | None  # the rollback deployment
    reached: str | None  # the error the deployment had ended with (None: it had succeeded)


def rollback_note(error: str | None) -> RolledBack | None:
    """The rollback the runner noted at the end of a deployment's `error` (None: none, or
    it cannot be read). For an alert, which has the error and not the deployment."""
    m = _ROLLED_BACK.search(error or "")
    if error is None or m is None:
        return None
    return RolledBack(to=m["to"], by=m["by"], rollback_id=int(m["id"]) if m["id"] else None,
                      reached=error[:m.start()] or None)


def rolled_back(d: Deployment) -> RolledBack | None:
    """How `d` was rolled back (None: it was not, or the note cannot be read)."""
    if d.state is not State.ROLLED_BACK or not d.error:
        return None
    return rollback_note(d.error)
