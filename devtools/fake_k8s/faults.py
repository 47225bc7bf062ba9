"""Fault injection: what tests (and the shell's `simulated.fail_versions`) make go wrong.

Failed rollouts (`fail_next_rollout`, `fail_rollouts_to`: ImagePullBackOff, CrashLoopBackOff
or a progress deadline), pods that crash after a finished rollout (`crash_after_ready`), Job
outcomes (`set_job_outcome`, `hold_jobs`), failing requests (`fail_requests`: 429 with
Retry-After, 5xx), RBAC denials (`forbid`), dropped or reset watches (`drop_watches`) and a
compacted history (`compact`: 410 Gone). `set_unreachable` (the server refuses connections)
lives with the server's lifecycle in devtools.fake_k8s.fake.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from devtools.fake_k8s.api import FailureMode
from devtools.fake_k8s.state import DeploymentState, JobOutcome, RequestFailure
from devtools.fake_k8s.watch import Watches


class Faults(Watches):
    """The public fault-injection methods; thread-safe."""

    def fail_next_rollout(self, namespace: str, name: str, mode: FailureMode, *,
                          healthy_first: int = 0) -> None:
        """Make the next rollout of the Deployment fail.

        ``image_pull``: new pods stay Pending with ``ImagePullBackOff``; ``crash_loop``: new
        pods run but crash (``CrashLoopBackOff``, rising ``restartCount``, last termination
        exit code 1); ``deadline``: new pods stay unschedulable and after a few ticks the
        Progressing condition turns ``False``/``ProgressDeadlineExceeded``.  In every mode the
        old pods keep serving.  The failing containers are those whose image the rollout
        changes (the first container if none does).

        "Next" is the next rollout the controller starts: after a patch it has not observed
        yet (observedGeneration behind), that is the patch's own rollout.

        ``healthy_first``: that many of its new pods come up healthy before the failure
        starts (e.g. the nodes had room for two new pods only): the rollout stops part way,
        the old ReplicaSet scaled down as far as the available new pods allow.
        """
        if mode not in ("image_pull", "crash_loop", "deadline"):
            raise ValueError(f"unknown failure mode {mode!r}")
        if healthy_first < 0:
            raise ValueError(f"healthy_first must be 0 or more, not {healthy_first}")
        with self._cond:
            state = self._deploy_state.setdefault((namespace, name), DeploymentState())
            state.pending_failure = mode
            state.pending_healthy_first = healthy_first

    def fail_rollouts_to(
        self, namespace: str, name: str, images: Callable[[str], bool], mode: FailureMode
    ) -> None:
        """Make every later rollout of the Deployment fail as :meth:`fail_next_rollout` says
        when ``images(image)`` is true for an image it rolls out (of the containers whose
        image it changes): a standing rule, e.g. "versions ending in -bad cannot be pulled".
        :meth:`fail_next_rollout` wins over it; the rollout that creates the Deployment
        (:meth:`add_deployment`) is exempt.
        """
        if mode not in ("image_pull", "crash_loop", "deadline"):
            raise ValueError(f"unknown failure mode {mode!r}")
        with self._cond:
            self._deploy_state.setdefault(
                (namespace, name), DeploymentState()
            ).image_failures.append((images, mode))

    def crash_after_ready(self, namespace: str, name: str, *, restarts: int = 3,
                          once_seen: bool = False) -> None:
        """The next rollout completes; a few ticks later its new pods start crash-looping.

        Their ``restartCount`` rises by one per tick up to ``restarts`` and they turn not
        ready with ``CrashLoopBackOff`` (so the Deployment loses its ready replicas).
        With ``once_seen`` the crash starts on the tick after a client first GETs the
        completed Deployment instead of a few ticks after completion: a test of what happens
        *after* the bot saw the rollout complete (its watch) does not depend on how soon,
        on a loaded machine, the bot read it.
        """
        with self._cond:
            state = self._deploy_state.setdefault((namespace, name), DeploymentState())
            state.pending_crash = max(1, restarts)
            state.pending_crash_once_seen = once_seen

    def set_job_outcome(
        self, namespace: str, name_prefix: str, *, succeed: bool, logs: str
    ) -> None:
        """Jobs named ``name_prefix...`` succeed (or fail) after a few ticks, logging ``logs``.

        The longest matching prefix wins; unmatched Jobs succeed with the logs ``"ok"``.  A
        failing Job runs ``backoffLimit + 1`` pods before it is marked Failed.
        """
        with self._cond:
            self._job_outcomes[(namespace, name_prefix)] = JobOutcome(succeed, logs)

    def hold_jobs(self, namespace: str, name_prefix: str) -> None:
        """Keep Jobs named ``name_prefix...`` running (their pod started, not finished) until
        :meth:`release_jobs`; they then finish on the next tick as :meth:`set_job_outcome` says.
        """
        with self._cond:
            self._held_jobs.add((namespace, name_prefix))

    def release_jobs(self, namespace: str, name_prefix: str) -> None:
        """Undo :meth:`hold_jobs`."""
        with self._cond:
            self._held_jobs.discard((namespace, name_prefix))
            self._cond.notify_all()

    def fail_requests(
        self, method: str, path_pattern: str, *, status: int = 500, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and a ``Status`` body.

        ``method`` is an HTTP method, ``"*"``, or ``"WATCH"`` (watch GETs only);
        ``path_pattern`` is a regex searched in the path and in the path with its query
        string.  429 answers carry ``Retry-After: 1``.
        """
        with self._cond:
            self._failures.append(
                RequestFailure(method.upper(), re.compile(path_pattern), status, times)
            )

    def forbid(self, verb: str, resource: str, namespace: str) -> None:
        """Answer ``verb`` on ``resource`` in ``namespace`` with 403 Forbidden (RBAC-style).

        Verbs are the RBAC ones (get, list, watch, create, update, patch, delete); resources
        are plurals, optionally with a subresource (``pods/log``) or group
        (``deployments.apps``); any of the three may be ``"*"``.
        """
        plural = resource.split(".", 1)[0] if "/" not in resource else resource
        with self._cond:
            self._forbidden.add((verb.lower(), plural, namespace))

    def allow(self, verb: str, resource: str, namespace: str) -> None:
        """Undo :meth:`forbid`."""
        plural = resource.split(".", 1)[0] if "/" not in resource else resource
        with self._cond:
            self._forbidden.discard((verb.lower(), plural, namespace))

    def drop_watches(self, *, after_events: int = 1, abrupt: bool = False) -> None:
        """Close watch streams after ``after_events`` more events.

        Applies to every watch open now, or, if none is open, to the next one opened.  The
        stream ends cleanly (like an API server timeout, the client's ``Watch`` reconnects
        from the last resourceVersion) or, with ``abrupt=True``, the connection is reset
        mid-stream (the client sees a protocol error).
        """
        with self._cond:
            streams = self._live_watches()
            for stream in streams:
                stream.drop_after = stream.sent + after_events
                stream.abrupt = abrupt
            if not streams:
                self._pending_drop = (after_events, abrupt)
            self._cond.notify_all()

    @property
    def open_watches(self) -> int:
        """How many watch streams are open now (clients that hung up are not counted)."""
        with self._cond:
            return len(self._live_watches())

    def compact(self) -> None:
        """Forget history: a watch from an older resourceVersion now gets 410 Gone."""
        with self._cond:
            self._floor_rv = self._rv
