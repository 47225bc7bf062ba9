"""`FakeKubernetes`: the fake API server put together — its lifecycle (a server thread and a
controller thread stepping every `tick` seconds), seeding (`add_deployment`), waiting
(`wait_until`) and the parts it is made of (devtools.fake_k8s: routes, verbs, watch, store,
rollouts, jobs, pods, faults).
"""

from __future__ import annotations

import copy
import errno
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from devtools.fake_k8s.api import JSONDict, wall_clock
from devtools.fake_k8s.faults import Faults
from devtools.fake_k8s.jobs import Jobs
from devtools.fake_k8s.routes import Routes
from devtools.fake_k8s.state import DeploymentState
from devtools.fake_k8s.wire import Server
from devtools.httpbits import StartStop


class FakeKubernetes(Routes, Jobs, Faults, StartStop):
    """A fake Kubernetes API server with a toy Deployment/Job controller.

    Use as a context manager (``with FakeKubernetes() as k8s:``) or ``start()``/``stop()``.
    All public methods are thread-safe; returned objects are copies.
    """

    def __init__(self, *, tick: float = 0.02,
                 clock: Callable[[], datetime] = wall_clock) -> None:
        """``tick``: seconds between the controller's passes. ``clock``: the cluster's wall
        clock (an aware datetime), for every timestamp the fake writes (creation times,
        condition times, pod start times) and for the ``Date`` header of its answers, as the
        API server's and controller's clocks agree in a real cluster; the real time unless a
        test or the shell passes its own."""
        super().__init__(tick=tick, clock=clock)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeKubernetes:
        """Bind 127.0.0.1 on a free port, serve and run the controller. Idempotent."""
        if self._controller is not None:
            return self
        self._stopping = False
        self._controller_stop.clear()
        self._serve()
        if self._unreachable:
            self._shutdown_server()
        self._controller = threading.Thread(
            target=self._run_controller, name=f"FakeKubernetes:{self._port}:controller", daemon=True
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop the controller, end open watches, close the server and its connections."""
        controller = self._controller
        if controller is None:
            return
        self._controller = None
        self._controller_stop.set()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        controller.join(timeout=5.0)
        self._shutdown_server()

    def _serve(self) -> None:
        server: Server | None = None
        for attempt in range(50):
            try:
                server = Server(self, self._port)
                break
            except OSError as exc:  # the old socket may linger for a moment on re-bind
                if exc.errno != errno.EADDRINUSE or attempt == 49:
                    raise
                time.sleep(0.02)
        assert server is not None
        self._port = int(server.server_address[1])
        self._server = server
        server.serve_in_thread(f"FakeKubernetes:{self._port}")

    def _shutdown_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("FakeKubernetes is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(
        self, path: str | Path, *, context: str = "fake", namespace: str = "default"
    ) -> str:
        """Write a kubeconfig for :attr:`base_url` (plain http, a dummy token); return its path.

        The file is JSON, which is valid YAML for the kubeconfig loader.
        """
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.base_url}}],
            "users": [{"name": context, "user": {"token": "fake-token"}}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": context, "namespace": namespace},
                }
            ],
            "current-context": context,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return str(target)

    def set_unreachable(self, on: bool) -> None:
        """Refuse connections (and reset open ones) while ``on``; serve again on the same port."""
        with self._cond:
            if self._unreachable == on:
                return
            self._unreachable = on
        if not self.running:
            return
        if on:
            self._shutdown_server()
        else:
            self._serve()

    # ------------------------------------------------------------------ seeding and waiting

    def add_deployment(
        self,
        namespace: str,
        name: str,
        *,
        containers: list[dict[str, Any]],
        replicas: int = 3,
        labels: dict[str, str] | None = None,
        progress_deadline_seconds: int = 600,
        service_account: str = "api",
        env: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Create a Deployment that is already fully rolled out (RS and ready pods exist).

        ``labels`` (default ``{"app": name}``) become the selector and the pod labels; ``env``
        goes to the first container unless that container has its own ``env``.  Returns the
        Deployment as the API would.
        """
        if not containers:
            raise ValueError("a Deployment needs at least one container")
        labels = dict(labels or {"app": name})
        pod_containers: list[JSONDict] = []
        for i, spec in enumerate(containers):
            container = copy.deepcopy(spec)
            if "name" not in container or "image" not in container:
                raise ValueError(f"container {spec!r} needs a name and an image")
            if i == 0 and env is not None:
                container.setdefault("env", copy.deepcopy(env))
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("resources", {})
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            pod_containers.append(container)
        with self._cond:
            if (namespace, name) in self._store["deployments"]:
                raise ValueError(f"deployment {namespace}/{name} already exists")
            obj: JSONDict = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": self._new_metadata(namespace, name, labels=dict(labels)),
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": {
                        "metadata": {"labels": dict(labels), "annotations": {}},
                        "spec": {
                            "containers": pod_containers,
                            "serviceAccountName": service_account,
                            "serviceAccount": service_account,
                            "restartPolicy": "Always",
                            "terminationGracePeriodSeconds": 30,
                            "dnsPolicy": "ClusterFirst",
                            "securityContext": {},
                            "schedulerName": "default-scheduler",
                        },
                    },
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": progress_deadline_seconds,
                },
                "status": {},
            }
            self._write("deployments", obj, "ADDED")
            # Roll the first version out synchronously: the deployment starts healthy, and
            # faults armed before it existed wait for the next rollout.
            state = self._deploy_state.setdefault((namespace, name), DeploymentState())
            armed = (state.pending_failure, state.pending_crash, state.image_failures,
                     state.pending_crash_once_seen, state.pending_healthy_first)
            state.pending_failure = state.pending_crash = None
            state.pending_crash_once_seen = False
            state.image_failures = []
            for _ in range(replicas * 2 + 4):
                self._reconcile_deployment(namespace, name)
                if state.rollout is not None and state.rollout.done:
                    break
            (state.pending_failure, state.pending_crash, state.image_failures,
             state.pending_crash_once_seen, state.pending_healthy_first) = armed
            self._cond.notify_all()
            return self.deployment(namespace, name)

    def wait_until(self, condition: Callable[[FakeKubernetes], bool], timeout: float = 5.0) -> None:
        """Block until ``condition(self)`` is true (re-checked on every write/tick)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met within {timeout:.2f}s")
                self._cond.wait(min(remaining, 0.1))

    # ------------------------------------------------------------------ controller

    def _run_controller(self) -> None:
        while not self._controller_stop.wait(self.tick):
            try:
                with self._cond:
                    self._step()
            except Exception:  # pragma: no cover - a bug in the fake itself
                traceback.print_exc(file=sys.stderr)

    def _step(self) -> None:
        self._tick_no += 1
        for namespace, name in sorted(self._store["deployments"]):
            self._reconcile_deployment(namespace, name)
        for namespace, name in sorted(self._store["jobs"]):
            self._reconcile_job(namespace, name)
        self._cond.notify_all()
