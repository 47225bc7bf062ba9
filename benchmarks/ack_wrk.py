"""Ack-latency benchmark driven by wrk: `/deploy` at 50 concurrent connections, deploybot
against a bare Bolt app, measured by a compiled load generator.

This module owns the wrk side of issue 13's "lean request path" figures: the Lua script
that makes wrk send Slack slash commands each signed once (wrk's Lua has no HMAC, so the
requests are signed here beforehand and wrk cycles through them), running wrk, and reading
its latency distribution. The processes are those of :mod:`benchmarks.ack_latency`
(``serve-fake-slack``, ``serve-bare``, ``serve-deploybot``), started the same way; the
Python client there measures latency with a Python client, this one with wrk (C), so the
client's own cost does not blur the tail.

On a machine with 2 or more cores the app under load runs on core 0 (``taskset -c 0``) and
wrk and the fake Slack on core 1. wrk is not installed by the benchmark: without it, it
stops and says ``apt-get install wrk``.

Run it from the repository root::

    .venv/bin/python -m benchmarks.ack_wrk                 # 5000 requests per scenario
    .venv/bin/python -m benchmarks.ack_wrk --quick         # 500: a smoke run
    .venv/bin/python -m benchmarks.ack_wrk --json wrk.json

The exit code is 0 whether or not the target is met, and 1 if any request failed (a status
other than 200, an ack without the expected text, a socket error).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.ack_latency import (
    BOT_TOKEN,
    DEPLOYER,
    INVALID_TEXT,
    SIGNING_SECRET,
    TARGET_RATIO,
    VALID_TEXT,
    AppProcess,
    FakeSlackProcess,
    Result,
    _diff,
    format_table,
    total_posts,
    wait_idle,
)
from devtools.slack_requests import sign, slash_command_body

DEFAULT_REQUESTS = 5000
QUICK_REQUESTS = 500
DEFAULT_WARMUP = 500
CONNECTIONS = 50
FULL_COST_TARGET_MS = 3.0
INSTALL_HINT = "wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu)"

#: wrk's script. init() reads the pre-signed requests (one per line: timestamp, signature,
#: body); request() hands out the next one, never one twice; response() checks each answer;
#: when `limit` responses have arrived it stops its thread and sends wrk the SIGINT that
#: ends a run early (the summary's duration is then the real one; SIGINT alone stops the
#: threads only at wrk's next 100 ms tick); done() prints the figures as one JSON line.
LUA = r"""
local ffi = require("ffi")
ffi.cdef[[int kill(int pid, int sig); int getpid(void);]]

local requests, n, limit, expect, busy, unsigned = {}, 0, 0, nil, nil, nil
sent, answered, bad, refused, exhausted, bad_sample = 0, 0, 0, 0, 0, ""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[2])
  if args[3] ~= nil and args[3] ~= "" then expect = args[3] end
  -- an ack with this text is a refusal of an overloaded app (counted apart, not bad)
  if args[4] ~= nil and args[4] ~= "" then busy = args[4] end
  -- built here, not at load: wrk.init has set the Host header by now
  unsigned = wrk.format("POST", "/slack/events",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, "ping=1")
  for line in io.lines(args[1]) do
    local ts, sig, body = line:match("^(%d+)\t(%S+)\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", "/slack/events", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Slack-Request-Timestamp"] = ts,
      ["X-Slack-Signature"] = sig,
    }, body)
  end
end

function request()
  sent = sent + 1
  if sent > n then
    -- out of signed requests: an unsigned one (401, counted as a failure), never a replay
    exhausted = exhausted + 1
    return unsigned
  end
  return requests[sent]
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 and busy ~= nil and body:find(busy, 1, true) then
    refused = refused + 1
  elseif status ~= 200 or (expect ~= nil and not body:find(expect, 1, true)) then
    bad = bad + 1
    if bad_sample == "" then
      bad_sample = tostring(status) .. " " .. body:sub(1, 200):gsub("[\r\n\"\\]", " ")
    end
  end
  if answered == limit then
    wrk.thread:stop()                -- this thread sends nothing more
    ffi.C.kill(ffi.C.getpid(), 2)    -- wakes wrk's main thread: the run ends now
  end
end

function done(summary, latency, _requests)
  local s, a, b, r, x, sample = 0, 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    s = s + t:get("sent"); a = a + t:get("answered"); b = b + t:get("bad")
    r = r + t:get("refused")
    x = x + t:get("exhausted")
    if sample == "" then sample = t:get("bad_sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "sent": %d, "answered": %d, ' ..
    '"bad": %d, "refused": %d, "exhausted": %d, "bad_sample": "%s", "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, s, a, b, r, x, sample,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def require_wrk() -> str:
    """wrk's path; SystemExit with how to install it when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(f"benchmarks.ack_wrk: {INSTALL_HINT}; the benchmark does not "
                         "install it itself.")
    return path


def pinning() -> tuple[list[str], list[str]]:
    """(prefix for the app under load, prefix for wrk and the fake Slack): separate cores
    when there are at least 2 and taskset exists, else none."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


_serial = itertools.count(1)


def write_requests(path: Path, count: int, text: str, response_root: str, *,
                   user_id: str = DEPLOYER) -> None:
    """`count` `/deploy <text>` slash commands, each with its own trigger_id and
    response_url, signed now (Slack accepts a timestamp for 5 minutes): one line each."""
    ts = int(time.time())
    with path.open("w") as f:
        for _ in range(count):
            n = next(_serial)
            body = slash_command_body("/deploy", text, user_id=user_id,
                                      response_url=f"{response_root}/response/wrk{n}",
                                      trigger_id=f"wrk.{os.getpid()}.{n}")
            f.write(f"{ts}\t{sign(SIGNING_SECRET, body, ts)}\t{body}\n")


@dataclass
class WrkRun:
    """What one wrk run reported (its JSON line), latencies in ms."""

    requests: int
    """Responses wrk counted (its latency distribution is theirs)."""
    sent: int
    """Requests sent (the last ones may have been in flight when the run ended)."""
    bad: int
    """Responses with a status other than 200, or without the expected text."""
    socket_errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bad_sample: str
    refused: int = 0
    """200s with the `busy` text: requests an overloaded app refused (handlers.busy)."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class Wrk:
    """Runs wrk (on its own core when there are 2) with the Lua script above."""

    def __init__(self, workdir: Path, prefix: Sequence[str],
                 connections: int = CONNECTIONS) -> None:
        self.binary = require_wrk()
        self.workdir = workdir
        self.prefix = list(prefix)
        self.connections = connections
        self.script = workdir / "slack_requests.lua"
        self.script.write_text(LUA)

    def run(self, url: str, requests: Path, limit: int, expect: str | None,
            busy: str | None = None) -> WrkRun:
        """Send the requests of file `requests` until `limit` responses have arrived; a
        200 whose body has `busy` counts as refused (not bad)."""
        cmd = [*self.prefix, self.binary, "-t", "1", "-c", str(self.connections),
               "-d", "600s", "--timeout", "10s", "-s", str(self.script), url,
               "--", str(requests), str(limit), expect or "", busy or ""]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")),
                    None)
        if line is None:
            raise RuntimeError(f"wrk printed no result (exit {done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}")
        r = json.loads(line.removeprefix("WRK_JSON "))
        socket_errors = sum(int(r[k]) for k in ("connect_errors", "read_errors",
                                                 "write_errors", "timeouts"))
        return WrkRun(requests=int(r["requests"]), sent=int(r["sent"]),
                      bad=int(r["bad"]) + int(r["exhausted"]), socket_errors=socket_errors,
                      seconds=int(r["duration_us"]) / 1e6,
                      p50_ms=r["p50_us"] / 1000, p90_ms=r["p90_us"] / 1000,
                      p99_ms=r["p99_us"] / 1000, max_ms=r["max_us"] / 1000,
                      bad_sample=str(r["bad_sample"]), refused=int(r["refused"]))


@dataclass
class Scenario:
    label: str
    app: AppProcess
    text: str
    expect: str | None
    """Bytes every ack body must contain (as sent: Bolt's JSON escapes non-ASCII)."""
    answers: bool
    """Each request ends with one response_url post (a valid `/deploy`)."""


def measure(wrk: Wrk, scenario: Scenario, fake: FakeSlackProcess, workdir: Path, *,
            requests: int, warmup: int) -> tuple[Result, WrkRun]:
    app = scenario.app
    spare = 2 * wrk.connections + 10  # in flight when the run ends: still each signed once
    data = workdir / "requests.txt"

    def expected_posts(before: dict[str, Any], run: WrkRun) -> int | None:
        # At least one per ack received; the requests in flight when wrk stopped may add
        # theirs (the quiet windows of wait_idle wait for them).
        return total_posts(before) + (run.requests - run.bad) if scenario.answers else None

    if warmup:
        write_requests(data, warmup + spare, scenario.text, fake.root_url)
        before = fake.stats()
        warm = wrk.run(app.events_url, data, warmup, scenario.expect)
        wait_idle(app, fake, posts=expected_posts(before, warm))
    write_requests(data, requests + spare, scenario.text, fake.root_url)
    stats_before = fake.stats()
    cpu_before = app.cpu_seconds()
    run = wrk.run(app.events_url, data, requests, scenario.expect)
    cpu_acked = app.cpu_seconds()
    finished = time.monotonic()
    last_active = wait_idle(app, fake, posts=expected_posts(stats_before, run))
    cpu_after = app.cpu_seconds()
    stats_after = fake.stats()
    posts = _diff(stats_after["response_posts"], stats_before["response_posts"])
    warning = None
    if scenario.answers and posts.get("requested", 0) < run.requests - run.bad:
        warning = (f"{scenario.label}: {run.requests - run.bad} acks but only "
                   f"{posts.get('requested', 0)} 'requested' answers on response_url")
    failures = run.bad + run.socket_errors
    result = Result(
        label=scenario.label, requests=run.requests,
        p50_ms=run.p50_ms, p99_ms=run.p99_ms, max_ms=run.max_ms, rps=run.rps,
        ack_cpu_ms=(cpu_acked - cpu_before) * 1000 / run.sent,
        cpu_ms=(cpu_after - cpu_before) * 1000 / run.sent,
        drain_s=max(0.0, last_active - finished), rss_mb=app.rss_mb(),
        failures=failures,
        errors={run.bad_sample or "socket error": failures} if failures else {},
        slack_calls=_diff(stats_after["methods"], stats_before["methods"]),
        response_posts=posts, warning=warning,
    )
    return result, run


def run_benchmark(requests: int, warmup: int, connections: int,
                  json_path: Path | None) -> int:
    wrk_binary = require_wrk()
    version = subprocess.run([wrk_binary, "-v"], capture_output=True, text=True,
                             check=False).stdout.splitlines()
    app_prefix, client_prefix = pinning()
    where = ("app on core 0, wrk and fake Slack on core 1" if app_prefix
             else "not pinned (fewer than 2 cores or no taskset)")
    print(f"ack-latency benchmark (wrk): {requests} requests per scenario after {warmup} "
          f"warm-up, {connections} connections; {os.cpu_count()} CPUs ({where}), "
          f"Python {platform.python_version()}, {version[0] if version else 'wrk'}",
          flush=True)
    fake = FakeSlackProcess(prefix=client_prefix)
    apps: list[AppProcess] = []
    tmp = tempfile.TemporaryDirectory(prefix="deploybot-wrk-")
    workdir = Path(tmp.name)
    try:
        bare = AppProcess("bare", ["serve-bare", "--slack-api-url", fake.api_url],
                          prefix=app_prefix)
        apps.append(bare)
        deploybot = AppProcess("deploybot", [
            "serve-deploybot", "--slack-api-url", fake.api_url,
            "--database", str(workdir / "deploybot.db"),
        ], prefix=app_prefix)
        apps.append(deploybot)
        for app in apps:
            app.wait_ready()
        wrk = Wrk(workdir, client_prefix, connections)
        scenarios = [
            Scenario("bare", bare, VALID_TEXT, None, answers=False),
            Scenario("deploybot", deploybot, VALID_TEXT, "Requesting", answers=True),
            # "\u26a0" is how Bolt's JSON writes the refusal's ⚠️
            Scenario("deploybot (invalid)", deploybot, INVALID_TEXT, "\\u26a0", answers=False),
        ]
        results: list[Result] = []
        runs: list[WrkRun] = []
        for scenario in scenarios:
            print(f"  {scenario.label} ...", file=sys.stderr, flush=True)
            result, run = measure(wrk, scenario, fake, workdir, requests=requests,
                                  warmup=warmup)
            results.append(result)
            runs.append(run)
    finally:
        for app in apps:
            app.stop()
        fake.stop()
        tmp.cleanup()

    print()
    print(format_table(f"{connections} concurrent connections (wrk), {requests} requests",
                       results))
    by = {r.label: r for r in results}
    ratio = by["deploybot"].p99_ms / by["bare"].p99_ms
    full_cost = by["deploybot"].cpu_ms
    met = ratio <= TARGET_RATIO
    print()
    print(f"{'TARGET MET' if met else 'TARGET MISSED'}: deploybot p99 at {connections} "
          f"concurrent is {ratio:.2f}x the bare app's ({by['deploybot'].p99_ms:.2f} ms vs "
          f"{by['bare'].p99_ms:.2f} ms; target <= {TARGET_RATIO}x)")
    print(f"{'TARGET MET' if full_cost <= FULL_COST_TARGET_MS else 'TARGET MISSED'}: "
          f"the full cost of a /deploy (ack, card, record, reply) is {full_cost:.2f} ms of "
          f"CPU (target <= {FULL_COST_TARGET_MS:.0f} ms; the bare app's ack: "
          f"{by['bare'].cpu_ms:.2f} ms)")
    failed = sum(r.failures for r in results)
    for r in results:
        if r.warning:
            print(f"WARNING (the load was not the intended one): {r.warning}")
        for error, n in r.errors.items():
            print(f"FAILED: {r.label}: {n} x {error}")
    if json_path is not None:
        json_path.write_text(json.dumps({
            "requests": requests, "warmup": warmup, "connections": connections,
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "pinned": bool(app_prefix),
            "results": [asdict(r) for r in results], "wrk": [asdict(r) for r in runs],
            "target": {"p99_ratio": ratio, "ratio_met": met, "full_cost_ms": full_cost,
                       "full_cost_met": full_cost <= FULL_COST_TARGET_MS},
            "failures": failed,
        }, indent=2))
        print(f"results written to {json_path}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ack_wrk",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=None,
                        help=f"timed requests per scenario (default {DEFAULT_REQUESTS})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_REQUESTS} requests, 100 warm-up")
    parser.add_argument("--warmup", type=int, default=None,
                        help=f"warm-up requests before each scenario (default {DEFAULT_WARMUP})")
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help=f"concurrent connections (default {CONNECTIONS})")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the results as JSON to PATH")
    ns = parser.parse_args(argv)
    requests = ns.requests or (QUICK_REQUESTS if ns.quick else DEFAULT_REQUESTS)
    warmup = ns.warmup if ns.warmup is not None else (100 if ns.quick else DEFAULT_WARMUP)
    if requests < 1 or ns.connections < 1:
        parser.error("--requests and --connections must be at least 1")
    return run_benchmark(requests, warmup, ns.connections, ns.json)


# BOT_TOKEN is re-exported for benchmarks.memory_burst (same fake Slack token).
__all__ = ["BOT_TOKEN", "LUA", "Wrk", "WrkRun", "main", "require_wrk", "write_requests"]

if __name__ == "__main__":
    sys.exit(main())
