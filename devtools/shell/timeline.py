"""The shell's time: the real scheduler's jobs run on the shell's clock (`Timeline`), and the
words that move that clock (`advance 2h`, `at 2026-12-04 13:55`: `parse_duration`,
`parse_at`).

`deploybot run` runs APScheduler's BackgroundScheduler (bot.scheduling.scheduler), whose
thread fires each job on the wall clock. The shell builds that same scheduler over its own
database (`build_scheduler`: the same jobs, ids and periods, written to the job store) but
never lets it run: it starts it paused and reads its jobs back, then runs each job itself, as
tests/scheduling does (`job.func(*job.args)`), at the moments the job's interval trigger
falls due on the shell's clock. Moving time from A to B runs every tick of every job in
(A, B], in time order (ties in the scheduler's `EXPECTED_JOBS` order), with the clock set to
each tick's time first — deterministic on a ManualClock, whatever the wall clock does.

Ticks are aligned on multiples of each job's period since the Unix epoch (every minute on
the minute, every 10 s on the 10 s), so where they fall does not depend on when the session
started. Ticks the clock passed by itself (real time, or a bake window's time-lapse) run
once each at the next move, at its start: what APScheduler does with `coalesce=True` after a
stall.

Quiet ticks are skipped: a job in bot.scheduling.jobs.NEXT_DUE says, from the data it reads
(the first approval or lock to expire, window to open, lease to run out, announcement not
yet posted), when its next tick can find anything; its ticks before then are not run (they
would find nothing, change nothing and show nothing). That answer holds while nothing
changes, so it is asked again at each move (the lines in between may have changed anything)
and after any tick that ran — but one of a job that says a run returning 0 wrote nothing
(`WRITES_NOTHING_WHEN_ZERO`: check-live without drift). A day moved over is then ~300 ticks
(check-live's, and the ticks with work) instead of ~22,000, and as many times fewer reads.
`Timeline(..., skip_quiet=False)` runs every tick; `next_due={job function: NextDue}` answers
for a job in the shell's own place (the poll of the shell's fake GitHub, which changes only by
`merge`: devtools/shell/merges.py `poll_github_due`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock, ManualClock, OffsetClock
from bot.container import Container
from bot.scheduling import jobs
from bot.scheduling.jobs import NEXT_DUE, WRITES_NOTHING_WHEN_ZERO, NextDue
from bot.scheduling.scheduler import EXPECTED_JOBS, DeploybotScheduler, build_scheduler

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
#: The longest move one line may ask for (a typo such as `advance 2000d` would run for hours).
MAX_MOVE = timedelta(days=60)


class TimeError(ValueError):
    """A move the shell refuses: its message says why, for the person typing."""


def parse_duration(text: str) -> timedelta:
    """`2h`, `30m`, `1d`, `1h30m`, `45s` (units d h m s, each at most once, largest first)."""
    compact = text.strip().lower().replace(" ", "")
    if not compact:
        raise TimeError("advance needs a duration, e.g. `advance 2h` (or 30m, 1d, 1h30m).")
    parts = _DURATION.findall(compact)
    if "".join(n + u for n, u in parts) != compact:
        raise TimeError(f"{text.strip()!r} is not a duration: write e.g. 2h, 30m, 1d or 1h30m "
                        "(d, h, m, s).")
    units = [u for _, u in parts]
    if len(set(units)) != len(units) or units != sorted(units, key="dhms".index):
        raise TimeError(f"{text.strip()!r}: give each unit once, largest first (e.g. 1h30m).")
    delta = timedelta(**{_UNITS[u]: int(n) for n, u in parts})
    if delta <= timedelta(0):
        raise TimeError("advance needs a duration above zero, e.g. `advance 30m`.")
    return delta


def parse_at(text: str, zone: ZoneInfo) -> datetime:
    """`2026-12-04 13:55` (or ISO 8601 with a T, seconds, an offset): without an offset, in the
    team's zone."""
    if not text.strip():
        raise TimeError(f"at needs a time, e.g. `at 2026-12-04 13:55` (in {zone.key}).")
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeError(f"{text.strip()!r} is not a time: write e.g. `at 2026-12-04 13:55` "
                        f"(in {zone.key}).") from None
    return at.replace(tzinfo=zone) if at.tzinfo is None else at


@dataclass
class _Job:
    id: str
    func: Callable[..., Any]
    args: tuple[Any, ...]
    period: timedelta
    order: int
    due: datetime
    #: When the job's next tick can find anything (bot.scheduling.jobs.NEXT_DUE); None
    #: for a job that cannot tell: every tick of it runs.
    next_due: NextDue | None = None
    #: Its answer while nothing has changed (`asked`): None, nothing pending.
    quiet_until: datetime | None = None
    asked: bool = False
    #: What its last run returned (None: it raised, or the tick did not call it).
    result: Any = None

    def quiet_at(self, at: datetime) -> bool:
        """Whether its tick at `at` would find nothing (asking the job once, while nothing
        changes)."""
        if self.next_due is None:
            return False
        if not self.asked:
            self.quiet_until = self.next_due(self.args[0], at)  # (its instance,)
            self.asked = True
        return self.quiet_until is None or at < self.quiet_until

    def next_after(self, at: datetime) -> datetime:
        """The first tick after `at` (ticks on multiples of the period since the epoch)."""
        done = (at - _EPOCH) // self.period
        return _EPOCH + (done + 1) * self.period


def set_clock(clock: Clock, at: datetime) -> None:
    """Move the shell's clock on to `at` (a ManualClock exactly; an OffsetClock by the
    difference, real time going on from there); never back."""
    if isinstance(clock, ManualClock):
        if at > clock.now():
            clock.set(at)
    elif isinstance(clock, OffsetClock):
        gap = at - clock.now()
        if gap > timedelta(0):
            clock.advance(gap)
    else:  # pragma: no cover - run_shell always gives one of the two
        raise TypeError(f"the shell cannot move a {type(clock).__name__}")


class Timeline:
    """The scheduler's jobs, run by the shell on its clock when time moves."""

    def __init__(self, container: Container, clock: Clock, *, skip_quiet: bool = True,
                 next_due: Mapping[Callable[..., Any], NextDue] | None = None) -> None:
        self._container = container
        self._clock = clock
        self._skip_quiet = skip_quiet
        scheduler: DeploybotScheduler = build_scheduler(container)
        # Started paused, as every worker's is: the jobs are written to the job store and
        # stale ones removed. Then stopped at once, before any job falls due on the wall
        # clock (APScheduler's thread looks for due jobs once more as it stops): from here
        # on the shell runs the jobs, never that thread.
        scheduler.start(paused=True)
        try:
            stored = scheduler.get_jobs()  # read back from the job store
        finally:
            scheduler.shutdown(wait=False)
        now = clock.now()
        due: dict[Callable[..., Any], NextDue] = {**NEXT_DUE, **(next_due or {})}
        self._jobs: list[_Job] = []
        for job in stored:
            period = job.trigger.interval
            j = _Job(id=job.id, func=job.func, args=tuple(job.args), period=period,
                     order=EXPECTED_JOBS.index(job.id) if job.id in EXPECTED_JOBS
                     else len(EXPECTED_JOBS), due=_EPOCH,
                     next_due=due.get(job.func) if skip_quiet else None)
            j.due = j.next_after(now)
            self._jobs.append(j)
        self._jobs.sort(key=lambda j: j.order)

    @property
    def job_ids(self) -> list[str]:
        return [j.id for j in self._jobs]

    def close(self) -> None:
        jobs.unregister_instance(self._container.instance)

    def move_to(self, target: datetime, run: Callable[[str, datetime, Callable[[], Any]],
                                                      None]) -> int:
        """Run every job tick up to `target`, in order (but the quiet ones, see the module's
        docstring), then leave the clock at `target`. `run(job_id, at, call)` runs one tick
        (the shell shows what it sends). Returns how many ticks ran. TimeError when `target`
        is before now."""
        now = self._clock.now()
        if target < now:
            raise TimeError("time only moves forward: it is already "
                            f"{_shown(now, target, self._container.config.zone)}.")
        if target - now > MAX_MOVE:
            raise TimeError(f"that is {(target - now).days} days ahead; move at most "
                            f"{MAX_MOVE.days} days at a time.")
        ran = 0
        self._changed()  # the lines since the last move may have changed anything
        # Ticks the clock passed by itself: once each, now (coalesced, as APScheduler does).
        for j in sorted((j for j in self._jobs if j.due <= now), key=lambda j: (j.due, j.order)):
            run(j.id, now, self._call(j))
            self._ran(j)
            j.due = j.next_after(self._clock.now())
            ran += 1
        while True:
            j = min(self._jobs, key=lambda j: (j.due, j.order))
            if j.due > target:
                break
            # A deployment an earlier tick set off may have moved the clock past this tick
            # (its bake window's time-lapse): then it runs now, the clock never going back.
            at = max(j.due, self._clock.now())
            if j.quiet_at(at):  # it would find nothing: skipped
                j.due = j.next_after(at)
                continue
            set_clock(self._clock, at)
            run(j.id, at, self._call(j))
            self._ran(j)
            ran += 1
            # The next tick after this one, or after wherever the job left the clock (a
            # deployment it started may have moved it on).
            j.due = j.next_after(max(at, self._clock.now()))
        set_clock(self._clock, target)
        return ran

    def _changed(self) -> None:
        """Something may have changed (a tick ran, or a line since the last move): every
        job's answer to when it is next due is asked again."""
        for j in self._jobs:
            j.asked = False

    def _ran(self, j: _Job) -> None:
        """After `j`'s tick: what it may have changed is asked again."""
        if not (j.result == 0 and j.func in WRITES_NOTHING_WHEN_ZERO):
            self._changed()

    @staticmethod
    def _call(j: _Job) -> Callable[[], Any]:
        def call() -> Any:
            j.result = None
            j.result = j.func(*j.args)
            return j.result
        return call


def _shown(now: datetime, target: datetime, zone: ZoneInfo) -> str:
    return (f"{now.astimezone(zone):%a %Y-%m-%d %H:%M} (you asked for "
            f"{target.astimezone(zone):%a %Y-%m-%d %H:%M})")
