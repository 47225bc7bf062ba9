"""What runs where: the executor's answer (`Observed`) and the one answer every screen shows
(`Live`), made of the executor's answer and deploybot's own record of what it did.

The executor (the Kubernetes Deployment, the last successful GitHub Actions run, the
simulated cluster's stored state) is the source of truth for what runs; the database is the
history of what deploybot did. `reconcile` puts the two together:

- the executor answered: its version is what runs; "since" is when the executor says it
  started running (a ReplicaSet's creation, a run's end, the simulated rollout's end), or,
  only when it cannot say, deploybot's own finish time when the record is of that same
  version (a finish comes after the watch: never over the executor's time). While
  the workload is not all on it (a rollout under way, or a failed one left applied), it
  is the version *given* to the workload: `Progress` says when it was applied, how many of
  its pods are available (none: it never ran) and which versions still serve; it is
  *drift* when deploybot's last record there is of another version and no deployment is in
  flight (someone used `kubectl set image`, Helm, another tool) — unsettled, only once
  that rollout is stuck (`Observed.stuck`) and the executor says deploybot did not start
  it;
- the executor answered that nothing runs (no workload, or one scaled to zero replicas:
  `Observed.stopped`): no version runs, whatever its template or deploybot's record names;
- the executor could not be read: deploybot's last record, marked "last known", with why;
- neither knows anything: version and time unknown. Never an invented time.

Pure: no I/O, no clock (times come in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Serving:
    """Pods of another version that still serve while the workload is not all on the
    version it was given (an older ReplicaSet's available pods, mid-rollout or after a
    rollout that failed and was left applied)."""

    version: str | None  # None: its image does not map to a version (`image` says what)
    image: str | None
    pods: int  # how many of its pods are available (serve)


@dataclass(frozen=True)
class Progress:
    """How far an unsettled workload is on the version it was given (`Observed.version`)
    and what serves meanwhile, as the executor counts it."""

    #: When that version was applied there (the ReplicaSet made for it); None: unknown
    #: (e.g. a rollback that reuses an older ReplicaSet). Not when it began to serve.
    applied: datetime | None
    available: int  # its own (new) pods available
    desired: int  # the replicas wanted
    #: The other versions whose pods still serve, most pods first; () when none.
    serving: tuple[Serving, ...] = ()

    @property
    def running(self) -> bool:
        """Some pod of the version serves (else it was applied but never ran)."""
        return self.available > 0


@dataclass(frozen=True)
class Observed:
    """What an executor says runs in one environment (its main instance) for a service."""

    #: The version its workload runs (while unsettled: was given, see `progress`), mapped
    #: back from the image (or the run, or the simulated state); None when what runs does
    #: not map to a version (an image outside the service's image template: `image` then
    #: says what it is).
    version: str | None
    #: When that version started running there, as the executor records it; None: unknown,
    #: or not (all) running yet (unsettled: `progress.applied` says when it was applied).
    since: datetime | None = None
    #: What the executor runs, in its own words (an image reference, a run's link).
    image: str | None = None
    #: False while the workload is not all on `version` (a rollout under way or stuck).
    settled: bool = True
    #: A short plain-words note on an unsettled workload that its counts (`progress`) do
    #: not say ("rollout stuck: ProgressDeadlineExceeded"); an executor without counts
    #: says all it knows here ("2/3 new pods available").
    detail: str | None = None
    #: The deploybot deployment that put `version` there, when the executor remembers it
    #: (the deploybot.io/deployment-id annotation, the run key); None: not deploybot, or
    #: the executor cannot tell.
    deployment_id: int | None = None
    #: Who or what made the change, when the executor records it (change-cause, actor).
    changed_by: str | None = None
    #: Unsettled: how many of `version`'s pods are available and which other versions
    #: still serve; None when settled or when the executor does not count pods.
    progress: Progress | None = None
    #: The replicas the workload asks for (a Deployment's spec.replicas); None: the
    #: executor does not say. 0 (`kubectl scale --replicas=0`): nothing runs, whatever
    #: version its template names (`stopped`).
    replicas: int | None = None
    #: Unsettled and given up on by the executor (a Deployment's ProgressDeadlineExceeded):
    #: it will not finish by itself.
    stuck: bool = False

    @property
    def stopped(self) -> bool:
        """Scaled to zero: the workload exists but runs no pod, of any version."""
        return self.replicas == 0


@dataclass(frozen=True)
class Recorded:
    """deploybot's own last rollout of a service there that succeeded (its history)."""

    version: str
    at: datetime  # when it went live (finished), else when it was requested
    deployment_id: int


@dataclass(frozen=True)
class Live:
    """The one answer to "what runs here, since when, and did deploybot put it there"."""

    environment: str
    service: str
    version: str | None  # None: unknown (nothing recorded and the executor cannot say)
    since: datetime | None  # None: unknown
    #: "cluster": read from the executor now; "record": deploybot's last record, the
    #: executor could not be read (`unreadable` says why); "unknown": neither knows.
    source: str
    unreadable: str | None = None  # why the executor could not be read
    drift: bool = False  # runs a version deploybot did not put there
    recorded: Recorded | None = None  # deploybot's last record there, if any
    observed: Observed | None = None  # the executor's answer, if it gave one
    #: For display: the tag GitHub last listed for `version` when it is a commit (an
    #: automatic deploy's version), as known without asking; None: not known, or no tag.
    tag: str | None = None

    @property
    def live(self) -> bool:
        """Read from the executor just now (not the last known record)."""
        return self.source == "cluster"

    @property
    def by_deploybot(self) -> bool:
        """deploybot put the version that runs there (its last record is of it)."""
        return (self.version is not None and self.recorded is not None
                and self.recorded.version == self.version)

    @property
    def settled(self) -> bool:
        return self.observed is None or self.observed.settled


def reconcile(environment: str, service: str, *, observed: Observed | None,
              unreadable: str | None, recorded: Recorded | None,
              in_flight: bool) -> Live:
    """Put the executor's answer (`observed`; None with `unreadable` None: it runs nothing
    there) and deploybot's record together. `in_flight`: a deployment of the service there
    is rolling out or being watched now (then a version that differs is no drift: it is
    ours, on its way)."""
    if unreadable is not None:
        if recorded is None:
            return Live(environment, service, None, None, "unknown", unreadable=unreadable)
        return Live(environment, service, recorded.version, recorded.at, "record",
                    unreadable=unreadable, recorded=recorded)
    if observed is None or observed.stopped:  # no workload, or scaled to zero
        return Live(environment, service, None, None, "cluster", recorded=recorded,
                    observed=observed)
    since = observed.since
    ours = recorded is not None and observed.version == recorded.version
    if ours and recorded is not None and since is None:
        # The executor cannot say when: deploybot put it (back) there, the record knows
        # about when. Never over the executor's own time: the record's is when the
        # deployment finished, after its watch — minutes after the version began to serve.
        since = recorded.at
    # A workload still changing is not judged yet; one stuck half-way is, when the executor
    # says deploybot did not start that rollout (no deployment id of ours): deploybot's own
    # failed rollout left applied (awaiting Rollback / Keep) carries its id.
    drift = (not in_flight and observed.version is not None and recorded is not None
             and not ours and (observed.settled
                               or (observed.stuck and observed.deployment_id is None)))
    return Live(environment, service, observed.version, since, "cluster", drift=drift,
                recorded=recorded, observed=observed)
