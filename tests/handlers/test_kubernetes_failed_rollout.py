"""Issue 12, reproduction 3, end to end over signed Slack HTTP on the fake Kubernetes API: a
rollout whose image cannot be pulled leaves the Deployment's template on the bad image (the
old pods keep serving), so it is never left silently half-applied. It follows the
environment's rule, as a failed watch does: with `verify.auto_rollback` the runner rolls back
to the previous version at once; without it the card offers Rollback / Keep, `/deploy status`
and `/rollback` agree on what runs (the bad version applied but not running, the previous
one still serving), and Rollback puts the previous version back."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.deployment import Kind
from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.kube import SIDECAR, images
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    dms,
    ephemeral_text,
    has_buttons,
    request,
    thread_replies,
    wait_dm,
)
from tests.handlers.test_kubernetes_live import settled, staging_line
from tests.handlers.test_kubernetes_rollback import IMAGE

BAD = "v1.2.4-bad"
CAUSE = f"the new pods cannot pull the image {IMAGE.format(version=BAD)}"


def kubernetes_config(*, auto_rollback: bool) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
        environments={"staging": {"verify": {"auto_rollback": auto_rollback}}},
    )


def deployed(bot: RunningBot, version: str, deployment_id: int) -> State:
    """`/deploy staging <version>` (no approval there), run to its end: the requester's
    result DM (the `deployment_id`-th) and an idle runner."""
    assert request(bot, f"staging {version}") == deployment_id
    wait_dm(bot, REQUESTER, count=deployment_id)
    assert bot.container.runner.wait_idle()
    return bot.deployment(deployment_id).state


def unpullable(fake: FakeKubernetes) -> None:
    """Versions ending in -bad cannot be pulled (as `simulated.fail_versions` in the shell)."""
    fake.fail_rollouts_to("staging", "api", lambda image: image.endswith("-bad"), "image_pull")


def record(bot: RunningBot, deployment_id: int) -> str:
    """The deployment record's text as it is now: the first reply in the card's thread."""
    d = bot.deployment(deployment_id)
    assert d.message_ts is not None
    return blocks_text(thread_replies(bot, d.message_ts)[0])


def cause_line(text: str) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.startswith("Cause: ")]
    return line


def verdict_button(bot: RunningBot, deployment_id: int, action_id: str) -> dict[str, Any]:
    for block in bot.card(deployment_id).get("blocks") or []:
        if block.get("block_id") == ids.VERDICT_BLOCK:
            for el in block["elements"]:
                if el["action_id"] == action_id:
                    return dict(el)
    raise AssertionError(f"no {action_id} button on the card of #{deployment_id}: "
                         f"{blocks_text(bot.card(deployment_id))}")


class TestWithAutomaticRollback:
    @pytest.fixture
    def config_data(self, fake_k8s: FakeKubernetes) -> dict[str, Any]:
        return kubernetes_config(auto_rollback=True)

    def test_the_failed_rollout_is_rolled_back_to_the_previous_version(
        self, bot: RunningBot, fake_k8s: FakeKubernetes,
    ) -> None:
        unpullable(fake_k8s)
        assert deployed(bot, "v1.2.3", 1) is State.SUCCEEDED
        assert deployed(bot, BAD, 2) is State.ROLLED_BACK

        d = bot.deployment(2)
        assert d.error is not None and d.error.startswith(CAUSE), d.error
        assert d.error.endswith("; rolled back to v1.2.3"), d.error
        assert d.progress == "rolled back to v1.2.3"
        # The Deployment's template is back on v1.2.3 (the sidecar never touched), and the
        # old ReplicaSet serves it again.
        assert images(fake_k8s) == {"api": IMAGE.format(version="v1.2.3"),
                                    "envoy": SIDECAR["image"]}
        fake_k8s.wait_until(settled)
        line = staging_line(bot)
        assert line.startswith("• `staging` / `api`: `v1.2.3` since "), line
        assert "not running" not in line and "changed outside deploybot" not in line, line

        # The bad version is marked faulty (and the service locked, staging's rollback
        # rule); nothing is left to decide on the card.
        assert audit_actions(bot, 2) == ["deploy.requested", "deploy.started", "deploy.failed",
                                         "version.marked_faulty", "lock.locked",
                                         "deploy.rolled_back"]
        assert not has_buttons(bot.card(2))
        assert "Rolled back" in blocks_text(bot.card(2))
        # Announced once, with the cause and where it went back to.
        anns = [blocks_text(a) for a in announcements(bot)]
        (ann,) = [a for a in anns if BAD in a]
        assert f"Deploy of api `{BAD}` to staging" in ann, ann
        assert "rolled back to `v1.2.3`" in ann, ann
        assert f"Cause: {CAUSE}" in ann, ann
        # Told as a failed rollout (no watch ran), the cause not repeating the rollback.
        assert (f"⚠️ *Deploy of api `{BAD}` to staging failed its rollout and was rolled "
                "back to `v1.2.3`*") in ann, ann
        assert "verification" not in ann, ann
        assert not cause_line(ann).endswith("rolled back to v1.2.3"), ann
        dm = str(dms(bot)[-1]["text"])
        assert dm.startswith(f"⚠️ Your deploy #2 api {BAD} → staging failed its rollout and "
                             f"was rolled back to v1.2.3: {CAUSE}"), dm
        assert "verification" not in dm and not dm.endswith("rolled back to v1.2.3."), dm
        # The record: the rollout failed, no check ran, then the automatic rollback.
        text = record(bot, 2)
        assert f"❌ Rollout — {CAUSE}" in text, text
        assert "⏭️ Post-deployment checks" in text, text
        assert "↩️ Rolled back to v1.2.3 automatically" in text, text


class TestWithoutAutomaticRollback:
    @pytest.fixture
    def config_data(self, fake_k8s: FakeKubernetes) -> dict[str, Any]:
        return kubernetes_config(auto_rollback=False)

    def test_the_card_offers_rollback_or_keep_and_rollback_puts_the_previous_version_back(
        self, bot: RunningBot, fake_k8s: FakeKubernetes,
    ) -> None:
        unpullable(fake_k8s)
        assert deployed(bot, "v1.2.3", 1) is State.SUCCEEDED
        assert deployed(bot, BAD, 2) is State.FAILED

        d = bot.deployment(2)
        assert d.error is not None and d.error.startswith(CAUSE), d.error
        assert f"{BAD} is left applied in staging" in d.error, d.error
        assert d.verification is not None and d.verification.offer_rollback
        # Half-applied: the template is on the bad image while the old pods still serve.
        assert images(fake_k8s)["api"] == IMAGE.format(version=BAD)

        # The card asks: Rollback / Keep.
        rollback = verdict_button(bot, 2, ids.ROLL_BACK)
        assert rollback["text"]["text"] == "Roll back to v1.2.3"
        assert rollback["style"] == "danger" and "confirm" in rollback
        assert verdict_button(bot, 2, ids.KEEP)["text"]["text"] == f"Keep {BAD}"
        # Its new pods never served: it failed its rollout, not its checks.
        card = blocks_text(bot.card(2))
        assert (f"`{BAD}` failed its rollout and is left applied:* its new pods never became "
                "ready, the old ones still serve. Roll back to `v1.2.3`, or keep it?") \
            in card, card
        assert "failed its checks" not in card and "still live" not in card, card
        (ann,) = [blocks_text(a) for a in announcements(bot) if BAD in blocks_text(a)]
        assert f"Cause: {CAUSE}" in ann, ann

        # Status and /rollback agree on what runs: the bad version is applied but never
        # ran (no "since"), and v1.2.3, on the old ReplicaSet's pods, still serves.
        line = staging_line(bot)
        assert line.startswith(f"• `staging` / `api`: `{BAD}` applied "), line
        assert line.endswith(", not running (0/3 new pods available); `v1.2.3` still serves "
                             "(3 old pods)"), line
        reply = bot.requester.command("/rollback", "staging", user_id=APPROVER)
        (post,) = bot.requester.response_posts(reply)
        assert f"back from `{BAD}` to `v1.2.3`" in str(post.args["text"]), post.args["text"]

        # Rollback from the card (after Slack's confirm dialog): v1.2.3 is back.
        click = bot.requester.click(user_id=APPROVER, action_id=ids.ROLL_BACK,
                                    value=rollback["value"], message=bot.card(2))
        assert click.status == 200, click.body
        assert "back to `v1.2.3` (deployment #3)" in ephemeral_text(bot, click)
        wait_dm(bot, APPROVER)
        assert bot.container.runner.wait_idle()

        rb = bot.deployment(3)
        assert (rb.kind, rb.version, rb.previous_version, rb.rollback_of, rb.state) == (
            Kind.ROLLBACK, "v1.2.3", BAD, 2, State.SUCCEEDED), (rb.state, rb.error)
        assert images(fake_k8s) == {"api": IMAGE.format(version="v1.2.3"),
                                    "envoy": SIDECAR["image"]}
        fake_k8s.wait_until(settled)
        line = staging_line(bot)
        assert line.startswith("• `staging` / `api`: `v1.2.3` since "), line
        assert "not running" not in line and "changed outside deploybot" not in line, line

        bad = bot.deployment(2)
        assert bad.state is State.ROLLED_BACK
        assert bad.verification is not None and (
            bad.verification.decision, bad.verification.decided_by) == ("rollback", APPROVER)
        assert not has_buttons(bot.card(2))
        assert f"<@{APPROVER}> chose to roll back to `v1.2.3`" in blocks_text(bot.card(2))


class TestKeepAfterAFailedRollout:
    @pytest.fixture
    def config_data(self, fake_k8s: FakeKubernetes) -> dict[str, Any]:
        return kubernetes_config(auto_rollback=False)

    def test_keep_leaves_it_applied_and_says_so(
        self, bot: RunningBot, fake_k8s: FakeKubernetes,
    ) -> None:
        unpullable(fake_k8s)
        assert deployed(bot, "v1.2.3", 1) is State.SUCCEEDED
        assert deployed(bot, BAD, 2) is State.FAILED
        keep = verdict_button(bot, 2, ids.KEEP)
        click = bot.requester.click(user_id=REQUESTER, action_id=ids.KEEP,
                                    value=keep["value"], message=bot.card(2))
        assert click.status == 200, click.body
        reply = ephemeral_text(bot, click)
        assert reply.startswith(f"🟠 `{BAD}` stays applied in *staging* (its rollout failed"), \
            reply
        assert "stays live" not in reply
        assert f"<@{REQUESTER}> chose to keep `{BAD}` applied" in blocks_text(bot.card(2))
        text = record(bot, 2)
        assert f"🟠 Kept {BAD} applied — chosen by <@{REQUESTER}> after its rollout failed" \
            in text, text
        assert "after its checks failed" not in text
        assert images(fake_k8s)["api"] == IMAGE.format(version=BAD)
