"""The pre-deployment checklist's rows (tables `checklist_ticks` and `checklist_facts`):
ticks given in Slack with who and when (and the attestations an approval made, as ticks
marked `attested`), and what GitHub last said about a deployment's version (stored as JSON)
with when to ask again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.domain import flag_status
from bot.domain.checklist import Tick
from bot.domain.checklist_facts import CheckStatus, Commit, Comparison, Facts, PullRequest
from bot.domain.states import State
from bot.store.models import ChecklistFactsRow, ChecklistTickRow, DeploymentRow


def facts_to_json(f: Facts) -> dict[str, Any]:
    cmp = f.comparison
    return {
        "checks": None if f.checks is None else [[c.name, c.state] for c in f.checks],
        "comparison": None if cmp is None else {
            "base": cmp.base, "head": cmp.head, "url": cmp.url,
            "total_commits": cmp.total_commits, "files": list(cmp.files),
            "commits": [{"sha": c.sha, "title": c.title, "author": c.author, "url": c.url,
                         "pulls": [[p.number, p.title, p.author, p.url, p.merged, p.approved]
                                   for p in c.pulls]} for c in cmp.commits],
        },
        "problem": f.problem,
        "checked_at": None if f.checked_at is None else f.checked_at.isoformat(),
        "no_base": f.no_base,
        "flags": None if f.flags is None else flag_status.to_json(f.flags),
    }


def facts_from_json(data: dict[str, Any]) -> Facts:
    cmp = data.get("comparison")
    return Facts(
        checks=None if data.get("checks") is None else tuple(
            CheckStatus(str(n), s) for n, s in data["checks"]),
        comparison=None if cmp is None else Comparison(
            base=cmp["base"], head=cmp["head"], url=cmp["url"],
            total_commits=int(cmp["total_commits"]), files=tuple(cmp["files"]),
            commits=tuple(Commit(sha=c["sha"], title=c["title"], author=c["author"],
                                 url=c["url"],
                                 pulls=tuple(PullRequest(int(n), t, a, u, bool(m), bool(ok))
                                             for n, t, a, u, m, ok in c["pulls"]))
                          for c in cmp["commits"])),
        problem=data.get("problem"),
        checked_at=(None if data.get("checked_at") is None
                    else datetime.fromisoformat(data["checked_at"])),
        no_base=bool(data.get("no_base")),
        flags=None if data.get("flags") is None else flag_status.from_json(data["flags"]),
    )


class SqlChecklistRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def ticks(self, deployment_id: int) -> Sequence[Tick]:
        rows = self._s.scalars(select(ChecklistTickRow).where(
            ChecklistTickRow.deployment_id == deployment_id).order_by(ChecklistTickRow.id))
        return [Tick(item=r.item, by=r.ticked_by, at=r.ticked_at, reason=r.reason,
                     attested=r.attested) for r in rows]

    def set_tick(self, deployment_id: int, tick: Tick) -> None:
        row = self._s.scalars(select(ChecklistTickRow).where(
            ChecklistTickRow.deployment_id == deployment_id,
            ChecklistTickRow.item == tick.item).with_for_update()).first()
        if row is None:
            self._s.add(ChecklistTickRow(deployment_id=deployment_id, item=tick.item,
                                         reason=tick.reason, ticked_by=tick.by,
                                         ticked_at=tick.at, attested=tick.attested))
        else:
            row.reason, row.ticked_by, row.ticked_at = tick.reason, tick.by, tick.at
            row.attested = tick.attested
        self._s.flush()

    def clear_tick(self, deployment_id: int, item: str) -> bool:
        res = self._s.execute(delete(ChecklistTickRow).where(
            ChecklistTickRow.deployment_id == deployment_id, ChecklistTickRow.item == item))
        return bool(getattr(res, "rowcount", 0))

    def facts(self, deployment_id: int) -> Facts | None:
        row = self._s.get(ChecklistFactsRow, deployment_id)
        return None if row is None else facts_from_json(row.facts)

    def save_facts(self, deployment_id: int, facts: Facts, *, failures: int,
                   next_check_at: datetime | None) -> None:
        row = self._s.get(ChecklistFactsRow, deployment_id, with_for_update=True)
        at = facts.checked_at
        assert at is not None, "facts are saved when they were checked"
        if row is None:
            self._s.add(ChecklistFactsRow(deployment_id=deployment_id,
                                          facts=facts_to_json(facts), checked_at=at,
                                          failures=failures, next_check_at=next_check_at))
        else:
            row.facts, row.checked_at = facts_to_json(facts), at
            row.failures, row.next_check_at = failures, next_check_at
        self._s.flush()

    def failures(self, deployment_id: int) -> int:
        row = self._s.get(ChecklistFactsRow, deployment_id)
        return 0 if row is None else row.failures

    def due(self, at: datetime, limit: int) -> Sequence[int]:
        return list(self._s.scalars(
            select(ChecklistFactsRow.deployment_id)
            .join(DeploymentRow, DeploymentRow.id == ChecklistFactsRow.deployment_id)
            .where(ChecklistFactsRow.next_check_at.is_not(None),
                   ChecklistFactsRow.next_check_at <= at,
                   DeploymentRow.state == State.AWAITING_APPROVAL.value)
            .order_by(ChecklistFactsRow.next_check_at).limit(limit)))
