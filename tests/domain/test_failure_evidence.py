"""bot.domain.failure_evidence: which pod of a failed version the thread message is about."""

from __future__ import annotations

from bot.domain.failure_evidence import FailureEvidence, failing_pod
from bot.domain.workloads import PodView, Termination


def pod(name: str, *, version: str = "v2", phase: str = "Running", ready: int = 1,
        waiting: str | None = None, restarts: int = 0,
        unschedulable: str | None = None) -> PodView:
    return PodView(name=name, version=version, ready=ready, containers=1, phase=phase,
                   waiting_reason=waiting, waiting_message=None, restarts=restarts,
                   last_termination=Termination("Error", 1, None) if restarts else None,
                   container="api", created=None, node="node-1", unschedulable=unschedulable)


def test_a_waiting_pod_comes_before_one_that_restarted_more() -> None:
    pods = [pod("a", restarts=5), pod("b", ready=0, waiting="CrashLoopBackOff", restarts=2),
            pod("c")]
    chosen = failing_pod(pods, "v2")
    assert chosen is not None and chosen.name == "b"


def test_a_pod_that_restarted_counts_even_when_it_is_up_again() -> None:
    chosen = failing_pod([pod("a"), pod("b", restarts=3)], "v2")
    assert chosen is not None and chosen.name == "b"


def test_pods_of_other_versions_and_healthy_pods_are_not_the_failure() -> None:
    assert failing_pod([pod("old", version="v1", ready=0, waiting="CrashLoopBackOff"),
                        pod("new")], "v2") is None
    assert failing_pod([], "v2") is None


def test_a_scheduled_pod_comes_before_an_unschedulable_one_with_as_many_restarts() -> None:
    pods = [pod("p", phase="Pending", ready=0, unschedulable="0/3 nodes are available"),
            pod("q", phase="Running", ready=0)]
    chosen = failing_pod(pods, "v2")
    assert chosen is not None and chosen.name == "q"


def test_evidence_with_nothing_read_is_empty() -> None:
    assert FailureEvidence("production", "api", "v2", pod=None).empty
    assert not FailureEvidence("production", "api", "v2", pod=None,
                               unread=("pods: forbidden",)).empty
