"""`/rollout`, `/pods`, `/events` and the Pods button end to end on the fake Kubernetes API
server: signed Slack HTTP in, the real kubernetes client reading the fake cluster, the
answer out through the response_url of the fake Slack.

Four services in staging, each in a state the guide's troubleshooting is about: `api`
healthy, `pull` whose new image cannot be pulled (ImagePullBackOff), `crash` whose new pods
crash-loop (CrashLoopBackOff, exit 1), `pending` whose new pods cannot be scheduled
(FailedScheduling, then ProgressDeadlineExceeded). Someone rolled the three out with
`kubectl set image` (the `kubectl` fixture's client); the fake's controller, scheduler and
kubelet do the rest. The cluster's clock is the test's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bot.clock import ManualClock
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import CHANNEL, blocks_text, request, run_to_end
from tests.handlers.test_troubleshooting import answer, audit, command

SERVICES = ("api", "pull", "crash", "pending")
MODES = {"pull": "image_pull", "crash": "crash_loop", "pending": "deadline"}


def image(service: str, version: str) -> str:
    return f"ghcr.io/acme/{service}:{version}"


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             clock: ManualClock) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02, clock=clock.now) as fake:
        for name in SERVICES:
            fake.add_deployment("staging", name, containers=[
                {"name": name, "image": image(name, "v1.2.2")}], replicas=2,
                progress_deadline_seconds=30)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={name: {"executor": "kubernetes",
                         "kubernetes": {"image": image(name, "{version}")}}
                  for name in SERVICES},
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}})


def _apps() -> Iterator[k8s.AppsV1Api]:
    api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=os.environ["KUBECONFIG"], persist_config=False)
    try:
        yield k8s.AppsV1Api(api)
    finally:
        api.close()


def set_image(fake: FakeKubernetes, service: str, version: str) -> None:
    """`kubectl set image deployment/<service> <service>=…:<version> -n staging`."""
    for apps in _apps():
        apps.patch_namespaced_deployment(service, "staging", {"spec": {"template": {"spec": {
            "containers": [{"name": service, "image": image(service, version)}]}}}})


def waiting(fake: FakeKubernetes, service: str, reason: str) -> bool:
    return any(s.get("state", {}).get("waiting", {}).get("reason") == reason
               for p in fake.pods("staging", f"app={service}")
               for s in (p.get("status", {}).get("containerStatuses") or []))


@pytest.fixture
def broken(fake_k8s: FakeKubernetes, clock: ManualClock) -> FakeKubernetes:
    """`pull`, `crash` and `pending` rolled out to v1.3.0 by hand, each failing its way."""
    for service, mode in MODES.items():
        fake_k8s.fail_next_rollout("staging", service, mode)  # type: ignore[arg-type]
        set_image(fake_k8s, service, "v1.3.0")
    fake_k8s.wait_until(lambda f: waiting(f, "pull", "ImagePullBackOff")
                        and waiting(f, "crash", "CrashLoopBackOff")
                        and any(not p["spec"].get("nodeName")
                                for p in f.pods("staging", "app=pending")), timeout=20)
    clock.advance(timedelta(minutes=3))
    return fake_k8s


def pods_of(bot: RunningBot, service: str, *, user: str = REQUESTER) -> tuple[str, str]:
    return answer(bot, command(bot, "/pods", f"staging {service}", user=user))


# -- /rollout -----------------------------------------------------------------------------

def test_rollout_of_a_healthy_service(bot: RunningBot, fake_k8s: FakeKubernetes,
                                      clock: ManualClock) -> None:
    clock.advance(timedelta(hours=1, minutes=2))
    _, shown = answer(bot, command(bot, "/rollout", "staging api"))
    assert ("*Rollout of `api` in staging* — Deployment `api` in namespace `staging`\n"
            "✅ Complete · desired *2* · updated *2* · ready *2* · available *2*") in shown
    assert "*Available* True — MinimumReplicasAvailable" in shown
    assert "*Current:* `v1.2.2` — ReplicaSet `api-" in shown
    assert "2/2 ready · created 1h 2m ago" in shown
    assert "*Previous:* none" in shown
    assert "The current rollout started Wed 2026-11-18 10:00 EST: 1h 2m ago (complete)." \
        in shown
    ((actor, details),) = audit(bot, "troubleshoot.rollout")
    assert (actor, details["executor"], details["found"], details["ok"]) == (
        REQUESTER, "kubernetes", True, True)


def test_rollout_of_a_deploy_stuck_on_unschedulable_pods(bot: RunningBot,
                                                         broken: FakeKubernetes) -> None:
    broken.wait_until(lambda f: any(
        c["type"] == "Progressing" and c["status"] == "False"
        for c in f.deployment("staging", "pending")["status"].get("conditions", [])),
        timeout=20)
    _, shown = answer(bot, command(bot, "/rollout", "staging pending"))
    assert "❌ Stuck (ProgressDeadlineExceeded) · desired *2*" in shown
    assert "❌ *Progressing* False — ProgressDeadlineExceeded" in shown
    assert "*Current:* `v1.3.0` — ReplicaSet `pending-" in shown
    assert "*Previous:* `v1.2.2` — ReplicaSet `pending-" in shown
    assert "The current rollout started Wed 2026-11-18 10:00 EST: it has run for 3m." in shown


def test_rollout_shows_deploybots_change_cause(bot: RunningBot,
                                               fake_k8s: FakeKubernetes) -> None:
    d = request(bot, "api staging v1.3.0")
    run_to_end(bot, d)
    _, shown = answer(bot, command(bot, "/rollout", "staging api"))
    assert "*Current:* `v1.3.0`" in shown and "*Previous:* `v1.2.2`" in shown
    assert "cause: " in shown and f"#{d}" in shown


# -- /pods --------------------------------------------------------------------------------

def test_pods_of_a_healthy_service(bot: RunningBot, fake_k8s: FakeKubernetes,
                                   clock: ManualClock) -> None:
    clock.advance(timedelta(minutes=25))
    _, shown = pods_of(bot, "api")
    assert "*Pods of `api` in staging* — 2 pod(s), all healthy" in shown
    assert shown.count("✅ *`api-") == 2
    assert "— `v1.2.2` · 1/1 ready · *Running*\nrestarts 0 · age 25m · node `" in shown


def test_pods_that_cannot_pull_their_image(bot: RunningBot, broken: FakeKubernetes) -> None:
    _, shown = pods_of(bot, "pull")
    lines = shown.splitlines()
    assert lines[0].startswith("*Pods of `pull` in staging* — ") and "unhealthy" in lines[0]
    assert lines[1].startswith("❌ *`pull-")  # unhealthy first
    assert "— `v1.3.0` · 0/1 ready · *ImagePullBackOff*" in lines[1]
    assert "✅ *`pull-" in shown  # the old pods keep serving
    assert "— `v1.2.2` · 1/1 ready · *Running*" in shown


def test_pods_that_crash_loop_show_their_last_termination(
        bot: RunningBot, broken: FakeKubernetes) -> None:
    _, shown = pods_of(bot, "crash")
    assert "*CrashLoopBackOff*" in shown
    assert "last termination: Error, exit 1, " in shown
    lines = shown.splitlines()
    assert lines[1].startswith("❌ *`crash-")
    restarts = [ln for ln in lines if ln.startswith("restarts ") and "last termination" in ln]
    assert restarts and not restarts[0].startswith("restarts 0 ")


def test_pods_that_cannot_be_scheduled(bot: RunningBot, broken: FakeKubernetes) -> None:
    _, shown = pods_of(bot, "pending")
    assert "*Pending*" in shown
    assert "no node" in shown
    assert "\n> 0/3 nodes are available" in shown, shown  # the scheduler's reason, quoted


# -- /events ------------------------------------------------------------------------------

def test_events_warnings_first(bot: RunningBot, broken: FakeKubernetes) -> None:
    _, shown = answer(bot, command(bot, "/events", "staging crash"))
    assert "*Events of `crash` in staging* — " in shown and "warning(s)" in shown
    lines = [ln for ln in shown.splitlines() if ln.startswith(("⚠️", "•"))]
    kinds = [ln.startswith("⚠️") for ln in lines]
    assert kinds[0] and kinds == sorted(kinds, reverse=True)  # warnings, then the rest
    assert any("*BackOff*" in ln and "`Pod/crash-" in ln for ln in lines)
    assert any("*ScalingReplicaSet*" in ln and "`Deployment/crash`" in ln for ln in lines)


def test_events_of_an_image_that_cannot_be_pulled_and_unschedulable_pods(
        bot: RunningBot, broken: FakeKubernetes) -> None:
    _, pulled = answer(bot, command(bot, "/events", "staging pull"))
    assert "⚠️ *Failed*" in pulled or "⚠️ *BackOff*" in pulled
    _, pending = answer(bot, command(bot, "/events", "staging pending"))
    assert "⚠️ *FailedScheduling*" in pending


# -- who may, and a cluster that refuses ---------------------------------------------------

def test_a_non_deployer_is_refused_and_the_cluster_never_asked(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    before = len(fake_k8s.recorded("GET", "/pods"))
    text, _ = pods_of(bot, "api", user=OUTSIDER)
    assert text.startswith("⚠️ You may not see the pods of `api` in staging: that needs the "
                           "`deployers` role")
    assert len(fake_k8s.recorded("GET", "/pods")) == before


def test_rbac_refusal_is_explained(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.forbid("list", "events", "staging")
    text, _ = answer(bot, command(bot, "/events", "staging api"))
    assert text.startswith("🔒 deploybot cannot read this about `api` in staging: "), text
    assert "events" in text and "deploy/" in text
    ((_, details),) = audit(bot, "troubleshoot.events")
    assert details["ok"] is False and "events" in str(details["error"])


def test_an_unreachable_cluster_is_try_again(bot: RunningBot,
                                             fake_k8s: FakeKubernetes) -> None:
    fake_k8s.set_unreachable(True)
    text, _ = answer(bot, command(bot, "/rollout", "staging api"))
    assert text.startswith("⏳ ") and "try again" in text, text


# -- the Pods button ------------------------------------------------------------------------

def test_the_pods_button_answers_the_clicker_with_the_deployments_pods(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    d = request(bot, "api staging v1.3.0")
    run_to_end(bot, d)
    clicked = bot.requester.click(user_id=REQUESTER, action_id=ids.SHOW_PODS, value=str(d),
                                  channel_id=CHANNEL)
    _, shown = answer(bot, clicked)
    assert "*Pods of `api` in staging* — 2 pod(s), all healthy" in shown
    assert "`v1.3.0`" in shown
    ((actor, details),) = audit(bot, "troubleshoot.pods")
    assert (actor, details["service"], details["pods"]) == (REQUESTER, "api", 2)


def test_the_pods_button_refuses_a_non_deployer(bot: RunningBot,
                                                fake_k8s: FakeKubernetes) -> None:
    d = request(bot, "api staging v1.3.0")
    run_to_end(bot, d)
    clicked = bot.requester.click(user_id=OUTSIDER, action_id=ids.SHOW_PODS, value=str(d),
                                  channel_id=CHANNEL)
    text, _ = answer(bot, clicked)
    assert text.startswith("⚠️ You may not see the pods of `api` in staging")


def test_message_limits_hold_for_many_pods(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    for apps in _apps():
        apps.patch_namespaced_deployment("api", "staging", {"spec": {"replicas": 30}})
    fake_k8s.wait_until(lambda f: len(f.pods("staging", "app=api")) == 30, timeout=20)
    reply = command(bot, "/pods", "staging api")
    (post,) = bot.requester.response_posts(reply, timeout=15)
    blocks = post.args["blocks"]
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "… and 10 more pod(s)" in blocks_text(dict(post.args))


def test_the_pods_button_of_a_failed_rollouts_thread_message(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.fail_next_rollout("staging", "crash", "crash_loop")
    d = request(bot, "crash staging v1.3.0")
    run_to_end(bot, d)
    ts = bot.deployment(d).message_ts
    evidence = [m for m in bot.slack.messages(CHANNEL) if m["thread_ts"] == ts and any(
        b.get("block_id") == ids.TROUBLESHOOT_BLOCK for b in m.get("blocks") or [])]
    assert evidence, "no thread message with the Pods and Logs buttons"
    (actions,) = [b for b in evidence[-1]["blocks"] if b.get("block_id") ==
                  ids.TROUBLESHOOT_BLOCK]
    pods = next(e for e in actions["elements"] if e["action_id"] == ids.SHOW_PODS)
    assert pods["value"] == str(d)

    clicked = bot.requester.click(user_id=REQUESTER, action_id=ids.SHOW_PODS,
                                  value=pods["value"], message=evidence[-1])
    _, shown = answer(bot, clicked)
    assert "*Pods of `crash` in staging* — " in shown
    ((actor, details),) = audit(bot, "troubleshoot.pods")
    assert (actor, details["service"], details["environment"]) == (REQUESTER, "crash",
                                                                   "staging")
