"""The deployment-window policy as a service: gathers every freeze (app.yaml windows,
public holidays, Black Friday / Cyber Monday, freezes added from Slack) and each
environment's schedule, and answers `bot.domain.policy.decide` for a given time."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.config import AppConfig
from bot.domain.freezes import Freeze, black_friday_cyber_monday, holiday_freezes, upcoming
from bot.domain.policy import PolicyDecision, closes_at, decide, local
from bot.domain.schedule import Schedule
from bot.ports import Holidays, Repositories, Store

# How far ahead freezes are gathered: the next allowed time is searched this far.
HORIZON = timedelta(days=60)


@dataclass(frozen=True)
class WindowStatus:
    """What `/freeze` and the status view show for one environment."""

    environment: str
    decision: PolicyDecision
    next_change: datetime | None  # when `decision.allowed` flips next (None: not soon)
    upcoming: tuple[Freeze, ...]
    schedule: Schedule | None


class PolicyService:
    def __init__(self, *, config: AppConfig, store: Store, holidays: Holidays) -> None:
        self._config = config
        self._store = store
        self._holidays = holidays
        self._static: dict[tuple[date, int], tuple[Freeze, ...]] = {}
        self._lock = threading.Lock()

    @property
    def zone_name(self) -> str:
        return self._config.timezone

    def schedule(self, environment: str) -> Schedule | None:
        return self._config.schedule_for(environment)

    def freezes(self, *, at: datetime, horizon: timedelta = HORIZON,
                include_runtime: bool = True,
                within: Repositories | None = None) -> list[Freeze]:
        """Every freeze that may matter from `at` to `at + horizon`. `within`: read the
        runtime freezes in the caller's transaction (`/deploy` reads its facts in one)."""
        out = list(self._static_freezes(at.date(), horizon.days))
        if include_runtime:
            if within is not None:
                out += [rf.freeze for rf in within.freezes.current(at - timedelta(days=1))]
            else:
                with self._store.transaction() as r:
                    out += [rf.freeze for rf in r.freezes.current(at - timedelta(days=1))]
        return [f for f in out if f.end > at - timedelta(days=1)]

    def _static_freezes(self, day: date, horizon_days: int) -> tuple[Freeze, ...]:
        """The freezes app.yaml implies (windows, holidays, Black Friday / Cyber Monday) from
        two days before `day` to two after the horizon; the same all day, so computed once
        per day (the last few days are kept)."""
        key = (day, horizon_days)
        with self._lock:
            hit = self._static.get(key)
        if hit is not None:
            return hit
        cfg, zone = self._config, self._config.zone
        out = [cfg.freeze_window(w) for w in cfg.freezes.windows]
        first = day - timedelta(days=2)
        last = day + timedelta(days=horizon_days + 3)
        for h in cfg.freezes.holidays:
            days = self._holidays.between(h.country, h.subdivision, h.names, h.language,
                                          first, last)
            out += holiday_freezes(days, country=h.country, zone=zone,
                                   environments=h.environments)
        bf = cfg.freezes.black_friday_cyber_monday
        if bf is not None:
            for year in range(first.year, last.year + 1):
                out.append(black_friday_cyber_monday(year, zone, bf.environments))
        result = tuple(out)
        with self._lock:
            if len(self._static) > 8:
                self._static.clear()
            self._static[key] = result
        return result

    def check(self, environment: str, service: str, *, at: datetime,
              emergency: bool = False,
              freezes: Sequence[Freeze] | None = None) -> PolicyDecision:
        """`freezes`: what `freezes(at=at)` answered, when the caller read it already."""
        return decide(environment=environment, service=service, at=at, emergency=emergency,
                      schedule=self.schedule(environment),
                      freezes=self.freezes(at=at) if freezes is None else freezes,
                      horizon=HORIZON, zone=self._config.zone)

    def closes_at(self, environment: str, service: str | None = None, *,
                  at: datetime, freezes: Sequence[Freeze] | None = None) -> datetime | None:
        """When a normal deploy of `service` (None: any) to `environment` stops being
        allowed next, seen from `at` (`at` itself when it is not allowed now; None: not
        within 14 days): where a request's approval expiry is clipped. `freezes`: as for
        `check`."""
        return closes_at(environment=environment, service=service, at=at,
                         schedule=self.schedule(environment),
                         freezes=self.freezes(at=at) if freezes is None else freezes)

    def check_rollback(self, environment: str, service: str, *, at: datetime) -> PolicyDecision:
        """Rollbacks follow their own rule (`environments.<env>.rollbacks.ignore_windows`,
        default true): fixing production is never blocked by a freeze or a closed window.
        When it overrides something, the decision is allowed with `emergency` set and the
        overridden reasons listed, so the rollback is announced as such."""
        ignore = self._config.environments[environment].rollbacks.ignore_windows
        return self.check(environment, service, at=at, emergency=ignore)

    def status(self, environment: str, *, at: datetime,
               within: timedelta = timedelta(days=30)) -> WindowStatus:
        freezes = self.freezes(at=at, horizon=max(within, HORIZON))
        schedule = self.schedule(environment)
        # Any service: freezes limited to some services are listed, not decisive here.
        decision = decide(environment=environment, service="*", at=at, emergency=False,
                          schedule=schedule, freezes=freezes, horizon=HORIZON,
                          zone=self._config.zone)
        if decision.blocked:
            next_change = decision.next_allowed_at
        else:
            next_change = self._next_closing(environment, at, schedule, freezes)
        return WindowStatus(environment=environment, decision=decision,
                            next_change=next_change,
                            upcoming=tuple(upcoming(freezes, environment, at, within)),
                            schedule=schedule)

    def _next_closing(self, environment: str, at: datetime, schedule: Schedule | None,
                      freezes: list[Freeze]) -> datetime | None:
        """The next instant at which a normal deploy stops being allowed (within 14 days)."""
        candidates = [f.start for f in freezes if f.start > at and f.targets(environment)]
        if schedule is not None:
            closes = schedule.next_close(at)
            if closes is not None:
                candidates.append(closes)
        soonest = min(candidates, default=None)
        if soonest is not None and soonest - at > timedelta(days=14):
            return None
        return soonest

    def describe(self, at: datetime) -> str:
        return local(at, self._config.zone)
