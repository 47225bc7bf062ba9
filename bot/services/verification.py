"""The watch after a rollout (the Verifier port): the bake window and the checks.

During the bake window the new pods are looked at every `poll_every` (any restart, crash
loop or pod not ready fails it at once, with the cause); when the window has passed, the
environment's HTTP smoke checks and Prometheus query run. Time is the injected Clock; the
waits go through the injected `sleep` (tests advance a ManualClock in it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.config import VerifyConfig
from bot.errors import RetryableError
from bot.ports import Clock, Health, Probes, Superseded, VerifyResult

log = logging.getLogger(__name__)


def _left(delta: timedelta) -> str:
    s = max(0, int(delta.total_seconds() + 0.999))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


#: The time left is shown in steps of this much: progress is reported more often (it renews
#: the runner's lease and lets an abort be noticed within seconds), while the card and the
#: thread, redrawn only when the text changes, move on once per step.
SHOWN_STEP = 20


def _left_shown(delta: timedelta) -> str:
    """The time left rounded up to a `SHOWN_STEP` (5m00s, 4m40s, … 20s)."""
    s = max(0, int(delta.total_seconds() + 0.999))
    return _left(timedelta(seconds=-(-s // SHOWN_STEP) * SHOWN_STEP))


class BakeWatch:
    def __init__(self, *, checks: Mapping[str, VerifyConfig], health: Health | None,
                 probes: Probes, clock: Clock, sleep: Callable[[float], None],
                 poll_every: timedelta = timedelta(seconds=2),
                 report_every: timedelta = timedelta(seconds=20)) -> None:
        self._checks = dict(checks)
        self._health = health
        self._probes = probes
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_every
        self._report = report_every  # progress (which renews the runner's lease) this often

    def has_checks(self, environment: str) -> bool:
        c = self._checks.get(environment)
        return c is not None and (bool(c.smoke) or c.prometheus is not None)

    def watch(self, environment: str, service: str, version: str, *, until: datetime,
              progress: Callable[[str], None]) -> VerifyResult:
        began = self._clock.now()
        reported: datetime | None = None
        looks = 0
        while True:
            now = self._clock.now()
            if self._health is not None:
                try:
                    problem = self._health.check_health(environment, service, version)
                except RetryableError as e:  # the API is down for a moment: look again
                    log.warning("%s %s in %s: could not check the pods: %s", service, version,
                                environment, e)
                    problem = None
                except Superseded as e:
                    return VerifyResult(False, (str(e),), "the watch stopped: someone else "
                                        "deployed meanwhile", superseded=True)
                else:
                    looks += 1
                if problem:
                    return VerifyResult(False, (problem,),
                                        f"failed after {_left(now - began)} of watching")
            if now >= until:
                break
            if reported is None or now - reported >= self._report:
                reported = now
                progress(f"watching the new pods: {_left_shown(until - now)} left")
            self._sleep(min(self._poll, until - now).total_seconds())
        seen = [f"watched {_left(until - began)}" + (", pods healthy" if looks else "")]
        reasons: list[str] = []
        c = self._checks.get(environment)
        if c is not None and c.smoke:
            progress("running the smoke checks")
            failed = [r for s in c.smoke
                      if (r := self._probes.smoke(s.url, expect_status=s.expect_status))]
            reasons += failed
            seen.append(f"smoke checks {len(c.smoke) - len(failed)}/{len(c.smoke)} passed")
        if c is not None and c.prometheus is not None:
            progress("querying Prometheus")
            p = c.prometheus
            why, value = self._probes.prometheus(p.url, p.query, max_value=p.max)
            if why:
                reasons.append(why)
            if value:
                seen.append(value)
        return VerifyResult(not reasons, tuple(reasons), "; ".join(seen))
