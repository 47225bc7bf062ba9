"""Admission: every rule that can refuse a deployment, in one pure place, deciding into one
`Admission` with all its reasons (`admit`). The services gather the facts (a lock, the
deployment in flight, a faulty mark, the promotion gate's answer, the deploy window, what
runs live, a newer request) and turn the first refusal into the user's message; the rules
themselves live here:

- lock: someone else's lock on the service there refuses deploys and migration runs (its
  holder's own pass; a rollback always passes: it is the fix);
- in flight: one deployment at a time per service and environment (and per-PR instance);
- faulty: a version marked faulty there (rolled back from) needs `--force "reason"`;
- promotion: with `promote_from`, only a version that succeeded there first — by its own
  name, or, for a tag, as the commit it points at (an automatic deploy of a push records the
  commit's first 12 characters as its version): the services look both up (`promoted`,
  `promoted_by`); a refusal names the commit looked for, or says GitHub could not be asked
  for it (`commit`). An emergency skips the gate, and says so. What the gate found (the
  success there that passed it, `succeeded`, or the emergency's skip) is the admission's
  `promotion`, kept with the deploy for its card and record;
- window: the schedule and freezes (`PolicyDecision`: the emergency lane and the rollback
  rule are decided by the policy);
- approval: who may approve or reject, until when, the self-approval rule
  (bot.domain.approval, given as a `Decision`);
- downgrade and supersession, below.

- A deploy of a version older than the one live there is a *downgrade*: it needs an
  explicit confirmation naming both versions, by the requester (or the approver, or before
  it starts), recorded on the deployment (`downgrade_from`), and the record and the
  announcement say "downgrade". Versions compare by semantic-version precedence
  (semver.org §11); a commit running (an automatic deploy's version) compares as the tag
  GitHub lists for it (`live_tag`), and when GitHub could not be asked, a semantic version
  over it needs the same confirmation, saying the comparison could not be made; other
  versions that are not semantic are never called a downgrade (nothing can tell).
- A newer request for the same service and environment (main instance) *supersedes* the
  older ones still waiting — for approval, or for their window: they end cancelled, saying
  by which one, so an approval click on a stale card cannot put an old version over a
  newer one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.approval import ApprovalRule, decision_refusal
from bot.domain.deployment import Deployment, Kind, Promotion
from bot.domain.faulty import FaultyMark
from bot.domain.live import Recorded
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision
from bot.domain.states import State
from bot.domain.versions import CommitTag, TagCommit, older, semver
from bot.errors import UserError

#: The states a request waits in before it runs: a newer request supersedes these.
WAITING = (State.AWAITING_APPROVAL, State.SCHEDULED)


@dataclass(frozen=True)
class Downgrade:
    """`version` would replace the newer `live` version — known by its `tag` when `live` is
    a commit (`github.version_from: sha`) — or, with `unknown`, may: `live` is a commit and
    GitHub could not be asked which tag it is (why), so nothing could tell."""

    version: str
    live: str
    tag: str | None = None
    unknown: str | None = None


def comparable(live: str, live_tag: CommitTag | None) -> str:
    """The name `live` is compared by: its tag when it is a commit GitHub lists a tag for."""
    if live_tag is not None and live_tag.commit == live and live_tag.tag is not None:
        return live_tag.tag
    return live


def downgrade(kind: Kind, version: str, live: str | None, *,
              confirmed_from: str | None,
              live_tag: CommitTag | None = None) -> Downgrade | None:
    """The unconfirmed downgrade a deploy of `version` over `live` would be; None when it is
    none (not older, a rollback — going back is its purpose —, nothing known live) or when
    the downgrade from exactly `live` was confirmed. `live_tag`: what the commit `live` is
    known as; when GitHub could not say, a semantic `version` cannot be compared with it,
    and that is asked to be confirmed too (never skipped in silence)."""
    if kind is not Kind.DEPLOY or live is None or confirmed_from == live:
        return None
    known = live_tag if live_tag is not None and live_tag.commit == live else None
    if older(version, comparable(live, known)):
        return Downgrade(version=version, live=live, tag=known.tag if known else None)
    if known is not None and known.unknown is not None and semver(version) is not None:
        return Downgrade(version=version, live=live, unknown=known.unknown)
    return None


def superseded(new: Deployment, others: Iterable[Deployment]) -> list[Deployment]:
    """The requests `new` supersedes: older deploys of the same service to the same
    environment and instance, still waiting for approval or their window."""
    if new.kind is not Kind.DEPLOY:
        return []
    return [o for o in others
            if o.id < new.id and o.kind is Kind.DEPLOY and o.state in WAITING
            and (o.environment, o.service, o.instance)
            == (new.environment, new.service, new.instance)]


class Rule(StrEnum):
    """The rules that can refuse, in the order a refusal is reported."""

    APPROVAL = "approval"
    LOCK = "lock"
    IN_FLIGHT = "in_flight"
    FAULTY = "faulty"
    PROMOTION = "promotion"
    WINDOW = "window"
    DOWNGRADE = "downgrade"


@dataclass(frozen=True)
class Ask:
    """What is asked: a deployment of `version` (of `kind`) by `user_id`."""

    kind: Kind
    environment: str
    service: str
    version: str
    user_id: str
    instance: str | None = None
    emergency: bool = False
    forced: bool = False  # `--force "reason"` over a faulty mark
    deployment_id: int | None = None  # an existing deployment being approved or started


@dataclass(frozen=True)
class Decision:
    """An approval or rejection being recorded on `deployment` (the approval rules)."""

    deployment: Deployment
    user_id: str
    approve: bool
    is_approver: bool
    rule: ApprovalRule
    at: datetime


@dataclass(frozen=True)
class Facts:
    """What the services read for `admit`; None: not looked at, or nothing there."""

    lock: Lock | None = None
    active: Deployment | None = None  # the deployment in flight there, if any
    faulty: FaultyMark | None = None  # the version's faulty mark there
    promote_from: str | None = None  # environments.<env>.promote_from
    promoted: bool = True  # the version (or its tag's commit) succeeded in `promote_from`
    #: The tag's commit (as a version: its first 12 characters) that succeeded in
    #: `promote_from` when the version itself did not.
    promoted_by: str | None = None
    #: The deployment in `promote_from` that passed the gate: the version's (or its tag's
    #: commit's) last success there, as the store recorded it.
    succeeded: Recorded | None = None
    #: What GitHub said the version's tag points at (None: not asked — no `github:`, no gate)
    commit: TagCommit | None = None
    window: PolicyDecision | None = None
    live: str | None = None  # the version running there now
    #: What `live` is known as when it is a commit (its tag, or why GitHub could not say);
    #: None: not a commit, or not asked.
    live_tag: CommitTag | None = None
    downgrade_confirmed_from: str | None = None
    decision: Decision | None = None  # an approval or rejection being recorded


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    lock: Lock | None = None
    active: Deployment | None = None
    faulty: FaultyMark | None = None
    source: str | None = None  # the promotion gate's environment
    commit: TagCommit | None = None  # the tag's commit, looked for there too (or why not)
    window: PolicyDecision | None = None
    downgrade: Downgrade | None = None
    error: UserError | None = None  # the approval rules' own words


@dataclass(frozen=True)
class Admission:
    """The decision: every refusal (empty: admitted), and what an admitted deploy records."""

    refusals: tuple[Refusal, ...]
    #: The newer live version it replaces, when it is a (confirmed) downgrade.
    downgrade_from: str | None = None
    #: The promotion gate an emergency skipped (its source environment).
    skipped_gate: str | None = None
    #: The tag's commit (12 characters) that passed the promotion gate for the version.
    promoted_by: str | None = None
    #: What the promotion gate found, kept with the deploy (the card and the record say it):
    #: the deployment that passed it, or that an emergency skipped it; None: no gate there.
    promotion: Promotion | None = None

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def first(self) -> Refusal | None:
        return self.refusals[0] if self.refusals else None

    def refused(self, rule: Rule) -> Refusal | None:
        return next((r for r in self.refusals if r.rule is rule), None)


def admit(ask: Ask, facts: Facts) -> Admission:
    """Every rule at once over the facts given; the refusals in `Rule` order."""
    refusals: list[Refusal] = []
    if facts.decision is not None:
        c = facts.decision
        error = decision_refusal(c.deployment, user_id=c.user_id, approve=c.approve,
                                 is_approver=c.is_approver, rule=c.rule, at=c.at)
        if error is not None:
            refusals.append(Refusal(Rule.APPROVAL, error=error))
    if facts.lock is not None and facts.lock.blocks(ask.user_id, kind=ask.kind):
        refusals.append(Refusal(Rule.LOCK, lock=facts.lock))
    if facts.active is not None and facts.active.id != ask.deployment_id:
        refusals.append(Refusal(Rule.IN_FLIGHT, active=facts.active))
    deploy = ask.kind is Kind.DEPLOY
    if deploy and facts.faulty is not None and not ask.forced:
        refusals.append(Refusal(Rule.FAULTY, faulty=facts.faulty))
    unpromoted = deploy and facts.promote_from is not None and not facts.promoted
    if unpromoted and not ask.emergency:
        refusals.append(Refusal(Rule.PROMOTION, source=facts.promote_from,
                                commit=facts.commit))
    if facts.window is not None and not facts.window.allowed:
        refusals.append(Refusal(Rule.WINDOW, window=facts.window))
    dg = (downgrade(ask.kind, ask.version, facts.live,
                    confirmed_from=facts.downgrade_confirmed_from, live_tag=facts.live_tag)
          if ask.instance is None else None)
    if dg is not None:
        refusals.append(Refusal(Rule.DOWNGRADE, downgrade=dg))
    confirmed = (facts.live if deploy and ask.instance is None and facts.live is not None
                 and older(ask.version, comparable(facts.live, facts.live_tag)) else None)
    return Admission(refusals=tuple(refusals), downgrade_from=confirmed,
                     skipped_gate=facts.promote_from if unpromoted and ask.emergency else None,
                     promoted_by=facts.promoted_by if deploy and facts.promoted else None,
                     promotion=_promotion(facts, emergency=ask.emergency) if deploy else None)


def _promotion(facts: Facts, *, emergency: bool) -> Promotion | None:
    """The gate's finding a deploy keeps: the success that passed it, or its skip by an
    emergency (nothing had succeeded there); None without a gate."""
    source, found = facts.promote_from, facts.succeeded
    if source is None:
        return None
    if facts.promoted and found is not None:
        return Promotion(source, deployment_id=found.deployment_id, at=found.at,
                         commit=facts.promoted_by)
    return Promotion(source) if not facts.promoted and emergency else None
