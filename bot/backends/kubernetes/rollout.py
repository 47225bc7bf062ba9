"""Rolling an image out to a service's Deployment (or a per-PR instance's) and following the
rollout to its end.

`rollout`
1. reads the Deployment (creating a per-PR instance's from the shared one on its first
   deploy) and compares the image of the configured containers with the target; the same
   image with a finished rollout is nothing to do;
2. PATCHes it with a strategic-merge patch that names only the configured containers (the
   list merges by name, so sidecars keep their image) and records the change cause and
   deploybot's deployment id in annotations;
3. follows the rollout with a WATCH on the Deployment from the patch's resourceVersion until
   `observedGeneration >= generation` and every replica is updated and available and no old
   one is left, reporting "3/5 pods updated, 2 available" whenever that changes. When the
   watch is quiet for `Timing.resync_every` (and at most that often while it is busy) the
   Deployment is read again and the new ReplicaSet's pods are looked at: image pull errors
   and crash loops fail the deploy at once with their cause, without waiting for the
   Deployment's progress deadline. A ProgressDeadlineExceeded condition fails it only when
   it is about this rollout: set no earlier than the patch (the API server's `Date`) and
   naming the ReplicaSet of the patched template (bot.backends.kubernetes.status).

A dropped watch resumes from the last resourceVersion seen, and a 410 Gone (that version was
compacted away) re-lists and watches on from the list's version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.backends.kubernetes.api import KubernetesProblem
from bot.backends.kubernetes.objects import CHANGE_CAUSE, DEPLOYMENT_ID, meta_of, took
from bot.backends.kubernetes.pods import diagnose_pods, unschedulable
from bot.backends.kubernetes.previews import preview_deployment
from bot.backends.kubernetes.status import (
    deadline_counts,
    deadline_is_stale,
    named_replica_set,
    owning_replica_set,
    rollout_status,
)
from bot.backends.kubernetes.watch import Pace, Quiet, watch
from bot.backends.kubernetes.workload import Target, Workload
from bot.fibers import in_fiber

log = logging.getLogger(__name__)

STRATEGIC_MERGE = "application/strategic-merge-patch+json"


def rollout(w: Workload, environment: str, image: str, *, progress: Callable[[str], None],
            change_cause: str, deployment_id: int | None = None,
            instance: str | None = None) -> bool:
    """Set the configured containers to `image` and follow the rollout to its end.

    False when that image runs already and nothing is rolling out (nothing was done);
    a KubernetesProblem when the rollout fails. Deployment `deployment_id` finds its
    own patch again after a restart and follows the rollout instead. `instance`: the
    per-PR instance's Deployment, created from the shared one when it is not there."""
    t = w.target(environment, instance)
    created = None
    if instance is not None:
        try:
            dep = w.read(t)
        except KubernetesProblem as e:
            if e.kind != "not_found":
                raise
            created = _create_instance(w, t, instance, image, change_cause, deployment_id)
            dep = created if created is not None else w.read(t)
    else:
        dep = w.read(t)
    current = w.images(t, dep)
    annotations = meta_of(dep).get("annotations") or {}
    ours = deployment_id is not None and annotations.get(DEPLOYMENT_ID) == str(deployment_id)
    patched_at: datetime | None = None
    if created is not None:
        start: Mapping[str, Any] = created
    elif all(img == image for img in current.values()):
        # Applied already: by an earlier attempt of this deployment (a restart resumes
        # it), or by someone else. Follow a rollout still under way; else nothing to do.
        if not ours and rollout_status(dep).done:
            return False
        log.info("%s/%s already has %s; following its rollout", t.namespace, t.name, image)
        start = dep
    else:
        start, patched_at = _patch(w, t, image, change_cause, deployment_id)
    try:
        _follow(w, t, start, image, progress, patched_at)
    except KubernetesProblem as e:
        if e.kind in ("unreachable", "forbidden", "unauthorized", "api", "gone"):
            raise KubernetesProblem(
                f"{e} — following the rollout of {image}, which was applied to Deployment "
                f'"{t.name}" in namespace "{t.namespace}": it may still finish',
                kind=e.kind) from e
        raise
    return True


def _create_instance(w: Workload, t: Target, instance: str, image: str, change_cause: str,
                     deployment_id: int | None) -> dict[str, Any] | None:
    """Create the per-PR instance's Deployment from the shared one, running `image`;
    None when it exists already (created by an earlier attempt or another process)."""
    shared = w.read(w.target(t.environment))
    w.images(t, shared)  # the configured containers must be there
    annotations = {CHANGE_CAUSE: change_cause}
    if deployment_id is not None:
        annotations[DEPLOYMENT_ID] = str(deployment_id)
    body = preview_deployment(shared, name=t.name, instance=instance, image=image,
                              containers=w.containers, annotations=annotations)
    try:
        created: dict[str, Any] = t.api.call(
            t.op("create", named=False), t.api.apps.create_namespaced_deployment,
            t.namespace, body)
    except KubernetesProblem as e:
        if e.kind == "api" and "409" in str(e):  # AlreadyExists
            return None
        raise
    log.info("created %s/%s for %s from %s", t.namespace, t.name, instance, w.deployment)
    return created


def _patch(w: Workload, t: Target, image: str, change_cause: str,
           deployment_id: int | None) -> tuple[dict[str, Any], datetime | None]:
    """PATCH the image in; the Deployment it answered and when (the API server's clock)."""
    annotations = {CHANGE_CAUSE: change_cause}
    if deployment_id is not None:
        annotations[DEPLOYMENT_ID] = str(deployment_id)
    body = {
        "metadata": {"annotations": annotations},
        # A strategic merge patch merges `containers` by name: only these change.
        "spec": {"template": {"spec": {"containers": [
            {"name": c, "image": image} for c in w.containers
        ]}}},
    }
    patched, at = t.api.call_dated(
        t.op("patch"), t.api.apps.patch_namespaced_deployment, t.name, t.namespace, body,
        _content_type=STRATEGIC_MERGE,
    )
    log.info("patched %s/%s to %s (%s)", t.namespace, t.name, image, change_cause)
    return dict(patched), at


def _follow(w: Workload, t: Target, start: Mapping[str, Any], image: str,
            progress: Callable[[str], None], patched_at: datetime | None = None) -> None:
    """Follow the rollout of `image` from `start` to its end. `patched_at`: when our
    patch was applied (the API server's clock), None when unknown (resumed): a
    ProgressDeadlineExceeded condition from before it is about an earlier rollout."""
    timing = w.timing
    pace = Pace()
    now = w.monotonic
    began = now()
    deadline = began + w.config.progress_deadline.total_seconds()
    shown: list[Any] = [None, began]  # last text, when
    last_look = [began]  # when the pods were last looked at

    def report(text: str | None) -> None:
        if text is None:
            return
        at = now()
        if text != shown[0] or at - shown[1] >= timing.keepalive_every:
            shown[0], shown[1] = text, at
            progress(text)

    def step(dep: Mapping[str, Any], *, look: bool) -> bool:
        """True when the rollout is complete; raises when it failed."""
        changed = w.images(t, dep)
        if any(img != image for img in changed.values()):
            other = next(img for img in changed.values() if img != image)
            raise KubernetesProblem(
                f'the Deployment "{t.name}" was changed to {other} while {image} was '
                "rolling out (another deploy?); stopped following it", kind="rollout")
        st = rollout_status(dep)
        if st.done:
            report(st.text)
            return True
        if st.deadline is not None and _deadline_counts(w, t, dep, st.deadline, patched_at):
            why = _why_stuck(w, t, dep, image)
            raise KubernetesProblem(
                f'the rollout of {image} to Deployment "{t.name}" in namespace '
                f'"{t.namespace}" made no progress within its progress deadline '
                f"(ProgressDeadlineExceeded: {st.deadline_exceeded})"
                + (f"; {why}" if why else ""), kind="rollout")
        report(st.text)
        if look or now() - last_look[0] >= timing.resync_every:
            last_look[0] = now()
            fatal = diagnose_pods(w.new_pods(t, dep, image))
            if fatal:
                raise KubernetesProblem(fatal, kind="rollout")
        return False

    if step(start, look=False):
        return
    rv = str(meta_of(start).get("resourceVersion") or "")
    failures = 0
    while True:
        left = deadline - now()
        if left <= 0:
            raise KubernetesProblem(
                f'the rollout of {image} to Deployment "{t.name}" in namespace '
                f'"{t.namespace}" did not finish within '
                f"{took(w.config.progress_deadline.total_seconds())} "
                f"(services.{w.service}.kubernetes.progress_deadline); last seen: "
                f"{shown[0] or 'not started'}", kind="rollout")
        try:
            for event in watch(t, rv, quiet_after=min(timing.resync_every, left),
                               connect_timeout=timing.connect_timeout, sleep=w.sleep,
                               pace=pace):
                failures = 0
                kind, obj = event["type"], event["raw_object"]
                if kind == "DELETED":
                    raise KubernetesProblem(
                        f'Deployment "{t.name}" in namespace "{t.namespace}" was deleted '
                        "during the rollout", kind="rollout")
                rv = str(meta_of(obj).get("resourceVersion") or rv)
                if kind == "BOOKMARK":
                    continue
                if step(obj, look=False):
                    return
                if now() >= deadline:
                    break
            continue  # the stream ended (deadline): check it, watch on
        except Quiet:
            pass  # look around below
        except KubernetesProblem as e:
            if e.kind == "gone":  # our resourceVersion was compacted away: list again
                log.info("%s/%s: watch expired (%s); listing again", t.namespace, t.name, e)
                dep, rv = _list(t)
                if step(dep, look=True):
                    return
                continue
            if e.kind != "unreachable":
                raise
            failures += 1
            if failures >= timing.backoff.attempts:
                raise KubernetesProblem(f"{e} (gave up after {failures} attempts)",
                                        kind=e.kind) from e
            log.info("%s/%s: watch failed (%s); resuming from %s", t.namespace, t.name,
                     e, rv)
            w.sleep(timing.backoff.delay(failures))
            continue
        # Quiet: nothing changed for a while. Read it again (a missed event cannot hide
        # the end) and look at the new pods (a crash loop does not change the Deployment).
        # In a fiber this is every read, as often as every 50 ms while the rollout moves:
        # the pods are looked at when `resync_every` has passed since the last look, not
        # at each read (three requests a read would be the process's CPU at scale).
        dep = w.read(t)
        rv = str(meta_of(dep).get("resourceVersion") or rv)
        if step(dep, look=not in_fiber()):
            return


def _deadline_counts(w: Workload, t: Target, dep: Mapping[str, Any], cond: Mapping[str, Any],
                     patched_at: datetime | None) -> bool:
    """deadline_counts for this Deployment, listing its ReplicaSets only when the
    condition's time does not settle it."""
    if deadline_is_stale(cond, patched_at=patched_at):
        log.debug("%s/%s: ProgressDeadlineExceeded from before the patch; waiting",
                  t.namespace, t.name)
        return False
    if named_replica_set(cond) is None:
        return True
    rs = owning_replica_set(dep, w.replica_sets(t, dep), w.containers)
    counts = deadline_counts(cond, patched_at=patched_at,
                             new_replica_set=str(meta_of(rs).get("name")) if rs else None)
    if not counts:
        log.debug("%s/%s: ProgressDeadlineExceeded about another ReplicaSet (%s); waiting",
                  t.namespace, t.name, cond.get("message"))
    return counts


def _list(t: Target) -> tuple[dict[str, Any], str]:
    found = t.api.call(t.op("list", named=False), t.api.apps.list_namespaced_deployment,
                       t.namespace, field_selector=f"metadata.name={t.name}")
    items = found.get("items") or []
    if not items:
        raise KubernetesProblem(
            f'Deployment "{t.name}" in namespace "{t.namespace}" disappeared during the '
            "rollout", kind="rollout")
    dep: dict[str, Any] = items[0]
    return dep, str(meta_of(found).get("resourceVersion") or meta_of(dep)["resourceVersion"])


def _why_stuck(w: Workload, t: Target, dep: Mapping[str, Any], image: str) -> str | None:
    try:
        pods = w.new_pods(t, dep, image)
    except KubernetesProblem:
        return None
    return diagnose_pods(pods) or unschedulable(pods)
