""""Feature flags configured" where deploybot asks GitHub nothing (no `checklist:`, no
`github:`): the declared flags are still read from the fake Kubernetes API's FeatureFlag when
the card is posted and when approve is clicked, shown on the card beside the items not
checked and on the record; they do not gate the approval (nothing else is checked there)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, RunningBot, base_config
from tests.handlers.spine import blocks_text, click_reply, request, run_to_end
from tests.handlers.test_checklist_flags import (  # noqa: F401 (a fixture)
    WHERE,
    fake_k8s,
    record_with,
)


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:  # noqa: F811
    return base_config(
        services={"api": {"executor": "simulated", "flags": [
            {"name": "new-checkout", "expect": "off"}]}},
        kubernetes={"contexts": {"production": "fake", "staging": "fake"}},
        flags={"production": {"flagd": {"feature_flag": {"name": "app-flags",
                                                         "namespace": "production"}}}})


def card_with(bot: RunningBot, i: int, needle: str) -> str:
    ts = bot.deployment(i).message_ts
    bot.slack.wait_for("chat.update", predicate=lambda c: c.args.get("ts") == ts and needle
                       in json.dumps(c.args.get("blocks"), ensure_ascii=False))
    return blocks_text(bot.card(i))


def test_the_flags_item_is_checked_without_github_and_does_not_gate(
        bot: RunningBot) -> None:
    i = request(bot, "api production v1.2.3")
    card = card_with(bot, i, "Feature flags configured")
    assert ("not checked by deploybot (no GitHub repository configured for api): tests "
            "passing · code reviewed and approved") in card
    assert "❌ *Feature flags configured* — `new-checkout` serves `on`, expected `off`" in card

    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)  # not gated
    assert run_to_end(bot, i) is State.SUCCEEDED
    record = record_with(bot, i, "Feature flags set")
    assert ("❌ Feature flags configured — `new-checkout` serves `on`, expected `off`"
            in record)
    assert (f"❌ Feature flags set — `new-checkout` `on` (true) — `new-checkout` serves `on`, "
            f"expected `off` (read from {WHERE} as the rollout started)") in record
