"""Issue 16, "failures explain themselves", end to end over signed Slack HTTP on the fake
Kubernetes API: when a rollout fails, the deployment's thread gets what the cluster shows —
the failing container's last log lines (secrets masked), its last termination reason and
exit code, the warning events — gathered before the automatic rollback replaces the pods,
with Pods / Logs buttons that answer the person who clicks. A service on the simulated
executor has no pods to show: its thread gets no such message."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, RunningBot, base_config
from tests.handlers.spine import blocks_text, ephemeral_text, thread_replies
from tests.handlers.test_kubernetes_failed_rollout import deployed, kubernetes_config

SECRET = "hunter2-s3cret"
CRASH_LOG = [
    "2026-12-04T12:55:01Z INFO booting api v1.2.4-crash",
    f"2026-12-04T12:55:01Z INFO connecting to postgres://app:{SECRET}@db.internal:5432/app",
    "2026-12-04T12:55:02Z ERROR KeyError: 'PAYMENTS_URL'",
    "2026-12-04T12:55:02Z FATAL exiting with code 1",
]


def evidence_message(bot: RunningBot, deployment_id: int) -> dict[str, Any]:
    """The thread reply carrying the Pods / Logs buttons."""
    d = bot.deployment(deployment_id)
    assert d.message_ts is not None
    found = [m for m in thread_replies(bot, d.message_ts)
             if any(b.get("block_id") == ids.TROUBLESHOOT_BLOCK
                    for b in m.get("blocks") or [])]
    assert len(found) == 1, [blocks_text(m) for m in thread_replies(bot, d.message_ts)]
    return found[0]


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message["blocks"]:
        for el in block.get("elements") or []:
            if el.get("action_id") == action_id:
                return dict(el)
    raise AssertionError(f"no {action_id} in {blocks_text(message)}")


class TestCrashLoopingRollout:
    @pytest.fixture
    def config_data(self, fake_k8s: FakeKubernetes) -> dict[str, Any]:
        return kubernetes_config(auto_rollback=True)

    def test_the_thread_gets_the_log_tail_termination_and_events_before_the_rollback(
        self, bot: RunningBot, fake_k8s: FakeKubernetes,
    ) -> None:
        fake_k8s.fail_rollouts_to("staging", "api", lambda image: image.endswith("-crash"),
                                  "crash_loop")
        fake_k8s.set_logs("staging", "api", container="api", lines=CRASH_LOG,
                          previous=CRASH_LOG)
        assert deployed(bot, "v1.2.3", 1) is State.SUCCEEDED
        assert deployed(bot, "v1.2.4-crash", 2) is State.ROLLED_BACK

        msg = evidence_message(bot, 2)
        text = blocks_text(msg)
        # The failing pod of the failed version (read before the rollback removed it).
        assert "v1.2.4-crash" in text and "CrashLoopBackOff" in text, text
        assert 'container "api" last ended: *Error*, exit code 1' in text, text
        # Its crashed run's last lines, the password in the connection string masked.
        assert "previous (crashed) run" in text, text
        assert "KeyError: 'PAYMENTS_URL'" in text, text
        assert SECRET not in text and "postgres://app:" in text, text
        # The kubelet's back-off, as a warning event of the pod.
        assert "*BackOff*" in text and "Back-off restarting failed container" in text, text
        assert button(msg, ids.SHOW_PODS)["value"] == "2"
        assert button(msg, ids.SHOW_LOGS)["value"] == "2"

        # Pods answers the clicker alone, with live pods of the service.
        click = bot.requester.click(user_id=APPROVER, action_id=ids.SHOW_PODS, value="2",
                                    message=msg)
        assert click.status == 200, click.body
        assert "api" in ephemeral_text(bot, click)


class TestUnpullableImage:
    @pytest.fixture
    def config_data(self, fake_k8s: FakeKubernetes) -> dict[str, Any]:
        return kubernetes_config(auto_rollback=False)

    def test_the_thread_says_why_the_container_never_started(
        self, bot: RunningBot, fake_k8s: FakeKubernetes,
    ) -> None:
        fake_k8s.fail_rollouts_to("staging", "api", lambda image: image.endswith("-bad"),
                                  "image_pull")
        assert deployed(bot, "v1.2.3", 1) is State.SUCCEEDED
        assert deployed(bot, "v1.2.4-bad", 2) is State.FAILED

        text = blocks_text(evidence_message(bot, 2))
        assert "ImagePullBackOff" in text or "ErrImagePull" in text, text
        assert "log line" not in text, text  # it never ran: there is no log to show
        assert "*Failed*" in text or "*BackOff*" in text, text


class TestSimulatedExecutor:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(simulated={"fail_versions": "-bad$"})

    def test_no_evidence_message_where_the_executor_has_no_pods(self, bot: RunningBot) -> None:
        assert deployed(bot, "v1.2.3", 1) is State.SUCCEEDED
        assert deployed(bot, "v1.2.4-bad", 2) is State.FAILED
        d = bot.deployment(2)
        assert d.message_ts is not None
        assert not any(b.get("block_id") == ids.TROUBLESHOOT_BLOCK
                       for m in thread_replies(bot, d.message_ts)
                       for b in m.get("blocks") or [])


class TestCrashInTheBakeWindow:
    """A version that went live and then crashed while watched: the watch fails, and the
    thread is told about the pod that restarted before the rollback replaces it."""

    @pytest.fixture
    def config_data(self, fake_k8s: FakeKubernetes) -> dict[str, Any]:
        cfg = kubernetes_config(auto_rollback=True)
        cfg["environments"]["staging"]["verify"]["bake"] = "5m"
        return cfg

    def test_the_failed_watch_explains_itself_too(
        self, bot: RunningBot, fake_k8s: FakeKubernetes,
    ) -> None:
        fake_k8s.crash_after_ready("staging", "api", restarts=3, once_seen=True)
        fake_k8s.set_logs("staging", "api", container="api", lines=CRASH_LOG,
                          previous=CRASH_LOG, images=lambda image: image.endswith("v1.2.3"))
        assert deployed(bot, "v1.2.3", 1) is State.ROLLED_BACK
        d = bot.deployment(1)
        assert d.error is not None and d.error.startswith("failed verification: "), d.error

        text = blocks_text(evidence_message(bot, 1))
        assert "v1.2.3" in text and "restart" in text, text
        assert "KeyError: 'PAYMENTS_URL'" in text and SECRET not in text, text
