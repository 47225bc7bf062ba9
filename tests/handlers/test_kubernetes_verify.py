"""End to end: the watch after a rollout on a (fake) Kubernetes API server. The bake window
runs on the test's ManualClock, which the bot's waits move on."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import WEDNESDAY, RunningBot, base_config
from tests.handlers.kube import SIDECAR, images
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    dms,
    ephemeral_text,
    has_buttons,
    run_to_end,
    thread_replies,
)


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    cfg = base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )
    cfg["environments"]["staging"] = {"verify": {"bake": "5m", "auto_rollback": True}}
    return cfg


def test_a_healthy_deploy_is_watched_for_the_bake_window_and_recorded_verified(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.SUCCEEDED
    d = bot.deployment(1)
    assert d.progress == "verified: watched 5m00s, pods healthy"
    assert d.finished_at is not None and d.finished_at >= WEDNESDAY.replace(minute=5)
    record = blocks_text(thread_replies(bot, d.message_ts or "")[0])
    assert "Post-deployment checks — verified: watched 5m00s, pods healthy" in record
    assert images(fake_k8s)["api"] == "ghcr.io/acme/api:v1.2.3"


def test_pods_crashing_in_the_bake_window_fail_verification_and_roll_back_automatically(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    # The crash starts once the bot has read the rollout complete: in its watch, however
    # late a loaded machine lets it look.
    fake_k8s.crash_after_ready("staging", "api", restarts=3, once_seen=True)
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.ROLLED_BACK
    # The Deployment runs the previous version again; the sidecar was never touched.
    assert images(fake_k8s) == {"api": "ghcr.io/acme/api:v1.2.2", "envoy": SIDECAR["image"]}
    d = bot.deployment(1)
    assert d.error is not None
    assert d.error.startswith("failed verification: ")
    assert d.error.endswith("; rolled back to v1.2.2")
    assert "restarted" in d.error or "crash-loop" in d.error, d.error
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.verifying",
                                     "deploy.verification", "deploy.failed",
                                     "version.marked_faulty", "lock.locked",
                                     "deploy.rolled_back"]
    (ann,) = announcements(bot)
    text = blocks_text(ann)
    assert "⚠️ *Deploy of api `v1.2.3` to staging failed verification, rolled back to " \
           "`v1.2.2`*" in text, text
    assert "Cause: failed verification: " in text
    record = blocks_text(thread_replies(bot, d.message_ts or "")[0])
    assert "v1.2.3 went live" in record
    assert "Post-deployment checks — failed verification: " in record
    assert "Rolled back" in blocks_text(bot.card(1))
    assert not has_buttons(bot.card(1))  # automatic: no Rollback / Keep to click
    assert d.verification is not None
    assert (d.verification.ok, d.verification.offer_rollback) == (False, False)
    (dm,) = dms(bot)
    assert "failed verification and was rolled back to v1.2.2" in dm["text"]
