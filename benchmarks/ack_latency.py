"""Ack-latency benchmark: deploybot's `/deploy` ack against a bare Bolt app, side by side.

Slack gives a slash command 3 seconds to be acknowledged. This benchmark checks how much of
that budget deploybot spends compared with the least a Bolt app served the same way can
spend. It starts three child processes:

* ``serve-fake-slack`` -- a :class:`~devtools.fake_slack.FakeSlack` (the Web API and the
  ``response_url`` endpoints) in its own process, so its CPU is charged to neither app;
* ``serve-bare`` -- a Bolt ``App`` with the same settings as ``handlers.build_app``
  (``process_before_response=True``, signature and token verification on) and one ``/deploy``
  command whose listener only calls ``ack()``;
* ``serve-deploybot`` -- deploybot itself (``build_container`` + ``build_app``) on a fresh,
  migrated SQLite database, production requiring one approval, simulated rollouts of 0 s.

Both apps are served like ``deploybot run`` serves them: ``uvicorn.run(bot.web.build_asgi(app))``.
The parent process sends signed ``/deploy`` slash commands over keep-alive ``http.client``
connections (one per client thread, via :class:`~devtools.slack_requests.SlackRequester`)
sequentially and with 10 and 50 concurrent client threads, and prints p50/p99/max latency
(client side, to the full response), CPU per request and RSS of each app's process (psutil),
with the ratios deploybot/bare, then whether the target is met: deploybot's p99 at 50
concurrent <= 1.5x the bare app's in the same run, and no ack slower than 3 s.

Run it from the repository root::

    .venv/bin/python -m benchmarks.ack_latency            # 1000 requests per scenario
    .venv/bin/python -m benchmarks.ack_latency --quick    # 200 requests, a smoke run
    .venv/bin/python -m benchmarks.ack_latency --json results.json

The exit code is 0 whether or not the target is met, and 1 if any request failed (a status
other than 200, an unexpected ack body, or a transport error).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from devtools.server import free_port
from devtools.slack_requests import SlackRequester, signed_headers, slash_command_body

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
DEPLOYER = "U0ALICE"
VALID_TEXT = "production v1.2.3"
INVALID_TEXT = "production nope"
TARGET_RATIO = 1.5
SLACK_DEADLINE_S = 3.0
DEFAULT_REQUESTS = 1000
QUICK_REQUESTS = 200
DEFAULT_WARMUP = 50
CONCURRENCY = (1, 10, 50)
REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE = "benchmarks.ack_latency"


# --------------------------------------------------------------------------- configuration

def bench_config() -> dict[str, Any]:
    """deploybot's configuration for the benchmark (the shape of ``tests.conftest.base_config``).

    Production needs one approval, so a valid ``/deploy production v1.2.3`` creates a
    deployment, posts the approval card and its record (two ``chat.postMessage``) and answers
    on the ``response_url``; nothing is rolled out. Rollouts would be simulated and instant.
    """
    return {
        "timezone": "America/New_York",
        "slack": {"deployments_channel": "C0DEPLOYS"},
        "roles": {"deployers": [DEPLOYER, "U0BOB", "U0CAROL"],
                  "approvers": ["U0BOB", "U0CAROL", "S0LEADS"]},
        "environments": {
            "staging": {},
            "production": {"approval": {"required": 1, "approvers": ["approvers"],
                                        "expires_after": "2h"}},
        },
        "services": {"api": {"executor": "simulated"}},
        "simulated": {"rollout_seconds": 0, "fail_versions": "-bad$",
                      "initial_version": "v1.2.2"},
        # Every request of these bursts is to be taken and its work done (what is measured):
        # the flood bound (handlers.busy) is measured by benchmarks.memory_burst.
        "runner": {"listener_queue": 100_000},
    }


# --------------------------------------------------------------------------- child processes

def serve(asgi: Any, port: int) -> None:
    """Serve `asgi` exactly as ``deploybot run`` does (``bot.web.serve``), until SIGTERM."""
    from bot.web import serve as bot_serve

    bot_serve(asgi, host="127.0.0.1", port=port, log_level="warning")


def serve_bare(port: int, slack_api_url: str) -> None:
    """A Bolt app with deploybot's App settings and one `/deploy` that only acks."""
    from slack_bolt import Ack, App

    from bot.backends.slack import make_client
    from bot.web import build_asgi

    app = App(
        client=make_client(BOT_TOKEN, slack_api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
        request_verification_enabled=True,
        token_verification_enabled=True,
        ignoring_self_events_enabled=True,
    )

    @app.command("/deploy")
    def ack_only(ack: Ack) -> None:
        ack()

    serve(build_asgi(app), port)


def serve_deploybot(port: int, slack_api_url: str, database: Path) -> None:
    """deploybot as ``deploybot run`` assembles it, on a fresh SQLite database."""
    from bot.config import parse_config
    from bot.container import build_container
    from bot.store.schema import upgrade_schema
    from bot.web import build_asgi
    from handlers import build_app

    url = f"sqlite:///{database}"
    upgrade_schema(url)
    config = parse_config(bench_config(), source="benchmark config")
    container = build_container(config, database_url=url, slack_token=BOT_TOKEN,
                                slack_api_url=slack_api_url)
    app = build_app(container, signing_secret=SIGNING_SECRET)
    try:
        serve(build_asgi(app, background=container.background, metrics=container.metrics,
                         readiness=container.readiness), port)
    finally:
        container.close()


def _post_kind(text: str) -> str:
    if "requested" in text:
        return "requested"
    if text.startswith("⚠"):
        return "usage_error"
    return "other"


def serve_fake_slack() -> None:
    """A FakeSlack; prints its root URL, then answers ``stats`` lines on stdin with JSON."""
    from devtools.fake_slack import FakeSlack

    with FakeSlack(usergroups={"S0LEADS": ["U0LEAD"]}) as fake:
        print(fake.root_url, flush=True)
        for line in sys.stdin:
            if line.strip() != "stats":
                continue
            calls = fake.calls()
            methods = Counter(c.method for c in calls)
            posts = Counter(_post_kind(str(c.args.get("text", "")))
                            for c in calls if c.method == "response_url")
            print(json.dumps({"calls": len(calls), "methods": dict(methods),
                              "response_posts": dict(posts)}), flush=True)


class FakeSlackProcess:
    """The ``serve-fake-slack`` child and its stats channel (stdin/stdout lines)."""

    def __init__(self, *, prefix: Sequence[str] = ()) -> None:
        """`prefix`: a command the child runs under, e.g. ``taskset -c 1`` (benchmarks.ack_wrk)."""
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", MODULE, "serve-fake-slack"],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.root_url = self.proc.stdout.readline().strip()
        if not self.root_url.startswith("http://"):
            raise RuntimeError(f"fake Slack did not start (got {self.root_url!r})")

    @property
    def api_url(self) -> str:
        return f"{self.root_url}/api/"

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return result

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        _stop(self.proc)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_answering(proc: subprocess.Popen[bytes], port: int, path: str, *, name: str,
                   timeout: float, every: float = 0.1,
                   log: Callable[[], str] | None = None) -> None:
    """Until the child answers 200 on `path`; RuntimeError when it exits first (with the
    tail of `log()`, if given) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = f"; its log:\n{log()[-3000:]}" if log is not None else ""
            raise RuntimeError(f"{name} exited with code {proc.returncode}{tail}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(every)
    raise RuntimeError(f"{name} did not answer {path} within {timeout:.0f} s")


class AppProcess:
    """One app served by uvicorn in a child process, measured with psutil."""

    def __init__(self, name: str, args: Sequence[str], *, module: str = MODULE,
                 env: dict[str, str] | None = None, prefix: Sequence[str] = ()) -> None:
        """`prefix`: a command the child runs under, e.g. ``taskset -c 0`` (it execs Python,
        so the child's pid, which psutil measures, is Python's)."""
        self.name = name
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", module, *args, "--port", str(self.port)],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, env=env,
        )
        self.ps = psutil.Process(self.proc.pid)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_answering(self.proc, self.port, "/healthz", name=self.name, timeout=timeout)

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss_mb(self) -> float:
        return float(self.ps.memory_info().rss) / (1024 * 1024)

    def stop(self) -> None:
        _stop(self.proc)


# --------------------------------------------------------------------------- client

@dataclass
class Sample:
    ok: bool
    elapsed: float
    error: str | None = None


@dataclass
class Target:
    """What the benchmark sends to one app: the command text and what its ack must contain."""

    label: str
    app: AppProcess
    text: str
    expect: str | None
    """A substring the ack body must contain (``None``: anything, e.g. the bare app's empty ack)."""
    answers: str | None = None
    """The kind of ``response_url`` post each request's follow-ups end with (``None``: none)."""


class Client:
    """Signed `/deploy` requests from a pool of threads, each with its keep-alive connection."""

    def __init__(self, events_url: str, response_root: str, concurrency: int) -> None:
        self.requester = SlackRequester(events_url, SIGNING_SECRET, timeout=30.0)
        self.response_root = response_root
        self.concurrency = concurrency
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="client")
        self._counter = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.requester.close()

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def send(self, text: str, expect: str | None) -> Sample:
        n = self._next()
        body = slash_command_body("/deploy", text, user_id=DEPLOYER,
                                  response_url=f"{self.response_root}/response/bench{n}")
        headers = signed_headers(SIGNING_SECRET, body)
        started = time.perf_counter()
        try:
            reply = self.requester.raw(body, headers)
        except Exception as e:
            return Sample(False, time.perf_counter() - started, f"{type(e).__name__}: {e}")
        if reply.status != 200:
            return Sample(False, reply.elapsed, f"HTTP {reply.status}: {reply.body[:200]!r}")
        text = reply.json.get("text", "") if isinstance(reply.json, dict) else reply.body
        if expect is not None and expect not in text:
            return Sample(False, reply.elapsed, f"unexpected ack body: {reply.body[:200]!r}")
        return Sample(True, reply.elapsed)

    def touch_every_thread(self) -> None:
        """Make every client thread exist and (re)open its keep-alive connection.

        Each thread sends one unsigned request, which Bolt rejects with 401 before any
        listener runs; the barrier guarantees each of the `concurrency` tasks has a thread.
        """
        barrier = threading.Barrier(self.concurrency)

        def touch(_i: int) -> None:
            self.requester.raw("ping=1", {"Content-Type": "application/x-www-form-urlencoded"})
            barrier.wait(timeout=60)

        list(self.pool.map(touch, range(self.concurrency)))

    def run(self, text: str, expect: str | None, count: int) -> tuple[list[Sample], float]:
        """Send `count` requests; the samples and the wall time."""
        started = time.perf_counter()
        samples = list(self.pool.map(lambda _i: self.send(text, expect), range(count)))
        return samples, time.perf_counter() - started


# --------------------------------------------------------------------------- measuring

@dataclass
class Result:
    label: str
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rps: float
    ack_cpu_ms: float
    """App CPU (user+system) while the requests were being answered, per request."""
    cpu_ms: float
    """App CPU from the first request until the app was idle again (follow-up work included)."""
    drain_s: float
    """From the last response until the app (and fake Slack) stopped working."""
    rss_mb: float
    failures: int
    errors: dict[str, int] = field(default_factory=dict)
    """Distinct failure messages (at most 20) and how often each occurred."""
    slack_calls: dict[str, int] = field(default_factory=dict)
    """Calls the app made to the fake Slack during the scenario, by method."""
    response_posts: dict[str, int] = field(default_factory=dict)
    """Posts to response_url during the scenario, by kind (requested / usage_error / other)."""
    warning: str | None = None
    """Set when the follow-up work did not end as expected (the load was not the intended one)."""


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    deltas = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(after) | set(before))}
    return {k: v for k, v in deltas.items() if v}


def total_posts(stats: dict[str, Any]) -> int:
    return sum(int(n) for n in stats["response_posts"].values())


def wait_idle(app: AppProcess, fake: FakeSlackProcess, *, posts: int | None = None,
              timeout: float = 300.0, stall: float = 5.0, window: float = 0.1,
              quiet_windows: int = 5) -> float:
    """Block until `app` is idle: the time of its last observed activity (monotonic).

    Lazy listeners keep working (DB writes, Slack calls) after the acks, so each scenario
    waits for this before it measures and before it reads the CPU total and RSS. Idle means
    `quiet_windows` consecutive windows of `window` seconds in which the app used at most
    10 ms of CPU (one clock tick) and the fake Slack received no call. With `posts`, the fake
    must also have received that many response_url posts in all (each valid `/deploy` ends
    with one), so a pause that uses no CPU is not taken for the end of the work; if nothing
    moves for `stall` seconds while posts are missing, give up with a warning.
    """
    started = time.monotonic()
    last_cpu = app.cpu_seconds()
    last_calls = fake.stats()["calls"]
    last_active = started
    quiet = 0
    while True:
        time.sleep(window)
        now = time.monotonic()
        stats, cpu = fake.stats(), app.cpu_seconds()
        if cpu - last_cpu <= 0.0105 and stats["calls"] == last_calls:
            quiet += 1
        else:
            quiet = 0
            last_active = now
        last_cpu, last_calls = cpu, stats["calls"]
        missing = 0 if posts is None else posts - total_posts(stats)
        if missing <= 0 and quiet >= quiet_windows:
            return last_active
        if missing > 0 and now - last_active > stall:
            print(f"  warning: {app.name} idle for {stall:.0f} s with {missing} response_url "
                  "post(s) missing", file=sys.stderr)
            return last_active
        if now - started > timeout:
            print(f"  warning: {app.name} still busy after {timeout:.0f} s", file=sys.stderr)
            return last_active


def measure(target: Target, fake: FakeSlackProcess, *, concurrency: int, requests: int,
            warmup: int) -> Result:
    app = target.app
    per_request = 1 if target.answers else 0
    client = Client(app.events_url, fake.root_url, concurrency)
    try:
        client.touch_every_thread()
        warm = max(warmup, 2 * concurrency)
        posts = total_posts(fake.stats())
        warmed, _ = client.run(target.text, target.expect, warm)
        wait_idle(app, fake, posts=posts + sum(s.ok for s in warmed) * per_request)
        client.touch_every_thread()  # keep-alive connections may have timed out meanwhile
        stats_before = fake.stats()
        cpu_before = app.cpu_seconds()
        samples, wall = client.run(target.text, target.expect, requests)
        cpu_acked = app.cpu_seconds()
        finished = time.monotonic()
        answered = sum(s.ok for s in samples)
        last_active = wait_idle(app, fake,
                                posts=total_posts(stats_before) + answered * per_request)
        cpu_after = app.cpu_seconds()
        stats_after = fake.stats()
    finally:
        client.close()
    latencies = sorted(s.elapsed * 1000 for s in samples)
    errors = [s.error or "?" for s in samples if not s.ok]
    response_posts = _diff(stats_after["response_posts"], stats_before["response_posts"])
    expected = {target.answers: answered} if target.answers and answered else {}
    warning = None
    if response_posts != expected:
        warning = (f"{target.label}: expected response_url posts {expected or 'none'}, "
                   f"got {response_posts or 'none'}")
    return Result(
        label=target.label,
        requests=requests,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1],
        rps=requests / wall,
        ack_cpu_ms=(cpu_acked - cpu_before) * 1000 / requests,
        cpu_ms=(cpu_after - cpu_before) * 1000 / requests,
        drain_s=max(0.0, last_active - finished),
        rss_mb=app.rss_mb(),
        failures=len(errors),
        errors=dict(Counter(errors).most_common(20)),
        slack_calls=_diff(stats_after["methods"], stats_before["methods"]),
        response_posts=response_posts,
        warning=warning,
    )


# --------------------------------------------------------------------------- reporting

COLUMNS: list[tuple[str, str, Callable[[Result], float]]] = [
    ("p50 ms", "{:8.2f}", lambda r: r.p50_ms),
    ("p99 ms", "{:8.2f}", lambda r: r.p99_ms),
    ("max ms", "{:8.1f}", lambda r: r.max_ms),
    ("req/s", "{:7.0f}", lambda r: r.rps),
    ("ack CPU", "{:7.2f}", lambda r: r.ack_cpu_ms),
    ("CPU ms", "{:7.2f}", lambda r: r.cpu_ms),
    ("drain s", "{:7.2f}", lambda r: r.drain_s),
    ("RSS MB", "{:7.1f}", lambda r: r.rss_mb),
]
LABEL_WIDTH = 28


def _width(fmt: str) -> int:
    return int(fmt[2:].split(".")[0])


def format_table(title: str, results: Sequence[Result]) -> str:
    head = f"{'':<{LABEL_WIDTH}}" + "".join(f"{n:>{_width(f) + 1}}" for n, f, _ in COLUMNS)
    lines = [title, head]
    for r in results:
        lines.append(f"{r.label:<{LABEL_WIDTH}}"
                     + "".join(" " + f.format(get(r)) for _, f, get in COLUMNS))
    bare = results[0]
    for r in results[1:]:
        cells = []
        for name, fmt, get in COLUMNS:
            base = get(bare)
            if name == "drain s" or base <= 0:
                cells.append(" " * (_width(fmt) + 1))
            else:
                cells.append(f"{get(r) / base:>{_width(fmt)}.2f}x")
        lines.append(f"{'  ' + r.label + ' / bare':<{LABEL_WIDTH}}" + "".join(cells))
    for r in results[1:]:
        if r.slack_calls or r.response_posts:
            per = {k: round(v / r.requests, 2) for k, v in r.slack_calls.items()}
            lines.append(f"  {r.label}: Slack calls per request {per}; "
                         f"response_url posts {r.response_posts}")
    lines.extend(f"  WARNING: {r.warning}" for r in results if r.warning)
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def run_benchmark(requests: int, warmup: int, json_path: Path | None) -> int:
    print(f"ack-latency benchmark: {requests} requests per scenario, warm-up {warmup}; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    fake = FakeSlackProcess()
    apps: list[AppProcess] = []
    tmp = tempfile.TemporaryDirectory(prefix="deploybot-bench-")
    try:
        bare = AppProcess("bare", ["serve-bare", "--slack-api-url", fake.api_url])
        apps.append(bare)
        deploybot = AppProcess("deploybot", [
            "serve-deploybot", "--slack-api-url", fake.api_url,
            "--database", str(Path(tmp.name) / "deploybot.db"),
        ])
        apps.append(deploybot)
        for app in apps:
            app.wait_ready()
        targets = [
            Target("bare", bare, VALID_TEXT, None),
            Target("deploybot", deploybot, VALID_TEXT, "Requesting", answers="requested"),
            Target("deploybot (invalid)", deploybot, INVALID_TEXT, "⚠️"),
        ]
        scenarios: list[dict[str, Any]] = []
        for concurrency in CONCURRENCY:
            name = ("sequential" if concurrency == 1 else f"{concurrency} concurrent")
            results = []
            for target in targets:
                print(f"  {name}: {target.label} ...", file=sys.stderr, flush=True)
                results.append(measure(target, fake, concurrency=concurrency,
                                       requests=requests, warmup=warmup))
            print()
            print(format_table(f"{name}, {requests} requests", results), flush=True)
            scenarios.append({"name": name, "concurrency": concurrency,
                              "results": [asdict(r) for r in results]})
    finally:
        for app in apps:
            app.stop()
        fake.stop()
        tmp.cleanup()

    last = {r["label"]: r for r in scenarios[-1]["results"]}
    ratio = last["deploybot"]["p99_ms"] / last["bare"]["p99_ms"]
    worst = max(r["max_ms"] for s in scenarios for r in s["results"]
                if r["label"].startswith("deploybot"))
    met = ratio <= TARGET_RATIO and worst < SLACK_DEADLINE_S * 1000
    failures = [(s["name"], r["label"], e, n) for s in scenarios for r in s["results"]
                for e, n in r["errors"].items()]
    failed = sum(r["failures"] for s in scenarios for r in s["results"])
    print()
    print(f"{'TARGET MET' if met else 'TARGET MISSED'}: deploybot p99 at 50 concurrent is "
          f"{ratio:.2f}x the bare app's (target <= {TARGET_RATIO}x); slowest deploybot ack "
          f"{worst:.0f} ms (must stay < {SLACK_DEADLINE_S * 1000:.0f} ms)")
    for warning in (r["warning"] for s in scenarios for r in s["results"] if r["warning"]):
        print(f"WARNING (the load was not the intended one): {warning}")
    if failed:
        print(f"FAILED: {failed} request(s) failed:")
        for name, label, error, n in failures[:30]:
            print(f"  {name} / {label}: {n} x {error}")
    if json_path is not None:
        json_path.write_text(json.dumps({
            "requests": requests, "warmup": warmup, "cpus": os.cpu_count(),
            "python": platform.python_version(), "scenarios": scenarios,
            "target": {"met": met, "p99_ratio_50": ratio, "max_ms": worst,
                       "ratio_limit": TARGET_RATIO},
            "failures": failed,
        }, indent=2))
        print(f"results written to {json_path}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ack_latency",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=None,
                        help=f"requests per scenario and app (default {DEFAULT_REQUESTS})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_REQUESTS} requests per scenario")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help=f"warm-up requests before each measurement (default {DEFAULT_WARMUP})")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the results as JSON to PATH")
    sub = parser.add_subparsers(dest="command", metavar="{serve-bare,serve-deploybot,...}",
                                help="internal: the child processes the benchmark starts")
    bare = sub.add_parser("serve-bare")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--slack-api-url", required=True)
    bot = sub.add_parser("serve-deploybot")
    bot.add_argument("--port", type=int, required=True)
    bot.add_argument("--slack-api-url", required=True)
    bot.add_argument("--database", type=Path, required=True)
    sub.add_parser("serve-fake-slack")
    ns = parser.parse_args(argv)

    if ns.command == "serve-bare":
        serve_bare(ns.port, ns.slack_api_url)
        return 0
    if ns.command == "serve-deploybot":
        serve_deploybot(ns.port, ns.slack_api_url, ns.database)
        return 0
    if ns.command == "serve-fake-slack":
        serve_fake_slack()
        return 0
    requests = ns.requests or (QUICK_REQUESTS if ns.quick else DEFAULT_REQUESTS)
    if requests < 1:
        parser.error("--requests must be at least 1")
    return run_benchmark(requests, ns.warmup, ns.json)


if __name__ == "__main__":
    sys.exit(main())
