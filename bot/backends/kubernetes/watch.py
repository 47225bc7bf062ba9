"""Following an object (a Deployment being rolled out, a Job) as it changes: a WATCH stream
after a resourceVersion, or, inside a fiber (bot.fibers: the runner's deployments), paced
reads instead, as a watch stream's read would hold the fiber's thread. The callers (the
rollout, the Jobs) read the object again when the watch is quiet (`Quiet`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import urllib3
from kubernetes import watch as k8s_watch

from bot.backends.kubernetes.workload import Target
from bot.fibers import in_fiber


class Quiet(Exception):
    """The watch sent nothing for a while (a read timeout): time to look around."""


class Pace:
    """How long a fiber waits between two reads of what it follows (no watch stream in a
    fiber): `FIRST` seconds after a change, doubling while nothing changes, up to the
    `resync_every` of a quiet watch. A rollout's or Job's next step is seen within a
    fraction of a second while it moves, and a long quiet one costs a read every few
    seconds."""

    FIRST = 0.05

    def __init__(self) -> None:
        self._rv: str | None = None
        self._delay = self.FIRST

    def after(self, rv: str, *, cap: float) -> float:
        if rv != self._rv:
            self._rv, self._delay = rv, self.FIRST
        else:
            self._delay = min(cap, self._delay * 2)
        return min(cap, self._delay)


def watch(t: Target, rv: str, *, quiet_after: float, connect_timeout: float,
          sleep: Callable[[float], None], list_fn: Callable[..., Any] | None = None,
          name: str | None = None, resource: str = "deployments.apps",
          pace: Pace | None = None) -> Iterator[dict[str, Any]]:
    """Events on the Deployment (or the object `name` that `list_fn` lists) after `rv`.
    A watch the server closes is resumed by the client from the last version seen;
    errors come out as KubernetesProblem, a quiet stream as Quiet. Inside a fiber
    there is no stream: the fiber waits (`pace`, at most as long as a quiet watch
    would; holding no thread), and the caller reads the object as after one."""
    if in_fiber():
        sleep((pace or Pace()).after(rv, cap=max(quiet_after, Pace.FIRST)))
        raise Quiet()
    w = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    op = t.op("watch", resource, named=False)
    kwargs: dict[str, Any] = {
        "namespace": t.namespace, "field_selector": f"metadata.name={name or t.name}",
        "allow_watch_bookmarks": True,
        "_request_timeout": (connect_timeout, max(quiet_after, 0.05)),
    }
    if rv:
        kwargs["resource_version"] = rv
    stream = w.stream(  # type: ignore[no-untyped-call]
        list_fn or t.api.apps.list_namespaced_deployment, **kwargs)
    try:
        while True:
            try:
                event = next(stream)
            except StopIteration:
                return
            except urllib3.exceptions.ReadTimeoutError as e:
                raise Quiet() from e
            except Exception as e:
                _transient, problem = t.api.problem(e, op)
                raise problem from e
            if isinstance(event, dict):
                yield event
    finally:
        w.stop()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            stream.close()
