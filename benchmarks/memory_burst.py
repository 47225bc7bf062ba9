"""Memory over a burst: the resident memory of deploybot's processes before, during and after
10,000 `/deploy` requests.

This module owns issue 13's memory figures. It runs deploybot as production does,
``deploybot run`` (``python -m bot run``) with a web and a worker process on a PostgreSQL
database of its own (created on ``--postgres`` with a random name, dropped at the end; no
other database is touched), or with ``--sqlite`` one ``--role all`` process on a SQLite file.
The fake Slack of :mod:`benchmarks.ack_latency` answers the Web API and the
``response_url`` posts; wrk (see :mod:`benchmarks.ack_wrk`) sends the burst, every request
signed once, 50 connections.

RSS (psutil) of each process is read: once ready, every 0.1 s during the burst and its
follow-ups (the peak), when the web process is idle again (after the burst), and after
``--settle`` seconds more of idleness (settled). Targets: web <= 100 MB and worker <= 130 MB
after the burst, and back within 10 % of the ready size once settled. Nothing is done to
the processes to make them give memory back (no gc call from outside): the figures are what
they hold on their own.

Run it from the repository root (wrk installed: ``apt-get install wrk``)::

    .venv/bin/python -m benchmarks.memory_burst                  # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python -m benchmarks.memory_burst --sqlite         # one `--role all` process
    .venv/bin/python -m benchmarks.memory_burst --requests 2000  # a shorter burst
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks.ack_latency import (
    BOT_TOKEN,
    REPO_ROOT,
    SIGNING_SECRET,
    VALID_TEXT,
    FakeSlackProcess,
    bench_config,
    total_posts,
    wait_answering,
    wait_idle,
)
from benchmarks.ack_wrk import Wrk, pinning, require_wrk, write_requests
from benchmarks.scratch_database import ScratchDatabase
from devtools.server import free_port

DEFAULT_REQUESTS = 10_000
#: What a busy app's ack says (handlers.busy.busy_text): a refusal, not a failure.
BUSY = "deploybot is busy"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LIMITS_MB = {"web": 100.0, "worker": 130.0, "all": 100.0}
RETURN_WITHIN = 0.10


@dataclass
class Proc:
    """One ``deploybot run`` process, measured with psutil (the interface ``wait_idle`` uses)."""

    name: str
    role: str
    proc: subprocess.Popen[Any]
    port: int
    log: Path
    ps: psutil.Process = field(init=False)
    samples: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ps = psutil.Process(self.proc.pid)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss_mb(self) -> float:
        return float(self.ps.memory_info().rss) / (1024 * 1024)

    def wait_ready(self, timeout: float = 90.0) -> None:
        wait_answering(self.proc, self.port, "/readyz", name=self.name, timeout=timeout,
                       every=0.2, log=self.log.read_text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(role: str, env: dict[str, str], workdir: Path, prefix: Sequence[str],
          *, migrate: bool) -> Proc:
    port = free_port()
    log = workdir / f"{role}.log"
    cmd = [*prefix, sys.executable, "-m", "bot", "run", "--role", role, "--host", "127.0.0.1"]
    if migrate:
        cmd.append("--migrate")
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**env, "PORT": str(port)},
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Proc(role, role, proc, port, log)


class Sampler:
    """Reads every process's RSS every `every` seconds in a thread (the peaks)."""

    def __init__(self, procs: Sequence[Proc], every: float = 0.1) -> None:
        self.procs = procs
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for p in self.procs:
                with contextlib.suppress(psutil.Error):
                    p.samples.append(p.rss_mb())


def run_benchmark(requests: int, settle: float, postgres: str | None,
                  json_path: Path | None, listener_queue: int | None = None) -> int:
    require_wrk()
    app_prefix, client_prefix = pinning()
    where = "PostgreSQL: a web and a worker process" if postgres else "SQLite: one `all` process"
    print(f"memory-over-a-burst benchmark: {requests} `/deploy {VALID_TEXT}` over 50 "
          f"connections (wrk); {where}; {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}", flush=True)
    tmp = tempfile.TemporaryDirectory(prefix="deploybot-mem-")
    workdir = Path(tmp.name)
    db = ScratchDatabase(postgres, prefix="deploybot_membench") if postgres else None
    fake = FakeSlackProcess(prefix=client_prefix)
    procs: list[Proc] = []
    try:
        config = workdir / "app.yaml"
        cfg = bench_config()
        # The shipped bound on the listener queue (handlers.busy), unless --listener-queue.
        cfg["runner"] = {} if listener_queue is None else {"listener_queue": listener_queue}
        config.write_text(json.dumps(cfg))  # JSON is YAML
        env = {**os.environ, "DEPLOYBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
               "DATABASE_URL": db.url if db else f"sqlite:///{workdir / 'deploybot.db'}"}
        env.pop("DEPLOYBOT_ROLE", None)
        # Migrated beforehand, as a deployment's migration Job does (deploy/): a process
        # started with --migrate loads Alembic, one that finds the schema at head does not.
        subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=REPO_ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        if db is not None:
            web = start("web", env, workdir, app_prefix, migrate=False)
            procs.append(web)
            web.wait_ready()  # migrated: the worker finds the schema
            worker = start("worker", env, workdir, app_prefix, migrate=False)
            procs.append(worker)
            worker.wait_ready()
        else:
            web = start("all", env, workdir, app_prefix, migrate=False)
            procs.append(web)
            web.wait_ready()
        time.sleep(2.0)
        ready = {p.name: p.rss_mb() for p in procs}
        wrk = Wrk(workdir, client_prefix)
        data = workdir / "requests.txt"
        write_requests(data, requests + 2 * wrk.connections + 10, VALID_TEXT, fake.root_url)
        print(f"  burst of {requests} ...", file=sys.stderr, flush=True)
        before = fake.stats()
        with Sampler(procs):
            run = wrk.run(web.events_url, data, requests, "Requesting", busy=BUSY)
            taken = run.requests - run.bad - run.refused
            wait_idle(web, fake, posts=total_posts(before) + taken,  # type: ignore[arg-type]
                      timeout=1800.0)
        after = {p.name: p.rss_mb() for p in procs}
        peak = {p.name: max([*p.samples, after[p.name]]) for p in procs}
        print(f"  settling {settle:.0f} s ...", file=sys.stderr, flush=True)
        time.sleep(settle)
        settled = {p.name: p.rss_mb() for p in procs}
        posts = total_posts(fake.stats()) - total_posts(before)
    finally:
        for p in procs:
            p.stop()
        fake.stop()
        if db is not None:
            db.drop()
        tmp.cleanup()

    print()
    print(f"wrk: {run.requests} requests in {run.seconds:.1f} s ({run.rps:.0f} req/s), "
          f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, max {run.max_ms:.1f} ms; "
          f"{run.bad + run.socket_errors} failed; {run.refused} refused as busy "
          f"(runner.listener_queue {listener_queue or 'as shipped'}); {posts} response_url "
          "answers")
    print()
    print(f"{'process':<10}{'ready MB':>10}{'peak MB':>10}{'after MB':>10}"
          f"{'settled MB':>12}{'limit MB':>10}{'settled/ready':>15}")
    verdicts = []
    for p in procs:
        name, limit = p.name, LIMITS_MB[p.role]
        back = settled[name] / ready[name]
        print(f"{name:<10}{ready[name]:>10.1f}{peak[name]:>10.1f}{after[name]:>10.1f}"
              f"{settled[name]:>12.1f}{limit:>10.0f}{back:>14.2f}x")
        under = after[name] <= limit and peak[name] <= limit
        returned = back <= 1 + RETURN_WITHIN
        verdicts.append(under and returned)
        print(f"  {'TARGET MET' if under else 'TARGET MISSED'}: {name} peak "
              f"{peak[name]:.1f} MB, after the burst {after[name]:.1f} MB (limit "
              f"{limit:.0f} MB)")
        print(f"  {'TARGET MET' if returned else 'TARGET MISSED'}: {name} settled at "
              f"{settled[name]:.1f} MB, {100 * (back - 1):+.0f} % of its ready size "
              f"{ready[name]:.1f} MB (limit +{100 * RETURN_WITHIN:.0f} %)")
    if json_path is not None:
        json_path.write_text(json.dumps({
            "requests": requests, "settle_s": settle, "database": "postgresql" if postgres
            else "sqlite", "ready_mb": ready, "peak_mb": peak, "after_mb": after,
            "settled_mb": settled, "wrk": run.__dict__, "met": all(verdicts),
            "listener_queue": listener_queue,
        }, indent=2))
        print(f"results written to {json_path}")
    return 1 if run.bad + run.socket_errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_burst",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS,
                        help=f"requests in the burst (default {DEFAULT_REQUESTS})")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="idle seconds after the burst before the settled reading")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                        help="a PostgreSQL server's URL (a maintenance database) where the "
                             f"benchmark creates and drops its own (default {DEFAULT_POSTGRES})")
    parser.add_argument("--sqlite", action="store_true",
                        help="one `--role all` process on SQLite instead")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--listener-queue", type=int, default=None, metavar="N",
                        help="runner.listener_queue for the app (default: as shipped); a "
                             "large N takes every request of the burst")
    ns = parser.parse_args(argv)
    if ns.requests < 1:
        parser.error("--requests must be at least 1")
    return run_benchmark(ns.requests, ns.settle, None if ns.sqlite else ns.postgres, ns.json,
                         ns.listener_queue)


if __name__ == "__main__":
    sys.exit(main())
