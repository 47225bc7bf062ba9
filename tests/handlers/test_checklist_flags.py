"""The checklist's "Feature flags configured" evaluated for real (issue 17), over signed Slack
HTTP: the flags a service declares read from the fake Kubernetes API's FeatureFlag (through
the real kubernetes client) when the card is posted and again when approve is clicked, with
GitHub's facts and kept with them. ✅ every declared flag exists with its `expect`; ❌ naming
what is missing or wrong, which refuses a production approval as any required red item does;
no tick box on it then. A service without `github:` gets the item evaluated all the same, its
other items not checked as before; a service declaring no flags keeps the manual tick."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.checklist import FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN
from bot.presentation.checklist_views import item_block_id
from devtools.fake_github import FakeGitHub
from devtools.fake_github.review import FakeReview
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, APPROVER2, REQUESTER, RunningBot, base_config
from tests.domain.test_flags import document
from tests.handlers.spine import blocks_text, click_reply, request
from tests.handlers.test_checklist import (  # noqa: F401 (fixtures)
    fake_github,
    green,
    history,
    item_line,
    not_applicable,
    the_record,
    tick,
    wait_for_card,
)

WHERE = 'FeatureFlag "app-flags" in namespace "production"'


def seed_flags(fake: FakeKubernetes, **defaults: str | None) -> None:
    """The FeatureFlag as `kubectl apply` leaves it: the test document, each flag named in
    `defaults` with that default variant (None: the flag removed)."""
    spec = document()
    for name, variant in defaults.items():
        if variant is None:
            del spec["flags"][name]
        else:
            spec["flags"][name]["defaultVariant"] = variant
    fake.seed("featureflags", "production", {"metadata": {"name": "app-flags"},
                                             "spec": {"flagSpec": spec}})


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.05) as fake:
        seed_flags(fake)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(fake_github: FakeGitHub,  # noqa: F811
                fake_k8s: FakeKubernetes) -> dict[str, Any]:
    declared = [{"name": "new-checkout", "expect": "on"}, {"name": "simple", "expect": "on"}]
    return base_config(
        services={
            "api": {"executor": "simulated", "flags": declared, "github": {
                "repository": "acme/api", "required_checks": ["build", "test"]}},
            "web": {"executor": "simulated", "flags": declared},
            "plain": {"executor": "simulated", "github": {"repository": "acme/api"}},
        },
        github={"api_url": fake_github.url},
        checklist={"refresh_every": "1m", "max_backoff": "10m"},
        kubernetes={"contexts": {"production": "fake", "staging": "fake"}},
        flags={"production": {"flagd": {"feature_flag": {"name": "app-flags",
                                                         "namespace": "production"}}}},
    )


def flags_line(bot: RunningBot, i: int) -> str:
    return item_line(bot, i, FEATURE_FLAGS)


def others_done(bot: RunningBot, i: int) -> None:
    assert "Ticked" in tick(bot, i, MONITORING, APPROVER2)
    assert "not applicable" in not_applicable(bot, i, ROLLBACK_PLAN, REQUESTER, "config only")


def test_declared_flags_as_expected_are_green_and_cannot_be_ticked(
        bot: RunningBot, history: FakeReview) -> None:  # noqa: F811
    green(history)
    i = request(bot, "api production v1.2.3")
    card = wait_for_card(bot, i, "Feature flags configured* — as declared")
    assert (f"✅ *Feature flags configured* — as declared in {WHERE}: `new-checkout` `on` "
            "(true), `simple` `yes` (true)") in card
    block = next(b for b in bot.card(i)["blocks"]
                 if b.get("block_id") == item_block_id(i, FEATURE_FLAGS))
    assert "accessory" not in block  # checked automatically: no tick box
    assert "checked automatically" in tick(bot, i, FEATURE_FLAGS, REQUESTER)
    others_done(bot, i)
    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)


def test_a_missing_or_wrong_flag_is_red_and_refuses_approval_until_fixed(
        bot: RunningBot, history: FakeReview,  # noqa: F811
        fake_k8s: FakeKubernetes) -> None:
    green(history)
    seed_flags(fake_k8s, **{"new-checkout": "off", "simple": None})
    i = request(bot, "api production v1.2.3")
    wait_for_card(bot, i, "❌ *Feature flags configured*")
    assert flags_line(bot, i).startswith(
        "❌ *Feature flags configured* — `simple` missing; `new-checkout` serves `off`, "
        "expected `on`")
    others_done(bot, i)
    reply = click_reply(bot, i, APPROVER)
    assert reply.startswith("⚠️ Not approved: the pre-deployment checklist")
    assert "Feature flags configured (`simple` missing; `new-checkout` serves `off`" in reply
    seed_flags(fake_k8s)  # someone sets the flags right; the click reads them again
    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)
    assert "✅ *Feature flags configured* — as declared" in blocks_text(bot.card(i))


def test_a_service_without_github_gets_the_flags_item_evaluated(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    seed_flags(fake_k8s, simple="no")
    i = request(bot, "web production v1.2.3")
    card = wait_for_card(bot, i, "❌ *Feature flags configured*")
    assert ("Pre-deployment checklist, not checked by deploybot (no GitHub repository "
            "configured for web): tests passing · code reviewed and approved · database "
            "migrations reviewed · monitoring alerts set up · rollback plan documented. "
            "Approving does not attest them: the record shows them as not checked.\n"
            "❌ *Feature flags configured* — `simple` serves `no`, expected `on`") in card
    record = record_with(bot, i, "❌ Feature flags configured")
    assert "❌ Feature flags configured — `simple` serves `no`, expected `on`" in record
    assert "Tests passing — not checked: no GitHub repository configured for web" in record
    facts = kept_facts(bot, i)
    assert facts["flags"]["where"] == WHERE and facts["checks"] is None


def test_a_service_declaring_no_flags_keeps_the_manual_tick(
        bot: RunningBot, history: FakeReview) -> None:  # noqa: F811
    green(history)
    i = request(bot, "plain production v1.2.3")
    wait_for_card(bot, i, "GitHub asked at")
    assert "⏳ *Feature flags configured* — tick it" in flags_line(bot, i)
    assert "Ticked" in tick(bot, i, FEATURE_FLAGS, REQUESTER)


def record_with(bot: RunningBot, i: int, needle: str) -> str:
    """The deployment record's text once an update containing `needle` arrived."""
    ts = bot.deployment(i).record_ts
    bot.slack.wait_for("chat.update", predicate=lambda c: c.args.get("ts") == ts and needle
                       in json.dumps(c.args.get("blocks"), ensure_ascii=False))
    return blocks_text(the_record(bot, i))


def kept_facts(bot: RunningBot, i: int) -> dict[str, Any]:
    from sqlalchemy import text
    with bot.container.database.engine.connect() as conn:
        raw = conn.execute(text("SELECT facts FROM checklist_facts WHERE deployment_id = :i"),
                           {"i": i}).scalar_one()
    return raw if isinstance(raw, dict) else dict(json.loads(raw))
