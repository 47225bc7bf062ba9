"""Use cases of `/deploys`: the last deployments (of one environment and/or service), and the
DORA measures over the last 30 days from deploybot's own records (bot.domain.dora).

Read-only: one short transaction per answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.config import AppConfig
from bot.domain.deployment import Deployment
from bot.domain.dora import STATS_WINDOW, DeploymentFact, DoraStats, compute
from bot.domain.history_commands import (
    HISTORY_LIMIT,
    HistoryArgs,
    HistoryParsed,
    StatsArgs,
    parse_history,
)
from bot.ports import Clock, Store

#: The audit event that marks when a deployment failed (its watch, after going live).
FAILED_EVENT = "deploy.failed"


@dataclass(frozen=True)
class History:
    at: datetime
    environment: str | None
    service: str | None
    deployments: tuple[Deployment, ...]  # newest first
    limit: int


@dataclass(frozen=True)
class StatsReport:
    at: datetime
    environments: tuple[str, ...]  # in scope
    service: str | None
    default_scope: bool  # the production environments, as nobody named one
    overall: DoraStats
    per_environment: tuple[tuple[str, DoraStats], ...]  # when more than one is in scope


class HistoryService:
    def __init__(self, *, config: AppConfig, store: Store, clock: Clock) -> None:
        self._config = config
        self._store = store
        self._clock = clock

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def parse(self, text: str) -> HistoryParsed:
        cfg = self._config
        return parse_history(text, environments=cfg.environments.keys(), services={
            name: svc.environments or list(cfg.environments)
            for name, svc in cfg.services.items()})

    # -- reading ---------------------------------------------------------------------------
    def history(self, args: HistoryArgs, *, limit: int = HISTORY_LIMIT) -> History:
        at = self._clock.now()
        with self._store.transaction() as r:
            found = r.deployments.history(limit=limit, environment=args.environment,
                                          service=args.service)
        return History(at=at, environment=args.environment, service=args.service,
                       deployments=tuple(found), limit=limit)

    def stats(self, args: StatsArgs) -> StatsReport:
        at = self._clock.now()
        since = at - STATS_WINDOW
        default_scope = args.environment is None
        if args.environment is not None:
            envs: tuple[str, ...] = (args.environment,)
        else:
            production = self._config.production_environments()
            envs = tuple(e for e in self._config.environments if e in production) \
                or tuple(self._config.environments)
        if args.service is not None:
            deploys_to = self._config.services[args.service].environments
            if deploys_to is not None:  # e.g. a service that never goes to production
                envs = tuple(e for e in envs if e in deploys_to) or tuple(deploys_to)
        with self._store.transaction() as r:
            facts = list(r.deployments.facts(environments=envs, service=args.service,
                                             since=since))
            failed = r.audit.first_times(
                FAILED_EVENT, [f.id for f in facts if f.failed_verification])
        facts = [replace(f, failed_at=failed[f.id]) if f.id in failed else f for f in facts]
        per_env: tuple[tuple[str, DoraStats], ...] = ()
        if len(envs) > 1:
            per_env = tuple((e, _compute([f for f in facts if f.environment == e], since, at))
                            for e in envs)
        return StatsReport(at=at, environments=envs, service=args.service,
                           default_scope=default_scope,
                           overall=_compute(facts, since, at), per_environment=per_env)


def _compute(facts: list[DeploymentFact], since: datetime, until: datetime) -> DoraStats:
    return compute(facts, since=since, until=until)
