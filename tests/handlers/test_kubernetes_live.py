"""Live state through the fake Kubernetes API, end to end over signed Slack HTTP: drift
(someone else's `kubectl set image`) shown in status, announced once and audited, rollback
working from the live version; deploybot's last record, marked last known with the cause,
while the cluster cannot be read; a failed rollout never left silently half-applied."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, RunningBot, base_config
from tests.handlers.spine import announcements, blocks_text, request, run_to_end
from tests.handlers.test_kubernetes_rollback import IMAGE, set_image
from tests.handlers.test_status import lines_under, status


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
        environments={"staging": {}},
    )


def staging_line(bot: RunningBot) -> str:
    (line,) = [ln for ln in lines_under(status(bot, "/deploy", "status"), "Running now")
               if "`staging` /" in ln]
    return line


def settled(fake: FakeKubernetes) -> bool:
    """The controller observed the latest change and every replica is updated and available."""
    dep = fake.deployment("staging", "api")
    st = dep.get("status") or {}
    want = dep["spec"].get("replicas", 1)
    return (st.get("observedGeneration") == dep["metadata"].get("generation")
            and st.get("updatedReplicas") == want == st.get("availableReplicas")
            and st.get("replicas") == want)


def drift_events(bot: RunningBot) -> int:
    with bot.container.database.engine.connect() as conn:
        return len(conn.exec_driver_sql(
            "SELECT id FROM audit_events WHERE action = 'drift.detected'").all())


def test_a_version_deploybot_did_not_put_there_is_drift(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert "changed outside deploybot" not in staging_line(bot)

    set_image(kubectl, fake_k8s, "v1.2.5")  # kubectl set image, not deploybot
    fake_k8s.wait_until(settled)

    line = staging_line(bot)
    assert line.startswith("• `staging` / `api`: `v1.2.5` since "), line
    assert "⚠️ changed outside deploybot" in line and "deploybot last deployed `v1.2.3`" in line
    staging_line(bot)  # seen again: announced and audited once
    assert drift_events(bot) == 1
    drift = [a for a in announcements(bot) if "changed outside deploybot" in blocks_text(a)]
    assert len(drift) == 1, [blocks_text(a) for a in announcements(bot)]
    assert "runs `v1.2.5`" in blocks_text(drift[0])

    # /rollback works from what runs: back from v1.2.5, not from deploybot's v1.2.3.
    reply = bot.requester.command("/rollback", "staging", user_id=APPROVER)
    (post,) = bot.requester.response_posts(reply)
    assert "back from `v1.2.5` to `v1.2.3`" in str(post.args["text"]), post.args["text"]


def test_while_the_cluster_cannot_be_read_status_shows_the_last_known_version(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    fake_k8s.fail_requests("GET", "/deployments/api", status=403, times=5)
    line = staging_line(bot)
    assert line.startswith("• `staging` / `api`: `v1.2.3` since "), line
    assert "last known (deploybot's record): the cluster could not be read" in line, line
    assert drift_events(bot) == 0


def test_while_the_cluster_is_unreachable_status_shows_the_last_known_version(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    fake_k8s.stop()  # the API server is gone: connections are refused
    line = staging_line(bot)
    assert line.startswith("• `staging` / `api`: `v1.2.3` since "), line
    assert "last known (deploybot's record): the cluster could not be read" in line, line
    assert "reach" in line or "unreachable" in line or "connect" in line, line
