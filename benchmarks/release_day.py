"""Release day: N simultaneous deploys, each followed by a watch, in one deploybot process.

Issue 13's benchmark ("50 simultaneous deploys with a 1-minute watch finish in about one
minute"). deploybot is built through the composition root (``build_container``) with a
configuration written for the run: N services (``svc-01`` ...), one environment ``staging``
that needs one approval and watches each rollout for ``--watch`` seconds
(``verify: {bake: <watch>}``), on a fresh database (SQLite in a temporary directory, or a new
PostgreSQL database created for the run and dropped at the end), migrated by
``bot.store.schema.upgrade_schema``. The rollouts go to either

* ``--cluster simulated``: the simulated cluster (``simulated.rollout_seconds``, default 2 s),
* ``--cluster fake-k8s``: a :class:`~devtools.fake_k8s.FakeKubernetes` API server (N
  Deployments seeded) reached by the real ``kubernetes`` client through a kubeconfig.

The fakes (the FakeSlack Web API, and the fake Kubernetes API server with its controller)
run in a child process of their own (``serve-fakes``), so that the threads and memory
measured are deploybot's alone.

The run: all N deploys are requested through ``DeploymentService.request`` (what ``/deploy``'s
follow-up calls), then approved at once: N approvals are handed to the container's listener
pool (``container.background.submit``), each calling ``DeploymentService.decide`` as the
Approve button's listener does; the approval queues the deployment and submits it to the
runner. The benchmark waits for ``container.runner.wait_idle()`` and measures:

* **makespan**: from the approval burst (the first click) to the last deployment finished
  (its ``finished_at``);
* per deployment, **approval -> first patch**: from its approval being recorded
  (``decide`` returned: QUEUED, submitted to the runner) to its first rollout action -- with
  ``fake-k8s`` the first ``PATCH`` of its Deployment the fake API server recorded
  (``Recorded.at``), with ``simulated`` the deployment's ``started_at`` (the runner took it
  up; the rollout's first step follows within milliseconds); p50/p99/max. Also click ->
  approved (the listener pool) and click -> first patch;
* the peak thread count of the process (``threading.active_count()`` and the OS count, sampled
  every 0.2 s), the peak RSS (psutil, same samples), and which thread pools made up the peak;
* the number of deployments VERIFYING at once at peak (exact, from the audit log's
  ``deploy.verifying`` times to ``finished_at``; and as sampled from the database every 1 s);
* the final states: all must be ``succeeded`` (a WARNING otherwise).

The verdict: "makespan ~ X x one watch", and TARGET MET when makespan <= 1.5 x (watch + one
rollout), else TARGET MISSED. One rollout is ``--rollout`` for the simulated cluster, the
median first patch -> VERIFYING for the fake Kubernetes API.

Run it from the repository root::

    .venv/bin/python -m benchmarks.release_day                      # N=50, 60 s watch, SQLite
    .venv/bin/python -m benchmarks.release_day --database postgresql
    .venv/bin/python -m benchmarks.release_day --cluster fake-k8s --quick
    .venv/bin/python -m benchmarks.release_day --quick              # N=10, 5 s watch

The exit code is 0 whether or not the target is met, and 1 if a deployment did not succeed
or the run did not finish.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks.scratch_database import ScratchDatabase

REQUESTER, APPROVER = "U0ALICE", "U0BOB"
CHANNEL = "C0DEPLOYS"
ENVIRONMENT = "staging"
BOT_TOKEN = "xoxb-bench-token"
OLD, NEW = "v1.0.0", "v1.0.1"
IMAGE = "ghcr.io/acme/{service}:{{version}}"
DEFAULT_N, DEFAULT_WATCH = 50, 60.0
QUICK_N, QUICK_WATCH = 10, 5.0
DEFAULT_ROLLOUT = 2.0
DEFAULT_TICK = 0.1
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_FACTOR = 1.5
SAMPLE_EVERY = 0.2
STATES_EVERY = 5  # samples: the database is read every 1 s
REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE = "benchmarks.release_day"


def service_names(n: int) -> list[str]:
    width = max(2, len(str(n)))
    return [f"svc-{i:0{width}d}" for i in range(1, n + 1)]


# --------------------------------------------------------------------------- configuration

def bench_config(n: int, *, watch: float, cluster: str, rollout: float,
                 workers: int | None) -> dict[str, Any]:
    """N services in `staging`, which needs one approval and watches each rollout `watch` s."""
    services: dict[str, Any] = {}
    for name in service_names(n):
        if cluster == "fake-k8s":
            services[name] = {"executor": "kubernetes",
                              "kubernetes": {"image": IMAGE.format(service=name)}}
        else:
            services[name] = {"executor": "simulated"}
    cfg: dict[str, Any] = {
        "timezone": "America/New_York",
        "slack": {"deployments_channel": CHANNEL},
        "roles": {"deployers": [REQUESTER, APPROVER], "approvers": [APPROVER]},
        "environments": {
            ENVIRONMENT: {"approval": {"required": 1, "approvers": ["approvers"],
                                       "expires_after": "2h"},
                          "verify": {"bake": f"{watch:g}s"}},
        },
        "services": services,
        "simulated": {"rollout_seconds": rollout, "initial_version": OLD},
    }
    if cluster == "fake-k8s":
        cfg["kubernetes"] = {"contexts": {ENVIRONMENT: "fake"}}
    if workers is not None:
        cfg["runner"] = {"workers": workers}
    return cfg


# --------------------------------------------------------------------------- the fakes' process

def serve_fakes(n: int, cluster: str, tick: float, workdir: Path) -> None:
    """FakeSlack (and FakeKubernetes with N Deployments); prints one JSON line with their
    addresses, then answers `patches` and `stats` lines on stdin with JSON, until EOF."""
    from devtools.fake_k8s import FakeKubernetes
    from devtools.fake_slack import FakeSlack

    slack = FakeSlack(usergroups={}).start()
    k8s: FakeKubernetes | None = None
    kubeconfig = None
    if cluster == "fake-k8s":
        k8s = FakeKubernetes(tick=tick).start()
        for name in service_names(n):
            k8s.add_deployment(ENVIRONMENT, name, replicas=3, containers=[
                {"name": name, "image": IMAGE.format(service=name).format(version=OLD)}])
        kubeconfig = k8s.write_kubeconfig(workdir / "kubeconfig", context="fake")
    print(json.dumps({"slack_api_url": slack.base_url, "kubeconfig": kubeconfig}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "patches":
                found = [] if k8s is None else k8s.recorded(
                    method="PATCH", path_contains=f"/namespaces/{ENVIRONMENT}/deployments/")
                print(json.dumps([{"path": r.path, "at": r.at} for r in found]), flush=True)
            elif command == "stats":
                calls = Counter(c.method for c in slack.calls())
                k8s_calls = Counter() if k8s is None else Counter(
                    f"{r.method}{' watch' if r.is_watch else ''}" for r in k8s.requests)
                print(json.dumps({"slack": dict(calls), "kubernetes": dict(k8s_calls)}),
                      flush=True)
    finally:
        if k8s is not None:
            k8s.stop()
        slack.stop()


class FakesProcess:
    """The ``serve-fakes`` child and its stdin/stdout channel."""

    def __init__(self, n: int, cluster: str, tick: float, workdir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, "serve-fakes", "--n", str(n), "--cluster", cluster,
             "--tick", str(tick), "--workdir", str(workdir)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fakes' process did not start")
        ready = json.loads(line)
        self.slack_api_url: str = ready["slack_api_url"]
        self.kubeconfig: str | None = ready["kubeconfig"]

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- databases

# --------------------------------------------------------------------------- sampling

def _pool_of(thread_name: str) -> str:
    """`deploy_12` -> `deploy`, `Thread-7 (worker)` -> `Thread (worker)`."""
    return re.sub(r"[-_ ]?\d+", "", thread_name) or thread_name


class Sampler:
    """Every 0.2 s: the process's threads (Python's count and the OS's) and RSS; every 1 s
    the states of the run's deployments (one read from the database)."""

    def __init__(self, container: Any, n: int) -> None:
        self._container = container
        self._n = n
        self._ps = psutil.Process()
        self._stop = threading.Event()
        self.peak_threads = 0
        self.peak_os_threads = 0
        self.peak_rss = 0
        self.pools_at_peak: dict[str, int] = {}
        self.peak_verifying_sampled = 0
        self.states: dict[str, int] = {}
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name="release-day-sampler",
                                        daemon=True)

    def start(self) -> Sampler:
        self._sample(states=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample(states=False)

    def _sample(self, *, states: bool) -> None:
        count = threading.active_count()
        if count > self.peak_threads:
            self.peak_threads = count
            self.pools_at_peak = dict(Counter(_pool_of(t.name) for t in threading.enumerate()))
        self.peak_os_threads = max(self.peak_os_threads, self._ps.num_threads())
        self.peak_rss = max(self.peak_rss, self._ps.memory_info().rss)
        self.samples += 1
        if states:
            try:
                with self._container.database.transaction() as r:
                    ds = r.deployments.recent(self._n)
            except Exception as e:  # the database away for a moment: skip this look
                print(f"  (sampler: could not read the states: {e})", file=sys.stderr)
                return
            self.states = dict(Counter(d.state.value for d in ds))
            self.peak_verifying_sampled = max(self.peak_verifying_sampled,
                                              self.states.get("verifying", 0))

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(SAMPLE_EVERY):
            i += 1
            self._sample(states=i % STATES_EVERY == 0)


# --------------------------------------------------------------------------- the run

@dataclass
class Approval:
    deployment_id: int
    clicked: float  # seconds since the burst (t0)
    approved: float | None = None  # the listener calls decide() (the recorded approval time)
    decide_s: float | None = None  # how long decide() took (QUEUED, card, runner.submit)
    started: bool = False
    error: str | None = None


@dataclass
class Outcome:
    deployment_id: int
    service: str
    state: str
    approved: float | None
    first_patch: float | None  # seconds since t0
    verifying: float | None
    finished: float | None
    error: str | None = None


@dataclass
class Result:
    n: int
    watch_s: float
    cluster: str
    database: str
    workers: int
    rollout_s: float  # one rollout, as the verdict counts it
    requested_s: float  # requesting all N (before the burst; not part of the makespan)
    makespan_s: float | None
    idle_s: float | None  # the burst -> runner.wait_idle() returned
    click_to_approved: dict[str, float]
    decide: dict[str, float]
    approved_to_patch: dict[str, float]
    click_to_patch: dict[str, float]
    patch_to_verifying: dict[str, float]
    threads_before: int
    threads_peak: int
    os_threads_peak: int
    thread_pools_at_peak: dict[str, int]
    rss_before_mb: float
    rss_peak_mb: float
    max_rss_mb: float  # getrusage: the whole process's life
    verifying_peak: int | None  # from the audit log
    verifying_peak_sampled: int
    final_states: dict[str, int]
    target_met: bool
    calls: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def stats(values: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values) if values else math.nan, "count": len(values)}


def peak_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals [start, end) open at one time."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def run(ns: argparse.Namespace) -> Result:
    from bot.config import parse_config
    from bot.container import build_container
    from bot.domain.commands import DeployArgs
    from bot.domain.states import State
    from bot.store.schema import upgrade_schema

    n, watch = ns.n, ns.watch
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="deploybot-release-day-") as tmp:
        workdir = Path(tmp)
        fakes = FakesProcess(n, ns.cluster, ns.tick, workdir)
        pg: ScratchDatabase | None = None
        container = None
        try:
            if ns.database == "postgresql":
                pg = ScratchDatabase(ns.postgres, prefix="deploybot_release_bench")
                url = pg.url
                print(f"  database {pg.name} created on {ns.postgres.rsplit('@', 1)[-1]}",
                      file=sys.stderr, flush=True)
            else:
                url = f"sqlite:///{workdir / 'deploybot.db'}"
            upgrade_schema(url)
            config = parse_config(bench_config(n, watch=watch, cluster=ns.cluster,
                                               rollout=ns.rollout, workers=ns.workers),
                                  source="release-day benchmark config")
            container = build_container(config, database_url=url, slack_token=BOT_TOKEN,
                                        slack_api_url=fakes.slack_api_url,
                                        kubeconfig=fakes.kubeconfig)
            service = container.deployments
            clock = container.clock

            # -- requests (what /deploy's follow-up does), one after the other
            began = time.monotonic()
            requested = []
            for name in service_names(n):
                args = service.parse(f"{name} {ENVIRONMENT} {NEW}")
                assert isinstance(args, DeployArgs)
                d = service.request(args, user_id=REQUESTER, slack_channel=CHANNEL)
                if d.state is not State.AWAITING_APPROVAL:
                    raise RuntimeError(f"deployment #{d.id} is {d.state.value}, "
                                       "not awaiting approval")
                requested.append(d)
            requested_s = time.monotonic() - began
            container.background.wait_idle(30)
            print(f"  {n} deploys requested in {requested_s:.1f} s; approving all at once",
                  file=sys.stderr, flush=True)

            sampler = Sampler(container, n).start()
            threads_before = threading.active_count() - 1  # without the sampler
            rss_before = psutil.Process().memory_info().rss

            # -- the burst: N Approve clicks, handed to the listener pool as Bolt's are
            approvals: dict[int, Approval] = {}
            done = threading.Semaphore(0)
            t0 = time.monotonic()
            wall0 = clock.now()

            def since(at: datetime | None) -> float | None:
                return None if at is None else (at - wall0).total_seconds()

            def approve(d: Any, a: Approval) -> None:
                # The approval: the click's work starts (the time `decide` records it at).
                # Compared with a PATCH's monotonic stamp, or with started_at (the
                # container's clock).
                began = time.monotonic()
                a.approved = began - t0 if ns.cluster == "fake-k8s" else since(clock.now())
                try:
                    result = service.decide(d.id, user_id=APPROVER, approve=True,
                                            slack_channel=d.channel, slack_ts=d.message_ts)
                    a.decide_s = time.monotonic() - began
                    a.started = result.started
                except Exception as e:  # reported with the outcome
                    a.error = f"{type(e).__name__}: {e}"
                finally:
                    done.release()

            for d in requested:
                a = approvals[d.id] = Approval(d.id, clicked=time.monotonic() - t0)
                container.background.submit(functools.partial(approve, d, a))

            # -- wait for the approvals, then for the runner to carry every deployment
            slowest = n * (watch + ns.rollout + 15) + 120  # every deploy one after another
            deadline = t0 + slowest
            for _ in range(n):
                if not done.acquire(timeout=max(1.0, deadline - time.monotonic())):
                    break
            idle_at: float | None = None
            last_note = time.monotonic()
            while time.monotonic() < deadline:
                if container.runner.wait_idle(timeout=2.0):
                    idle_at = time.monotonic() - t0
                    break
                if time.monotonic() - last_note >= 10:
                    last_note = time.monotonic()
                    print(f"  {last_note - t0:6.0f} s: {sampler.states}, threads "
                          f"{sampler.peak_threads - 1} at peak", file=sys.stderr, flush=True)
            sampler.stop()
            if idle_at is None:
                warnings.append(f"the runner was still busy after {slowest:.0f} s")
            container.background.wait_idle(30)

            # -- what happened
            ids = [d.id for d in requested]
            with container.database.transaction() as r:
                finals = {i: r.deployments.get(i) for i in ids}
                verifying_at = r.audit.first_times("deploy.verifying", ids)
            patches: dict[str, float] = {}
            if ns.cluster == "fake-k8s":
                for rec in fakes.ask("patches"):
                    name = rec["path"].rsplit("/", 1)[-1]
                    at = rec["at"] - t0
                    if at >= 0 and name not in patches:
                        patches[name] = at
            calls = fakes.ask("stats")
            max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            workers = container.config.runner.workers
        finally:
            if container is not None:
                container.close()
            fakes.stop()
            if pg is not None:
                pg.drop()

    outcomes: list[Outcome] = []
    for i in ids:
        final = finals[i]
        assert final is not None
        a = approvals[i]
        # The first rollout action: the Deployment's first PATCH (the fake API server's
        # monotonic stamp), or the runner taking it up (started_at, the container's clock);
        # the audit and finished_at times are the container's clock, put on t0's scale.
        first = (patches.get(final.service) if ns.cluster == "fake-k8s"
                 else since(final.started_at))
        outcomes.append(Outcome(i, final.service, final.state.value, a.approved, first,
                                since(verifying_at.get(i)), since(final.finished_at),
                                a.error or final.error))

    finished = [o.finished for o in outcomes if o.finished is not None]
    makespan = max(finished) if len(finished) == n else None
    click_to_approved = [a.approved - a.clicked for a in approvals.values()
                         if a.approved is not None]
    decide = [a.decide_s for a in approvals.values() if a.decide_s is not None]
    approved_to_patch = [o.first_patch - o.approved for o in outcomes
                         if o.first_patch is not None and o.approved is not None]
    click_to_patch = [o.first_patch - approvals[o.deployment_id].clicked for o in outcomes
                      if o.first_patch is not None]
    rollouts = [o.verifying - o.first_patch for o in outcomes
                if o.verifying is not None and o.first_patch is not None]
    intervals = [(o.verifying, o.finished) for o in outcomes
                 if o.verifying is not None and o.finished is not None]
    verifying_peak = peak_overlap(intervals) if intervals else None
    final_states = dict(Counter(o.state for o in outcomes))
    rollout = ns.rollout if ns.cluster == "simulated" else (
        statistics.median(rollouts) if rollouts else math.nan)

    failed = [o for o in outcomes if o.state != "succeeded"]
    if failed:
        warnings.append(f"{len(failed)} of {n} deployments did not succeed: "
                        + ", ".join(f"#{o.deployment_id} {o.state}"
                                    + (f" ({o.error})" if o.error else "")
                                    for o in failed[:10]))
    missing = [o for o in outcomes if o.first_patch is None]
    if missing:
        warnings.append(f"{len(missing)} deployments have no first rollout action recorded")
    not_started = [a for a in approvals.values() if not a.started]
    if not_started:
        warnings.append(f"{len(not_started)} approvals did not queue their deployment: "
                        + ", ".join(f"#{a.deployment_id} {a.error or ''}"
                                    for a in not_started[:5]))
    met = makespan is not None and not failed and \
        makespan <= TARGET_FACTOR * (watch + rollout)
    return Result(
        n=n, watch_s=watch, cluster=ns.cluster, database=ns.database, workers=workers,
        rollout_s=rollout, requested_s=requested_s, makespan_s=makespan, idle_s=idle_at,
        click_to_approved=stats(click_to_approved), decide=stats(decide),
        approved_to_patch=stats(approved_to_patch),
        click_to_patch=stats(click_to_patch), patch_to_verifying=stats(rollouts),
        threads_before=threads_before, threads_peak=sampler.peak_threads - 1,
        os_threads_peak=sampler.peak_os_threads - 1,
        thread_pools_at_peak={k: v for k, v in sorted(sampler.pools_at_peak.items())
                              if k != "release-day-sampler"},
        rss_before_mb=rss_before / 2**20, rss_peak_mb=sampler.peak_rss / 2**20,
        max_rss_mb=max_rss / 2**20, verifying_peak=verifying_peak,
        verifying_peak_sampled=sampler.peak_verifying_sampled, final_states=final_states,
        target_met=met, calls=calls, warnings=warnings,
        deployments=[asdict(o) for o in outcomes])


# --------------------------------------------------------------------------- reporting

def _s(v: float | None) -> str:
    return "-" if v is None or math.isnan(v) else f"{v:.2f}"


def report(r: Result) -> str:
    lines = [
        f"{'measure':<40} {'value':>12}",
        f"{'makespan (s)':<40} {_s(r.makespan_s):>12}",
        f"{'  burst -> runner idle (s)':<40} {_s(r.idle_s):>12}",
        f"{'one rollout (s)':<40} {_s(r.rollout_s):>12}",
        f"{'requesting the N deploys (s, before)':<40} {_s(r.requested_s):>12}",
        "",
        f"{'interval (s)':<40} {'p50':>8} {'p99':>8} {'max':>8}",
    ]
    for label, st in (("approval -> first patch", r.approved_to_patch),
                      ("click -> approved (listener pool)", r.click_to_approved),
                      ("  decide() itself", r.decide),
                      ("click -> first patch", r.click_to_patch),
                      ("first patch -> verifying (rollout)", r.patch_to_verifying)):
        lines.append(f"{label:<40} {_s(st['p50']):>8} {_s(st['p99']):>8} {_s(st['max']):>8}")
    pools = ", ".join(f"{k} {v}" for k, v in r.thread_pools_at_peak.items())
    peak = "-" if r.verifying_peak is None else str(r.verifying_peak)
    lines += [
        "",
        f"{'threads (threading.active_count)':<40} {r.threads_before:>5} before, "
        f"{r.threads_peak} at peak",
        f"{'threads (OS) at peak':<40} {r.os_threads_peak:>5}",
        f"{'  at peak':<40} {pools}",
        f"{'RSS (MB)':<40} {r.rss_before_mb:>5.0f} before, {r.rss_peak_mb:.0f} at peak "
        f"(ru_maxrss {r.max_rss_mb:.0f})",
        f"{'VERIFYING at once, peak':<40} {peak:>5} (sampled every 1 s: "
        f"{r.verifying_peak_sampled})",
        f"{'final states':<40} {r.final_states}",
        f"{'runner.workers (config)':<40} {r.workers:>5}",
    ]
    if r.calls:
        lines.append(f"{'calls to the fakes':<40} {r.calls}")
    return "\n".join(lines)


def verdict(r: Result) -> str:
    limit = TARGET_FACTOR * (r.watch_s + r.rollout_s)
    if r.makespan_s is None:
        return (f"TARGET MISSED: not every deployment finished (limit {limit:.1f} s = "
                f"{TARGET_FACTOR} x (watch {r.watch_s:g} s + one rollout {r.rollout_s:.1f} s))")
    return (f"{'TARGET MET' if r.target_met else 'TARGET MISSED'}: makespan {r.makespan_s:.1f} s "
            f"≈ {r.makespan_s / r.watch_s:.1f} x one watch ({r.n} simultaneous deploys, "
            f"{r.watch_s:g} s watch); target ≤ {TARGET_FACTOR} x (watch + one rollout "
            f"{r.rollout_s:.1f} s) = {limit:.1f} s")


# --------------------------------------------------------------------------- main

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", nargs="?", choices=["serve-fakes"],
                        help="internal: the fakes' child process")
    parser.add_argument("--n", type=int, default=None,
                        help=f"simultaneous deploys (default {DEFAULT_N})")
    parser.add_argument("--watch", type=float, default=None,
                        help=f"the watch (bake) after each rollout, s (default {DEFAULT_WATCH:g})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: N={QUICK_N}, watch {QUICK_WATCH:g} s")
    parser.add_argument("--cluster", choices=["simulated", "fake-k8s"], default="simulated")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                        help="the PostgreSQL server (a database is created on it and dropped)")
    parser.add_argument("--rollout", type=float, default=DEFAULT_ROLLOUT,
                        help=f"simulated.rollout_seconds (default {DEFAULT_ROLLOUT:g})")
    parser.add_argument("--tick", type=float, default=DEFAULT_TICK,
                        help=f"the fake Kubernetes controller's tick, s (default {DEFAULT_TICK:g})")
    parser.add_argument("--workers", type=int, default=None,
                        help="runner.workers in the config (default: the product's default)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the results (per deployment too) as JSON to PATH")
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    ns.n = ns.n or (QUICK_N if ns.quick else DEFAULT_N)
    ns.watch = ns.watch if ns.watch is not None else (QUICK_WATCH if ns.quick else DEFAULT_WATCH)
    if ns.command == "serve-fakes":
        serve_fakes(ns.n, ns.cluster, ns.tick, ns.workdir)
        return 0
    if ns.n < 1 or ns.watch <= 0:
        parser.error("--n must be at least 1 and --watch more than 0")

    print(f"release-day benchmark: {ns.n} simultaneous deploys to {ENVIRONMENT}, watch "
          f"{ns.watch:g} s, cluster {ns.cluster}"
          + (f" (rollout {ns.rollout:g} s)" if ns.cluster == "simulated"
             else f" (controller tick {ns.tick:g} s)")
          + f", database {ns.database}; {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}", flush=True)
    result = run(ns)
    print()
    print(report(result))
    print()
    print(verdict(result))
    for w in result.warnings:
        print(f"WARNING: {w}")
    if ns.json is not None:
        payload = asdict(result) | {"started": datetime.now().isoformat(timespec="seconds"),
                                    "cpus": os.cpu_count(),
                                    "python": platform.python_version(),
                                    "limit_s": TARGET_FACTOR * (result.watch_s
                                                                + result.rollout_s)}
        ns.json.write_text(json.dumps(payload, indent=2, default=str))
        print(f"results written to {ns.json}")
    ok = result.makespan_s is not None and result.final_states == {"succeeded": result.n}
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

