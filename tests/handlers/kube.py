"""Shared pieces of the end-to-end tests on a fake Kubernetes cluster (the `fake_k8s`
fixture lives in tests/handlers/conftest.py)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import KubeClients, KubernetesCluster, Timing
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import build_container
from bot.web import build_asgi
from devtools.fake_k8s import FakeKubernetes, Recorded
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from devtools.slack_requests import SlackRequester
from handlers import build_app
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, RunningBot

SIDECAR = {"name": "envoy", "image": "envoyproxy/envoy:v1.30.1"}


def images(fake: FakeKubernetes) -> dict[str, str]:
    """Container name → image of the staging `api` Deployment's pod template."""
    dep = fake.deployment("staging", "api")
    return {c["name"]: c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}


def seed_flag_stores(fake: FakeKubernetes, document: dict[str, Any]) -> None:
    """flagd's definitions `document` where the flag tests' app.yaml keeps them: production's
    in the FeatureFlag `app-flags`, staging's in the ConfigMap `flagd-flags` (flags.json)."""
    fake.seed("featureflags", "production", {
        "metadata": {"name": "app-flags"}, "spec": {"flagSpec": document}})
    fake.seed("configmaps", "staging", {
        "metadata": {"name": "flagd-flags"}, "data": {"flags.json": json.dumps(document)}})


def job_watches(fake: FakeKubernetes, name: str | None = None) -> list[Recorded]:
    """The watch requests on Jobs (on the Job `name`, if given), in order."""
    return [r for r in fake.recorded("GET", "/jobs") if r.is_watch and (
        name is None or r.query.get("fieldSelector") == f"metadata.name={name}")]


class ProcessKilled(BaseException):
    """The bot process is gone (kill -9): not an Exception, so no handler of its own runs."""


class Mortal:
    """`time.monotonic` for the Kubernetes executor of one bot process, until `kill()`: from
    then on the process's next look at the time raises ProcessKilled, wherever it is. The
    process stops dead there, leaving its lease, its Job and its Slack thread behind."""

    def __init__(self) -> None:
        self._killed = threading.Event()

    def kill(self) -> None:
        self._killed.set()

    def __call__(self) -> float:
        if self._killed.is_set():
            raise ProcessKilled("the bot process was killed")
        return time.monotonic()


@contextlib.contextmanager
def another_bot(config: AppConfig, *, database_url: str, slack: FakeSlack, clock: ManualClock,
                monotonic: Mortal) -> Iterator[RunningBot]:
    """One more deploybot process, served over HTTP like the `bot` fixture, on the same
    database, fake Slack, clock and cluster (KUBECONFIG); its Kubernetes executor (every
    service must use it) keeps time with `monotonic` and looks around every 0.1 s."""
    clients = KubeClients(config.kubernetes, kubeconfig=os.environ["KUBECONFIG"])
    routes = {}
    for name, svc in config.services.items():
        assert svc.kubernetes is not None, f"service {name} is not on Kubernetes"
        routes[name] = KubernetesCluster(name, svc.kubernetes, clients,
                                         timing=Timing(resync_every=0.1), monotonic=monotonic)
    container = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                                slack_api_url=slack.base_url, clock=clock,
                                cluster=ServiceClusters(routes), progress_every=timedelta(0))
    server = ThreadedServer(build_asgi(build_app(container, signing_secret=SIGNING_SECRET),
                                       background=container.background)).start()
    requester = SlackRequester(f"{server.url}/slack/events", SIGNING_SECRET, slack)
    try:
        yield RunningBot(container, slack, requester, server, clock)
    finally:
        requester.close()
        server.stop()
        container.close()
        clients.close()
