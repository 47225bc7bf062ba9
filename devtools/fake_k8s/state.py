"""What the fake remembers, under one lock: the objects, the event history, the controller's
private knowledge of rollouts and pods, and the faults armed by the tests.

`FakeState` holds it (every other part of the fake is a mixin over it, see
devtools.fake_k8s); the dataclasses here are its pieces. Controller pacing is counted in
ticks (`FakeKubernetes(tick=...)` seconds each).
"""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from devtools.fake_k8s.api import RESOURCES, FailureMode, JSONDict, Recorded, Resource, api_time

if TYPE_CHECKING:
    from devtools.fake_k8s.wire import Handler, Server


# Bounded watch history: a watch may resume from any resourceVersion still in it.
HISTORY_LIMIT = 5000
# Controller pacing, in ticks.
JOB_RUN_TICKS = 3
DEADLINE_TICKS = 5
CRASH_DELAY_TICKS = 3
CRASH_LOOP_RESTART_TICKS = 3  # a crash-looping container restarts every this many ticks
# How often an idle watch stream wakes up to notice a closed client or a stop.
WATCH_POLL_SECONDS = 0.2
NODES = ("fake-node-1", "fake-node-2", "fake-node-3")
# Kubernetes' "safe" alphabet for generated names and pod-template-hash values.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class Event:
    rv: int
    resource: str
    type: str
    obj: JSONDict


@dataclass(eq=False)
class WatchStream:
    handler: Handler
    drop_after: int | None = None
    abrupt: bool = False
    sent: int = 0


@dataclass
class WatchRequest:
    resource: Resource
    namespace: str | None
    matches: Callable[[JSONDict], bool]
    resource_version: str | None
    timeout: float | None


@dataclass
class RequestFailure:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int


@dataclass
class JobOutcome:
    succeed: bool
    logs: str


@dataclass
class Rollout:
    template_hash: str
    rs_name: str
    mode: FailureMode | None
    crash_restarts: int | None
    failing: list[str]
    started_tick: int
    last_progress: float
    done: bool = False
    deadline_exceeded: bool = False
    #: How many of its new pods come up healthy before `mode` applies (fail_next_rollout),
    #: and how many it made so far.
    healthy_first: int = 0
    pods_made: int = 0
    #: Crash (crash_restarts) once a client has read the completed Deployment, not on a timer.
    crash_once_seen: bool = False


@dataclass
class DeploymentState:
    pending_failure: FailureMode | None = None
    pending_healthy_first: int = 0
    pending_crash: int | None = None
    pending_crash_once_seen: bool = False
    rollout: Rollout | None = None
    # Standing rules: a rollout to an image one of these matches fails in that mode.
    image_failures: list[tuple[Callable[[str], bool], FailureMode]] = field(
        default_factory=list
    )


@dataclass
class LogRule:
    """What `set_logs` told a container to log: its current run and its previous one, each
    a list of (when, text) chunks (a chunk may hold many lines)."""

    current: list[tuple[datetime, str]]
    previous: list[tuple[datetime, str]] | None
    images: Callable[[str], bool] | None = None  # only containers of a matching image


@dataclass
class PodState:
    """The fake's private knowledge about a pod: how it behaves and what it logs."""

    behavior: str  # healthy | image_pull | crash_loop | deadline | job
    failing: list[str]
    logs: dict[str, str]
    created_tick: int
    started_at: str
    restarts: int = 0
    crash_at_tick: int | None = None
    crash_max: int = 0
    job_result: bool | None = None  # None while a job pod runs; True/False when finished
    finished_at: str | None = None


class FakeState:
    """The fake's memory. Every field is read and written with `_cond` held."""

    def __init__(self, *, tick: float, clock: Callable[[], datetime]) -> None:
        self.tick = tick
        self.clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._rng = random.Random(0)
        self._rv = 0
        self._floor_rv = 0
        self._history: deque[Event] = deque()
        self._store: dict[str, dict[tuple[str, str], JSONDict]] = {p: {} for p in RESOURCES}
        self._deploy_state: dict[tuple[str, str], DeploymentState] = {}
        self._pod_state: dict[tuple[str, str], PodState] = {}
        self._job_outcomes: dict[tuple[str, str], JobOutcome] = {}
        #: (involved uid, type, reason, message, component) -> the event's name (aggregation)
        self._event_keys: dict[tuple[str, str, str, str, str], str] = {}
        #: set_logs: (namespace, deployment, pod or "", container or "") -> the logs to serve
        self._log_rules: dict[tuple[str, str, str, str], LogRule] = {}
        self._held_jobs: set[tuple[str, str]] = set()
        self._requests: list[Recorded] = []
        self._failures: list[RequestFailure] = []
        self._forbidden: set[tuple[str, str, str]] = set()
        self._open_watches: set[WatchStream] = set()
        self._pending_drop: tuple[int, bool] | None = None
        self._tick_no = 0
        self._unreachable = False
        self._stopping = False
        self._port = 0
        self._server: Server | None = None
        self._controller: threading.Thread | None = None
        self._controller_stop = threading.Event()

    def _stamp(self) -> str:
        return api_time(self.clock())
