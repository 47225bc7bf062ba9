"""The ack budget: every kind of Slack request the suite used to time, timed here instead.

Slack gives a slash command, a click or an event 3 seconds to be acknowledged (the HTTP
answer is the ack). The unit tests no longer time anything (these machines are shared and
noisy; a timed test flakes): they check that an ack does not *wait* for the slow work
(tests/slack_hold.py holds the follow-up and the ack must come back meanwhile). How long an
ack takes is measured here, against one budget, :data:`ACK_BUDGET_S`.

deploybot is built as the end-to-end tests build it (tests/conftest.py ``serve_bot``):
``build_container`` + ``handlers.build_app`` behind ``bot.web.build_asgi``, served by uvicorn
in a thread (:class:`~devtools.server.ThreadedServer`), a new SQLite database migrated
to head, a :class:`~devtools.fake_slack.FakeSlack` for the Web API and the
``response_url`` posts, a :class:`~devtools.fake_k8s.FakeKubernetes` for the service
whose migrations ``/migrations`` looks at, and a manual clock (a Wednesday, 10:00 in New
York). Each request is signed and sent with :class:`~devtools.slack_requests.SlackRequester`;
its ack time is the client's: from sending the request to reading the whole answer. Each one
is checked (status, what the ack says) and so is its follow-up (the ``response_url`` answer,
the ``views.publish``…), and the bot is left to finish it (idle) before the next request, as
in the tests: one request at a time, except the twenty clicks at once.

The scenarios, and the tests whose timing they took over:

==========================  ===========================================================
``/deploy status``          tests/handlers/test_status.py
``/deploy`` bad input       tests/handlers/test_bad_input.py (and ``help``)
``/deploy`` a request       tests/handlers/test_bad_input.py (accepted spellings)
``/deploy`` out of window   tests/handlers/test_windows.py (Friday 14:05, refused later)
``/freeze``                 tests/handlers/test_freeze.py (status, list)
``/freeze add``             tests/handlers/test_freeze.py
``/lock``, ``/unlock``      tests/handlers/test_locks.py
``/migrations``             tests/handlers/test_migrations_status.py (a status Job)
App Home opened             tests/handlers/test_app_home.py (``app_home_opened``)
App Home approve            tests/handlers/test_app_home.py (a click in the tab)
20 approvals at once        tests/handlers/test_concurrency.py (per click)
refused (bad signature)     tests/fuzz/test_fuzz_slack_events.py (401 before any listener)
probes                      tests/fuzz/test_fuzz_probes.py (/healthz, /readyz, /metrics)
==========================  ===========================================================

The last line says ``ACK BUDGET MET`` or ``ACK BUDGET MISSED``. Exit code: 0 when every
request of every scenario was answered as expected within the budget, 1 otherwise.

Run it from the repository root::

    .venv/bin/python -m benchmarks.ack_budget             # 20 requests per scenario
    .venv/bin/python -m benchmarks.ack_budget --quick     # 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import parse_config
from bot.container import Container, build_container
from bot.presentation import ids
from bot.store.schema import upgrade_schema
from bot.web import build_asgi
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from devtools.slack_requests import Reply, SlackRequester, app_home_opened_event
from handlers import build_app

#: Seconds an ack may take, Slack's request to deploybot's whole answer read back. Half of
#: Slack's 3-second deadline: the other half is for the network between Slack and us, which
#: this benchmark (all on 127.0.0.1) does not have. The one ack budget of the project.
ACK_BUDGET_S = 1.5

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
REQUESTER, APPROVER, MANAGER = "U0ALICE", "U0BOB", "U0FRANK"
APPROVERS = [f"U0APPR{n:02d}" for n in range(20)]  # the twenty who click at once
CHANNEL = "C0DEPLOYS"
WEDNESDAY = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # 10:00 in New York: every window open
FRIDAY_1405 = datetime(2026, 11, 20, 19, 5, tzinfo=UTC)  # production's schedule closed
SHOWMIGRATIONS = "billing\n [X] 0001_initial\n [ ] 0002_invoices\n"
DEFAULT_REPEAT = 20
QUICK_REPEAT = 5
WAIT_S = 30.0  # for a follow-up or the bot going idle: only against a hang


def bench_config() -> dict[str, Any]:
    """tests/conftest.py's base config, with what the scenarios need: production's
    schedule (closed on Friday afternoons), freeze managers, twenty more approvers, and a
    service on (fake) Kubernetes with a migrations status command."""
    return {
        "timezone": "America/New_York",
        "slack": {"deployments_channel": CHANNEL},
        "roles": {"deployers": [REQUESTER, APPROVER], "approvers": [APPROVER, *APPROVERS],
                  "freeze_managers": [MANAGER]},
        "environments": {
            "staging": {},
            "production": {
                "approval": {"required": 1, "approvers": ["approvers"], "expires_after": "2h"},
                "schedule": {"monday": "anytime", "tuesday": "anytime",
                             "wednesday": "anytime", "thursday": "anytime",
                             "friday": {"until": "14:00"}, "saturday": "emergency_only",
                             "sunday": "emergency_only"}},
        },
        "freezes": {"managers": ["freeze_managers"]},
        "services": {
            "api": {"executor": "simulated"},
            "billing": {"executor": "kubernetes",
                        "kubernetes": {"image": "ghcr.io/acme/billing:{version}"},
                        "migrations": {"command": ["python", "manage.py", "migrate"],
                                       "timeout": "30s",
                                       "status_command": ["python", "manage.py",
                                                          "showmigrations"]}},
        },
        "kubernetes": {"contexts": {"staging": "fake", "production": "fake"}},
        "simulated": {"rollout_seconds": 0, "initial_version": "v1.2.2"},
        "home": {"refresh_every": 0.05},
    }


@dataclass
class Result:
    name: str
    replaces: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def over(self) -> list[float]:
        return [s for s in self.seconds if s > ACK_BUDGET_S]


class Failed(Exception):
    """A request not answered as expected (its status, its ack, or its follow-up)."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Failed(what)


class Bench:
    """deploybot with its fakes, served over HTTP as in the end-to-end tests."""

    def __init__(self, workdir: Path) -> None:
        self.k8s = FakeKubernetes(tick=0.02).start()
        for namespace in ("staging", "production"):
            self.k8s.add_deployment(namespace, "billing", replicas=1, containers=[
                {"name": "billing", "image": "ghcr.io/acme/billing:v1.0.0"}])
        self.k8s.set_job_outcome("staging", "billing-status-", succeed=True,
                                 logs=SHOWMIGRATIONS)
        kubeconfig = self.k8s.write_kubeconfig(str(workdir / "kubeconfig"), context="fake")
        self.slack = FakeSlack(usergroups={}).start()
        url = f"sqlite:///{workdir / 'deploybot.db'}"
        upgrade_schema(url)
        self.clock = ManualClock(WEDNESDAY)
        config = parse_config(bench_config(), source="benchmark config")
        self.container: Container = build_container(
            config, database_url=url, slack_token=BOT_TOKEN, slack_api_url=self.slack.base_url,
            clock=self.clock, kubeconfig=kubeconfig, progress_every=timedelta(0))
        app = build_app(self.container, signing_secret=SIGNING_SECRET)
        self.server = ThreadedServer(build_asgi(
            app, background=self.container.background, metrics=self.container.metrics,
            readiness=self.container.readiness)).start()
        self.requester = SlackRequester(f"{self.server.url}/slack/events", SIGNING_SECRET,
                                        self.slack, timeout=WAIT_S)
        self.versions = (f"v2.{n}.0" for n in range(1, 1_000_000))

    def close(self) -> None:
        self.requester.close()
        self.server.stop()
        self.container.close()
        self.slack.stop()
        self.k8s.stop()

    # -- what the tests' helpers do ------------------------------------------------------
    def idle(self) -> None:
        """Until the bot has finished what the last request started."""
        c = self.container
        for _ in range(2):  # the pools hand work to each other (an audit batch after a reply)
            for pool in (c.background, c.jobs, c.home_refresher):
                expect(pool.wait_idle(WAIT_S), f"the bot's {pool!r} did not go idle")
            expect(c.runner.wait_idle(WAIT_S), "the runner did not go idle")

    def command(self, command: str, text: str, user: str = REQUESTER) -> Reply:
        reply = self.requester.command(command, text, user_id=user)
        expect(reply.status == 200, f"{command} {text[:40]!r}: HTTP {reply.status}")
        return reply

    def answer(self, reply: Reply) -> str:
        """The text of the one answer posted later to the request's response_url."""
        (post,) = self.requester.response_posts(reply, timeout=WAIT_S)
        return str(post.args.get("text"))

    def request(self, version: str) -> int:
        """`/deploy api production <version>`, requested: the new deployment's id."""
        text = self.answer(self.command("/deploy", f"api production {version}"))
        expect("Deployment #" in text, f"the request was not accepted: {text[:80]!r}")
        return int(text.split("Deployment #", 1)[1].split()[0])

    def card(self, deployment_id: int) -> dict[str, Any]:
        with self.container.database.transaction() as r:
            d = r.deployments.get(deployment_id)
        expect(d is not None and d.message_ts is not None, f"#{deployment_id} has no card")
        assert d is not None
        for m in self.slack.messages(d.channel):
            if m["ts"] == d.message_ts:
                return dict(m)
        raise Failed(f"no card for deployment #{deployment_id}")

    def publishes(self, user: str) -> int:
        return len([c for c in self.slack.calls("views.publish")
                    if c.args.get("user_id") == user])

    def get(self, path: str) -> tuple[int, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=WAIT_S)
        try:
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status, time.perf_counter() - started
        finally:
            conn.close()


# -- the scenarios: each sends one request (or a burst) and returns its ack time(s) ----------

Scenario = Callable[[Bench, int], list[float]]

BAD_TEXTS = ["", "api prod v1.2.3", "api production latest", "api production --dry-run v1.2.3",
             "x" * 10_240, "help"]


def deploy_status(b: Bench, n: int) -> list[float]:
    reply = b.command("/deploy", "status")
    expect(b.answer(reply) == "Deployment status", "no status answer")
    return [reply.elapsed]


def deploy_bad_input(b: Bench, n: int) -> list[float]:
    text = BAD_TEXTS[n % len(BAD_TEXTS)]
    reply = b.command("/deploy", text)
    expect(isinstance(reply.json, dict) and reply.json.get("response_type") == "ephemeral",
           f"/deploy {text[:20]!r}: no refusal in the ack: {reply.body[:80]!r}")
    return [reply.elapsed]


def deploy_request(b: Bench, n: int) -> list[float]:
    reply = b.command("/deploy", f"api production {next(b.versions)}")
    expect("Requesting" in str((reply.json or {}).get("text")), "no 'Requesting…' ack")
    expect("Deployment #" in b.answer(reply), "not requested")
    return [reply.elapsed]


def deploy_out_of_window(b: Bench, n: int) -> list[float]:
    b.clock.set(FRIDAY_1405)
    try:
        reply = b.command("/deploy", f"api production {next(b.versions)}")
        expect(b.answer(reply).startswith("Not now"), "not refused by the schedule")
    finally:
        b.clock.set(WEDNESDAY)
    return [reply.elapsed]


def freeze_status(b: Bench, n: int) -> list[float]:
    text, said = ("", "Deploy windows") if n % 2 == 0 else ("list", "Freezes")
    reply = b.command("/freeze", text)
    expect(b.answer(reply) == said, f"/freeze {text}: not {said!r}")
    return [reply.elapsed]


def freeze_add(b: Bench, n: int) -> list[float]:
    reply = b.command("/freeze", f'add "Bench {n}" 2026-12-10 09:00 to 2026-12-11 18:00',
                      user=MANAGER)
    expect(" added" in b.answer(reply), "the freeze was not added")
    return [reply.elapsed]


def lock_unlock(b: Bench, n: int) -> list[float]:
    if n % 2 == 0:
        reply = b.command("/lock", 'staging api "benchmark" for 1h', user=APPROVER)
        expect(b.answer(reply).startswith("🔒 You locked"), "not locked")
    else:
        reply = b.command("/unlock", "staging api", user=APPROVER)
        expect("unlocked" in b.answer(reply).lower(), "not unlocked")
    return [reply.elapsed]


def migrations_status(b: Bench, n: int) -> list[float]:
    reply = b.command("/migrations", "staging billing")
    expect("Running `showmigrations`" in str((reply.json or {}).get("text")),
           f"no 'Running…' ack: {reply.body[:80]!r}")
    expect("0002_invoices" in b.answer(reply), "no showmigrations output")
    return [reply.elapsed]


def home_opened(b: Bench, n: int) -> list[float]:
    before = b.publishes(APPROVER)
    reply = b.requester.event(app_home_opened_event(APPROVER))
    expect(reply.status == 200, f"app_home_opened: HTTP {reply.status}")
    b.slack.wait_for("views.publish", count=before + 1, timeout=WAIT_S,
                     predicate=lambda c: c.args.get("user_id") == APPROVER)
    return [reply.elapsed]


def home_approve(b: Bench, n: int) -> list[float]:
    pending = b.request(next(b.versions))
    b.idle()
    b.requester.event(app_home_opened_event(APPROVER))
    block_id = f"{ids.HOME_APPROVAL_BLOCK}.{pending}"

    def shows_it(c: Any) -> bool:  # a tab with this deployment's Approve button
        view = c.args.get("view")
        return (c.args.get("user_id") == APPROVER and isinstance(view, dict)
                and any(bl.get("block_id") == block_id for bl in view.get("blocks", [])))

    calls = b.slack.wait_for("views.publish", timeout=WAIT_S, predicate=shows_it)
    view = calls[-1].args["view"]
    dms = len(b.slack.messages("D" + APPROVER))
    reply = b.requester.view_click(user_id=APPROVER, action_id=ids.APPROVE,
                                   value=str(pending), view=view)
    expect(reply.status == 200, f"the click in the Home: HTTP {reply.status}")
    b.slack.wait_for("chat.postMessage", count=dms + 1, timeout=WAIT_S,
                     predicate=lambda c: c.args.get("channel") == APPROVER)
    return [reply.elapsed]


def approvals_at_once(b: Bench, n: int) -> list[float]:
    pending = b.request(next(b.versions))
    b.idle()
    card = b.card(pending)
    gate = threading.Barrier(len(APPROVERS))

    def one(user: str) -> Reply:
        gate.wait(timeout=WAIT_S)
        return b.requester.click(user_id=user, action_id=ids.APPROVE, value=str(pending),
                                 message=card)

    with ThreadPoolExecutor(max_workers=len(APPROVERS)) as pool:
        replies = list(pool.map(one, APPROVERS))
    expect(all(r.status == 200 for r in replies),
           f"statuses {sorted({r.status for r in replies})}")
    answers = [b.answer(r) for r in replies]
    expect(sum("it is starting now" in a for a in answers) == 1, "not started exactly once")
    return [r.elapsed for r in replies]


def refused_signature(b: Bench, n: int) -> list[float]:
    body = "command=%2Fdeploy&text=status&user_id=U0ALICE"
    reply = b.requester.raw(body, {"Content-Type": "application/x-www-form-urlencoded",
                                   "X-Slack-Request-Timestamp": str(int(time.time())),
                                   "X-Slack-Signature": "v0=" + "0" * 64})
    expect(reply.status == 401, f"a forged signature: HTTP {reply.status}")
    return [reply.elapsed]


def probes(b: Bench, n: int) -> list[float]:
    path = ("/healthz", "/readyz", "/metrics")[n % 3]
    status, seconds = b.get(path)
    expect(status == 200, f"GET {path}: HTTP {status}")
    return [seconds]


SCENARIOS: list[tuple[str, str, Scenario]] = [
    ("/deploy status", "test_status", deploy_status),
    ("/deploy bad input, help", "test_bad_input", deploy_bad_input),
    ("/deploy a request", "test_bad_input", deploy_request),
    ("/deploy out of window", "test_windows", deploy_out_of_window),
    ("/freeze, /freeze list", "test_freeze", freeze_status),
    ("/freeze add", "test_freeze", freeze_add),
    ("/lock, /unlock", "test_locks", lock_unlock),
    ("/migrations staging", "test_migrations_status", migrations_status),
    ("App Home opened", "test_app_home", home_opened),
    ("App Home approve click", "test_app_home", home_approve),
    ("20 approvals at once", "test_concurrency", approvals_at_once),
    ("refused: bad signature", "fuzz slack_events", refused_signature),
    ("probes", "fuzz probes", probes),
]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run(repeat: int, only: str | None) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="deploybot-ack-budget-") as tmp:
        bench = Bench(Path(tmp))
        try:
            for name, replaces, scenario in SCENARIOS:
                if only is not None and only.lower() not in name.lower():
                    continue
                result = Result(name, replaces)
                # the twenty clicks at once are twenty acks each time
                times = max(1, repeat // 5) if scenario is approvals_at_once else repeat
                for n in range(times + 1):  # the first is a warm-up, not counted
                    try:
                        seconds = scenario(bench, n)
                        bench.idle()
                    except (Failed, AssertionError) as e:
                        result.failures.append(str(e).splitlines()[0][:200])
                        continue
                    if n > 0:
                        result.seconds.extend(seconds)
                print(f"  {name}: {len(result.seconds)} acks", file=sys.stderr, flush=True)
                results.append(result)
        finally:
            bench.close()
    return results


def report(results: list[Result]) -> int:
    budget_ms = ACK_BUDGET_S * 1000
    print(f"\n{'scenario':<26} {'replaces':<24} {'acks':>5} {'p50 ms':>8} {'max ms':>8}  "
          f"budget {budget_ms:.0f} ms")
    missed = False
    for r in results:
        if r.seconds:
            ms = [s * 1000 for s in r.seconds]
            verdict = "ok" if not r.over() else f"OVER ({len(r.over())})"
            print(f"{r.name:<26} {r.replaces:<24} {len(ms):>5} {percentile(ms, 50):>8.1f} "
                  f"{max(ms):>8.1f}  {verdict}")
        else:
            print(f"{r.name:<26} {r.replaces:<24} {0:>5} {'-':>8} {'-':>8}  no ack measured")
        for f in sorted(set(r.failures)):
            print(f"    FAILED ({r.failures.count(f)}x): {f}")
        missed = missed or bool(r.over()) or bool(r.failures) or not r.seconds
    every = [s for r in results for s in r.seconds]
    slowest = max(every, default=0.0) * 1000
    if missed:
        print(f"\nACK BUDGET MISSED: slowest ack {slowest:.0f} ms (budget {budget_ms:.0f} ms), "
              "or a request not answered as expected (above)")
        return 1
    print(f"\nACK BUDGET MET: {len(every)} acks, slowest {slowest:.0f} ms "
          f"(budget {budget_ms:.0f} ms, Slack's deadline 3000 ms)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ack_budget",
        description=f"Ack time of each kind of Slack request against {ACK_BUDGET_S} s.")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"requests per scenario (default {DEFAULT_REPEAT})")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REPEAT} requests per scenario")
    parser.add_argument("-k", dest="only", help="only the scenarios whose name contains this")
    parser.add_argument("--json", type=Path, help="write the results here")
    ns = parser.parse_args(argv)
    repeat = QUICK_REPEAT if ns.quick else ns.repeat
    print(f"ack-budget benchmark: {repeat} requests per scenario (+1 warm-up), budget "
          f"{ACK_BUDGET_S} s; {os.cpu_count()} CPUs, Python {platform.python_version()}",
          flush=True)
    results = run(repeat, ns.only)
    code = report(results)
    if ns.json is not None:
        ns.json.write_text(json.dumps({
            "budget_s": ACK_BUDGET_S,
            "scenarios": [{"name": r.name, "replaces": r.replaces, "seconds": r.seconds,
                           "failures": r.failures} for r in results]}, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
