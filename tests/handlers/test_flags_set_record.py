"""The deployment record's "Feature flags set" (issue 17) end to end: a deploy requested over
signed Slack HTTP, run by the runner, its record in the card's thread showing the flags its
service declares as the fake Kubernetes API's ConfigMap held them when its rollout started
(through the real kubernetes client); a flag changed afterwards leaves that record as it was
and shows in the next deploy's. On SQLite and (with TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import RunningBot, base_config
from tests.domain.test_flags import document
from tests.handlers.spine import blocks_text, request, run_to_end, thread_replies

WHERE = 'key "flags.json" of ConfigMap "flagd-flags" in namespace "staging"'


def seed_flags(fake: FakeKubernetes, **defaults: str) -> None:
    """The ConfigMap as `kubectl apply` leaves it, each flag named with that default."""
    flags = document()
    for name, variant in defaults.items():
        flags["flags"][name]["defaultVariant"] = variant
    fake.seed("configmaps", "staging", {"metadata": {"name": "flagd-flags"},
                                        "data": {"flags.json": json.dumps(flags)}})


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.05) as fake:
        seed_flags(fake)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "simulated", "flags": [
            {"name": "new-checkout", "expect": "on"}, "simple"]},
                  "web": {"executor": "simulated"}},
        kubernetes={"contexts": {"staging": "fake"}},
        flags={"staging": {"flagd": {"configmap": {"name": "flagd-flags",
                                                   "namespace": "staging"}}}})


def record_of(bot: RunningBot, i: int) -> str:
    ts = bot.deployment(i).message_ts
    assert ts is not None
    return blocks_text(thread_replies(bot, ts)[0])


def deployed(bot: RunningBot, text: str) -> int:
    i = request(bot, text)
    assert run_to_end(bot, i) is State.SUCCEEDED
    return i


def test_the_record_shows_the_flags_as_the_rollout_started_and_keeps_them(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    first = deployed(bot, "api staging v1.2.3")
    line = ("✅ Feature flags set — `new-checkout` `on` (true), `simple` `yes` (true) (read "
            f"from {WHERE} as the rollout started)")
    record = record_of(bot, first)
    assert line in record
    assert record.index("Rollout") < record.index("Feature flags set")  # the Deployment part

    seed_flags(fake_k8s, **{"new-checkout": "off"})  # someone turns it off afterwards
    bot.container.notifier.show(bot.deployment(first))  # the record shown again, as any update
    assert line in record_of(bot, first)

    second = deployed(bot, "api staging v1.2.4")
    assert ("❌ Feature flags set — `new-checkout` `off` (false), `simple` `yes` (true) — "
            "`new-checkout` serves `off`, expected `on`") in record_of(bot, second)


def test_a_service_declaring_no_flags_has_no_such_line(bot: RunningBot) -> None:
    i = deployed(bot, "web staging v1.2.3")
    assert "Feature flags set" not in record_of(bot, i)


def test_flags_that_cannot_be_read_are_said_so_on_the_record(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.forbid("get", "configmaps", "staging")
    i = deployed(bot, "api staging v1.2.3")
    record = record_of(bot, i)
    assert "⚪ Feature flags set — could not be read as the rollout started: " in record
    assert "not allowed to get configmaps" in record
