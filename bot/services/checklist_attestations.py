"""Which pre-deployment checklist deploybot evaluates for a deploy (`checklist_rules`), the
checklist of a deploy it does not check (`unchecked_checklist`, `UncheckedChecklists`, with
why: `not_checked_because`), and what approval attests: where an environment says
`checklist_attestation: approver`, the approval that completes a deploy's approvals keeps
the items nothing checked as attested ticks (`attest_on_approval`), read back for every card
(`KeptAttestations`). The use cases that check and tick are bot.services.checklist."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from bot.config import AppConfig
from bot.domain.checklist import (
    ITEMS,
    Checklist,
    Rules,
    Tick,
    attestations,
    evaluate,
    rules_for,
    settle,
    unchecked_items,
    unevaluated,
)
from bot.domain.checklist_facts import Facts
from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State
from bot.errors import DeploybotError
from bot.ports import Repositories, Store

log = logging.getLogger("bot.services.checklist")


def attests(config: AppConfig, d: Deployment) -> bool:
    """Approving a deploy in its environment attests the items nothing checked."""
    env = config.environments.get(d.environment)
    return env is not None and env.checklist_attestation == "approver"


def approvers_of(d: Deployment) -> list[str] | None:
    """Who approved the deploy (empty: nobody did, or it needed nobody); None while it is
    still open (awaiting approval, or waiting for its window)."""
    if d.state in (State.AWAITING_APPROVAL, State.SCHEDULED):
        return None
    if d.needs_approval and len(d.approvers) >= d.approvals_required:
        return [a.user_id for a in d.approvers]
    return []


def checklist_rules(config: AppConfig, d: Deployment) -> Rules | None:
    """The checklist deploybot evaluates for `d` (a deploy of a service with `github:`,
    with a `checklist:` section); None: it evaluates none."""
    cl = config.checklist
    svc = config.services.get(d.service)
    if cl is None or svc is None or svc.github is None or d.kind is not Kind.DEPLOY:
        return None
    return rules_for(
        items=cl.items,
        required_in={str(k): v for k, v in cl.required_in.items()}, environment=d.environment,
        production=d.environment in config.production_environments(),
        required_checks=svc.github.required_checks,
        migration_paths=svc.github.migration_paths)


def _items(config: AppConfig) -> tuple[str, ...]:
    return tuple(config.checklist.items) if config.checklist is not None else ITEMS


def unchecked_checklist(config: AppConfig, d: Deployment, why: str,
                        attested: Iterable[Tick] | None = None) -> Checklist | None:
    """The checklist of a deploy deploybot does not check (`why`), settled once it was
    decided; None for rollbacks and migration runs (no checklist). `attested`: the
    attestations kept on approval (None: not read; the environment's setting decides)."""
    if d.kind is not Kind.DEPLOY:
        return None
    return settle(unevaluated(_items(config), why, attestation=attests(config, d)),
                  approvers=approvers_of(d), attested=attested)


def attest_on_approval(config: AppConfig, r: Repositories, d: Deployment, *, evaluated: bool,
                       by: str, at: datetime) -> list[Tick]:
    """In the transaction of the approval (`by`, at `at`) that completed `d`'s approvals:
    where its environment says approval attests the items nothing checked
    (`checklist_attestation: approver`), keep that attestation of each of them as a tick
    (`attested`), so that the record shows it whatever the setting says later.
    `evaluated`: deploybot evaluates checklists (a ChecklistService exists). Returns the
    ticks kept (none where the environment does not attest)."""
    if d.kind is not Kind.DEPLOY or not attests(config, d):
        return []
    rules = checklist_rules(config, d) if evaluated else None
    if rules is None:
        checklist = unevaluated(_items(config), "not evaluated")
    else:
        checklist = evaluate(rules, r.checklists.facts(d.id) or Facts(),
                             list(r.checklists.ticks(d.id)), skipped=d.emergency_reason)
    ticks = attestations(unchecked_items(checklist), by=by, at=at)
    for tick in ticks:
        r.checklists.set_tick(d.id, tick)
    return ticks


def attested_ticks(ticks: Iterable[Tick]) -> list[Tick]:
    """The ticks that are attestations kept on approval (not someone's own tick)."""
    return [t for t in ticks if t.attested]


class KeptAttestations:
    """The attestations kept for decided deploys, read from the store (ChecklistCards asks
    for every card update). They never change once the approvals were complete, so each is
    read once and remembered (the last `size` deploys)."""

    def __init__(self, store: Store, *, size: int = 512) -> None:
        self._store = store
        self._size = size
        self._known: OrderedDict[int, list[Tick]] = OrderedDict()
        self._guard = threading.Lock()

    def of(self, d: Deployment) -> list[Tick]:
        """`d`'s attestations (none while it is open or when nobody approved it). Raises
        DeploybotError when the store cannot be read."""
        if d.kind is not Kind.DEPLOY or not approvers_of(d):
            return []
        with self._guard:
            if d.id in self._known:
                self._known.move_to_end(d.id)
                return self._known[d.id]
        with self._store.transaction() as r:
            kept = attested_ticks(r.checklists.ticks(d.id))
        with self._guard:
            self._known[d.id] = kept
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return kept


def not_checked_because(config: AppConfig, d: Deployment) -> str:
    """Why deploybot does not ask GitHub about a deploy (no ChecklistService, or a service
    without `github:`)."""
    svc = config.services.get(d.service)
    if svc is None or svc.github is None:
        return f"no GitHub repository configured for {d.service}"
    if config.checklist is None:
        return "no `checklist:` section in app.yaml"
    return "deploybot is not connected to GitHub"


class UncheckedChecklists:
    """The ChecklistCards port where deploybot checks no checklist (no `checklist:`, or not
    connected to GitHub): every deploy's items are shown not checked, and why."""

    def __init__(self, config: AppConfig, *, store: Store | None = None) -> None:
        """`store`: where the attestations made on approval are kept (without it, the
        environment's setting today decides whether a record shows them)."""
        self._config = config
        self._kept = KeptAttestations(store) if store is not None else None

    def card_checklist(self, d: Deployment) -> Checklist | None:
        """The ChecklistCards port. Never raises."""
        try:
            attested = self._kept.of(d) if self._kept is not None else None
        except DeploybotError:
            log.warning("deployment %s: could not read its checklist", d.id, exc_info=True)
            return None
        return unchecked_checklist(self._config, d, not_checked_because(self._config, d),
                                   attested)
