"""`/flags <environment> [service]` end to end: signed Slack HTTP in, the real kubernetes
client reading the fake Kubernetes API's FeatureFlag (production) and ConfigMap (staging),
httpx evaluating over OFREP against the local flag service (qa: no flagd store), the answer
out through the response_url of the fake Slack; every look audited as `flags.viewed`.

`checkout` declares two flags that are as it expects; `web` declares one whose `expect` does
not hold and one that does not exist; `api` declares none; `dev` has no `flags:` entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_ofrep import FakeOfrep
from tests.conftest import OUTSIDER, REQUESTER, RunningBot, base_config
from tests.domain.test_flags import document
from tests.handlers.kube import seed_flag_stores
from tests.handlers.test_troubleshooting import answer, audit, command, settle

FLAGS = ids.FLAGS_COMMAND


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.05) as fake:
        seed_flag_stores(fake, document())
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def ofrep() -> Iterator[FakeOfrep]:
    with FakeOfrep() as service:
        service.load_flagd(document())
        yield service


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes, ofrep: FakeOfrep) -> dict[str, Any]:
    cfg = base_config(
        services={
            "api": {"executor": "simulated", "environments": ["production", "staging", "dev"]},
            "checkout": {"executor": "simulated", "environments": ["production", "staging"],
                         "flags": ["new-checkout", {"name": "simple", "expect": "on"}]},
            "web": {"executor": "simulated", "environments": ["production", "staging"],
                    "flags": [{"name": "new-checkout", "expect": "off"}, "gone-flag"]},
            "solo": {"executor": "simulated", "environments": ["qa"],
                     "flags": [{"name": "new-checkout", "expect": "off"}, "gone-flag",
                               {"name": "simple", "expect": "on"}]},
        },
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}},
        flags={
            "production": {"flagd": {"feature_flag": {"name": "app-flags",
                                                      "namespace": "production"}}},
            "staging": {"flagd": {"configmap": {"name": "flagd-flags",
                                                "namespace": "staging"}}},
            "qa": {"ofrep": {"url": ofrep.url}},
        })
    cfg["environments"] |= {"qa": {}, "dev": {}}
    return cfg


def flags_of(bot: RunningBot, text: str, *, user: str = REQUESTER) -> str:
    _, shown = answer(bot, command(bot, FLAGS, text, user=user))
    return shown


def refusal(bot: RunningBot, text: str) -> str:
    """The ephemeral ack of a refused `/flags` (nothing answered after it)."""
    reply = command(bot, FLAGS, text)
    settle(bot)
    assert all(c.key != reply.response_key for c in bot.slack.calls("response_url"))
    return str(reply.json["text"])


def test_healthy_flags_from_a_feature_flag_resource(bot: RunningBot) -> None:
    reply = command(bot, FLAGS, "production checkout")
    assert reply.json["text"] == ("⏳ Reading the feature flags of `checkout` in production… "
                                  "(the answer follows here)")
    _, shown = answer(bot, reply)
    assert ("*Feature flags of `checkout` in production* — 2 declared, all as declared\n"
            "From flagd's definitions in FeatureFlag \"app-flags\" in namespace "
            "\"production\", ") in shown
    assert ("✅ *`new-checkout`*\nENABLED · default `on` = `true`\n"
            "variants: `on` = `true`, `off` = `false`\n"
            "targeting: 2 rules (if, $ref, ends_with)") in shown
    assert ("✅ *`simple`* (expects `on`)\nENABLED · default `yes` = `true`\n"
            "variants: `yes` = `true`, `no` = `false`\nno targeting") in shown
    ((actor, details),) = audit(bot, "flags.viewed")
    assert (actor, details["service"], details["environment"], details["ok"],
            details["source"], details["missing"], details["wrong"]) == (
        REQUESTER, "checkout", "production", True, "flagd", [], [])


def test_a_missing_flag_and_an_expect_that_does_not_hold_from_a_configmap(
        bot: RunningBot) -> None:
    shown = flags_of(bot, "staging web")
    assert "— 2 declared, 1 missing, 1 not as expected" in shown
    assert ('From flagd\'s definitions in key "flags.json" of ConfigMap "flagd-flags" in '
            'namespace "staging"') in shown
    assert ("⚠️ *`new-checkout`* (expects `off`)\n*expect does not hold:* serves `on`, "
            "expected `off`") in shown
    assert "❌ *`gone-flag`* — *missing*: there is no flag of that name there" in shown
    ((_, details),) = audit(bot, "flags.viewed")
    assert (details["missing"], details["wrong"]) == (["gone-flag"], ["new-checkout"])


def test_a_flag_changed_in_the_cluster_is_shown_as_it_is_now(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.seed("featureflags", "production", {
        "metadata": {"name": "app-flags"},
        "spec": {"flagSpec": document() | {"flags": document()["flags"] | {
            "new-checkout": document()["flags"]["new-checkout"] | {"defaultVariant": "off"}}}}})
    shown = flags_of(bot, "production web")
    assert "✅ *`new-checkout`* (expects `off`)\nENABLED · default `off` = `false`" in shown


def test_rbac_forbidding_the_read_is_explained_and_audited(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.forbid("get", "featureflags", "production")
    shown = flags_of(bot, "production checkout")
    assert shown.startswith("🔒 deploybot cannot read the feature flags of `checkout` in "
                            "production: ")
    assert "not allowed to get featureflags.core.openfeature.dev" in shown
    assert "Nothing was changed" in shown
    ((_, details),) = audit(bot, "flags.viewed")
    assert details["ok"] is False and "featureflags" in details["error"]


def test_an_ofrep_only_environment_shows_the_evaluated_values(bot: RunningBot,
                                                              ofrep: FakeOfrep) -> None:
    shown = flags_of(bot, "qa")  # one service deploys to qa: it may be left out
    assert ("Evaluated by the flag service at " + ofrep.url + " over OFREP, read only "
            "(no flagd store is configured for this environment") in shown
    assert ("⚠️ *`new-checkout`* (expects `off`)\n*expect does not hold:* serves `on`, "
            "expected `off`\nevaluated: `on` = `true` · reason STATIC") in shown
    assert "❌ *`gone-flag`* — *missing*" in shown
    assert "✅ *`simple`* (expects `on`)\nevaluated: `yes` = `true` · reason STATIC" in shown
    asked = {r.path for r in ofrep.requests}
    assert asked == {"/ofrep/v1/evaluate/flags/new-checkout",
                     "/ofrep/v1/evaluate/flags/gone-flag", "/ofrep/v1/evaluate/flags/simple"}


def test_an_unreachable_flag_service_says_try_again(bot: RunningBot, ofrep: FakeOfrep) -> None:
    ofrep.stop()
    shown = flags_of(bot, "qa solo")
    assert "is unreachable" in shown and "try again" in shown
    ((_, details),) = audit(bot, "flags.viewed")
    assert details["ok"] is False


def test_only_the_environments_deployers_may_look(bot: RunningBot) -> None:
    shown = flags_of(bot, "production checkout", user=OUTSIDER)
    assert "You may not see the feature flags of `checkout` in production" in shown
    assert audit(bot, "flags.viewed") == []


@pytest.mark.parametrize(("text", "said"), [
    ("", "Which environment? e.g. `/flags production`."),
    ("moon checkout", "Unknown environment `moon`."),
    ("checkout production", "Put the environment first: `/flags production checkout`."),
    ("production checkout extra", "Too many words: `extra` was not expected"),
    ("production nope", "Unknown service `nope`."),
    ("production solo", "`solo` is not deployed to `production` (services there: "
                        "`api`, `checkout`, `web`)."),
    ("production", "Which service? Name one of"),
    ("production --all", "Unknown option `--all`"),
    ("dev checkout", "No feature flags are configured for `dev`: app.yaml has no "
                     "`flags.dev`"),
    ("production api", "`api` declares no feature flags: list the flags that matter for it "
                       "in `services.api.flags` in app.yaml."),
])
def test_bad_input_is_refused_with_a_specific_message(bot: RunningBot, text: str,
                                                      said: str) -> None:
    assert refusal(bot, text).startswith(f"⚠️ {said}")
    assert audit(bot, "flags.viewed") == []


def test_help_shows_the_usage(bot: RunningBot) -> None:
    shown = refusal(bot, "help")
    assert shown.startswith("*Usage*\n• `/flags &lt;environment&gt;`")
    assert "`/flags &lt;environment&gt; &lt;service&gt;`" in shown
