"""bot.roles: what each `deploybot run --role` does, where the role comes from, the SQLite
check; a worker's HTTP face (bot.web with no Bolt app): probes and /metrics, Slack and
GitHub answered 404 saying it is a worker. Then two web and two worker processes on one
PostgreSQL database (real `deploybot run --role` processes, signed Slack requests spread
over the web processes, a worker SIGKILLed mid-rollout): every deployment runs once, in a
worker, and is announced once.

PostgreSQL: TEST_DATABASE_URL's server when set, else a throwaway server of the test's own
(tests/pg_instance.py); skipped without PostgreSQL binaries.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.roles import ROLE_VARIABLE, Role, database_problem, role_from, role_of
from bot.web import build_asgi
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from tests.bot_process import BotProcess, card_of, query, top_level_posts, wait_until, write_config
from tests.conftest import APPROVER, REQUESTER, base_config
from tests.test_replicas import Balancer


def test_what_each_role_runs() -> None:
    assert (Role.WEB.answers_slack, Role.WEB.runs_deployments, Role.WEB.runs_scheduler) == (
        True, False, False)
    assert (Role.WORKER.answers_slack, Role.WORKER.runs_deployments,
            Role.WORKER.runs_scheduler) == (False, True, True)
    assert (Role.ALL.answers_slack, Role.ALL.runs_deployments, Role.ALL.runs_scheduler) == (
        True, True, True)


def test_the_role_comes_from_the_option_else_the_environment_else_all() -> None:
    assert role_of(None, {}) is Role.ALL
    assert role_of(None, {ROLE_VARIABLE: ""}) is Role.ALL
    assert role_of(None, {ROLE_VARIABLE: " Worker "}) is Role.WORKER
    assert role_of("web", {ROLE_VARIABLE: "worker"}) is Role.WEB
    assert role_from("all") is Role.ALL
    with pytest.raises(ValueError, match=r"DEPLOYBOT_ROLE='scheduler' is not a role "
                                         r"\(one of: web, worker, all\)"):
        role_of(None, {ROLE_VARIABLE: "scheduler"})


@pytest.mark.parametrize("role", [Role.WEB, Role.WORKER])
def test_web_and_worker_need_a_shared_database(role: Role) -> None:
    problem = database_problem(role, "sqlite:///deploybot.db")
    assert problem is not None
    assert f"--role {role.value}" in problem and "SQLite" in problem
    assert "--role all" in problem and "PostgreSQL" in problem  # the fix
    assert "\n" not in problem
    assert database_problem(role, "postgresql+psycopg://bot@db/deploybot") is None


def test_all_runs_on_sqlite() -> None:
    assert database_problem(Role.ALL, "sqlite:///deploybot.db") is None
    assert database_problem(Role.ALL, "postgresql+psycopg://bot@db/deploybot") is None


def _call(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_a_workers_http_serves_probes_and_says_it_answers_no_slack_or_github() -> None:
    server = ThreadedServer(build_asgi(None)).start()
    try:
        for path in ("/slack/events", "/github/webhook"):
            status, body = _call(server.url + path, "POST", b"token=x&command=/deploy")
            assert status == 404, path
            answer = json.loads(body)
            assert answer["ok"] is False and "worker process" in answer["error"], answer
        status, body = _call(server.url + "/healthz")
        assert (status, json.loads(body)) == (200, {"ok": True})
        status, _ = _call(server.url + "/readyz")
        assert status == 200
    finally:
        server.stop()


# -- two web and two worker processes on PostgreSQL ----------------------------------------

SERVICES = [f"svc{i}" for i in range(5)]


def roles_config() -> dict[str, Any]:
    return base_config(
        services={name: {"executor": "simulated"} for name in SERVICES},
        environments={
            "staging": {},
            "production": {"approval": {"required": 1, "approvers": ["approvers"]},
                           "verify": {"bake": "1s"}},
        },
        simulated={"rollout_seconds": 3, "initial_version": "v1.2.2"},
        # A worker's resume poll every second; a dead worker's lease runs out in 3 s.
        runner={"lease": "3s", "poll_every": "1s", "drain": "1s"},
    )


def _pid(owner: str) -> int:
    return int(owner.split(":")[1])  # bot.container.replicas.instance_name: host:pid:random


LEADS = "scheduler: this process leads"


@pytest.mark.long
def test_web_and_worker_processes_run_each_deployment_once_in_a_worker(
    tmp_path: Path, pg_url: str,
) -> None:
    config = write_config(tmp_path / "app.yaml", roles_config())
    with FakeSlack() as fake:
        webs = [BotProcess(f"web{i}", config=config, database_url=pg_url, fake=fake,
                           workdir=tmp_path, role="web") for i in range(2)]
        workers = [BotProcess(f"worker{i}", config=config, database_url=pg_url, fake=fake,
                              workdir=tmp_path, role="worker") for i in range(2)]
        everyone = webs + workers
        lb = None
        try:
            with ThreadPoolExecutor(4) as pool:
                for started in [pool.submit(b.start) for b in everyone]:
                    started.result()
            worker_pids = {b.proc.pid for b in workers if b.proc is not None}
            web_pids = {b.proc.pid for b in webs if b.proc is not None}
            # One live scheduler: exactly one worker leads (bot.scheduling.leader).
            assert [LEADS in w.output() for w in workers].count(True) == 1, [
                w.output() for w in workers]

            # A worker answers its probes and /metrics, and no Slack or GitHub.
            for w in workers:
                for path in ("/healthz", "/readyz", "/metrics"):
                    assert w.get(path)[0] == 200, (w.name, path)
                status, body = _call(w.events_url, "POST", b"command=/deploy")
                assert status == 404 and "worker process" in json.loads(body)["error"]

            lb = Balancer(webs, fake)
            turn = itertools.cycle([0, 1])

            def deploy(service: str, env: str, version: str, to: int) -> None:
                lb.command("/deploy", f"{service} {env} {version}", user=REQUESTER, to=to,
                           retry_to=(1 - to,))

            # 10 deploy requests, each retried by Slack to the other web process (20)
            with ThreadPoolExecutor(4) as pool:
                jobs = [pool.submit(deploy, s, env, f"v1.3.{i}", (i + k) % 2)
                        for k, env in enumerate(("production", "staging"))
                        for i, s in enumerate(SERVICES)]
                for j in jobs:
                    j.result()
            # approvals (a retry and a double click each: 15), /deploys (5)
            # (each row is written just after its ack)
            def production_rows() -> list[tuple[Any, ...]]:
                found = query(pg_url, "SELECT id FROM deployments WHERE environment = "
                              "'production' ORDER BY id")
                return found if len(found) == len(SERVICES) else []

            production = wait_until("the production requests", production_rows,
                                    detail=lambda: query(pg_url, "SELECT id, environment, "
                                                         "service, state FROM deployments"))
            for n, (deployment_id,) in enumerate(production):
                wait_until("the card", partial(
                    query, pg_url, "SELECT 1 FROM deployments WHERE id = :i AND message_ts IS "
                    "NOT NULL", i=deployment_id))
                card = card_of(fake, pg_url, deployment_id)
                to = n % 2
                lb.click(card, str(deployment_id), user=APPROVER, to=to, retry_to=(1 - to,))
                lb.click(card, str(deployment_id), user=APPROVER, to=1 - to)  # double click
                lb.command("/deploys", "", user=APPROVER, to=next(turn))
            assert len(lb.originals) + len(lb.retries) == 40

            # -- a worker dies mid-rollout; the other one finishes its work
            ((victim_id, owner),) = wait_until("a rollout under way", lambda: query(
                pg_url, "SELECT id, lease_owner FROM deployments WHERE state = 'running' "
                "AND progress LIKE '%pods updated%' ORDER BY id LIMIT 1"), timeout=30)
            assert _pid(owner) in worker_pids, owner
            victim = next(w for w in workers if w.proc is not None
                          and w.proc.pid == _pid(owner))
            survivor = next(w for w in workers if w is not victim)
            os.kill(_pid(owner), signal.SIGKILL)
            victim.wait(10)
            # The survivor leads the scheduler now, whichever led before.
            wait_until("the survivor to lead", lambda: LEADS in survivor.output(), timeout=30)

            wait_until("every deployment to succeed", lambda: query(
                pg_url, "SELECT count(*) FROM deployments WHERE state = 'succeeded'")[0][0]
                == 2 * len(SERVICES), timeout=90, every=0.5, detail=lambda: query(
                pg_url, "SELECT id, environment, service, state, lease_owner, error "
                "FROM deployments ORDER BY id"))
            wait_until("every announcement", lambda: len(top_level_posts(fake, "is live"))
                       >= 2 * len(SERVICES), timeout=20)
            assert all(b.alive() for b in [*webs, survivor])
            # SIGTERM: each stops cleanly (a worker hands its leases back, a web drains).
            for b in [*webs, survivor]:
                b.terminate()
            for b in [*webs, survivor]:
                assert b.wait(30) == 0, b.output()
        finally:
            if lb is not None:
                lb.close()
            for b in everyone:
                b.stop()

        rows = query(pg_url, "SELECT id, state FROM deployments ORDER BY id")
        assert len(rows) == 2 * len(SERVICES) and {s for _, s in rows} == {"succeeded"}, rows
        # Run once each, by a worker: one start and one result per deployment; the killed
        # rollout resumed once, by the survivor.
        events = query(pg_url, "SELECT deployment_id, action, details FROM audit_events "
                       "WHERE action IN ('deploy.started', 'deploy.resumed', "
                       "'deploy.succeeded')")
        per = Counter((i, a) for i, a, _ in events)
        for deployment_id, _ in rows:
            assert per[(deployment_id, "deploy.started")] == 1, (deployment_id, per)
            assert per[(deployment_id, "deploy.succeeded")] == 1, (deployment_id, per)
        assert per[(victim_id, "deploy.resumed")] == 1, per
        owners = {_pid(d["owner"]) for _, a, d in events if a != "deploy.succeeded"}
        assert owners <= worker_pids and not owners & web_pids, (owners, worker_pids)
        resumed_by = {_pid(d["owner"]) for i, a, d in events
                      if a == "deploy.resumed" and i == victim_id}
        assert resumed_by == {survivor.proc.pid if survivor.proc else None}
        # Each request handled once (retries answered, not handled again).
        trail = Counter(a for (a,) in query(
            pg_url, "SELECT action FROM audit_events WHERE action IN ('slack.command', "
            "'slack.click')"))
        assert trail == {"slack.command": 15, "slack.click": 10}, trail
        for kind, key in lb.originals if lb is not None else []:
            assert len(fake.response_posts(key)) == 1, (kind, key)
        assert query(pg_url, "SELECT count(*) FROM approval_decisions")[0][0] == len(SERVICES)
        # One result announcement per deployment; one card each.
        live = top_level_posts(fake, "is live")
        assert len(live) == 2 * len(SERVICES), [p.get("text") for p in live]
        assert len({p.get("text") for p in live}) == 2 * len(SERVICES)
        for deployment_id, _ in rows:
            cards = [p for p in top_level_posts(fake, f"#{deployment_id}")
                     if str(p.get("text", "")).startswith(f"Deploy #{deployment_id} ")]
            assert len(cards) == 1, (deployment_id, cards)
        for b in [*webs, survivor]:
            assert "Traceback" not in b.output(), b.output()
