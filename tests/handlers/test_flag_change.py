"""`/flag <environment> <name> on|off|<variant> ["reason"]` end to end: signed Slack HTTP
in, the real Bolt app, the deployment runner changing the flag through the real kubernetes
client in the fake Kubernetes API — a FeatureFlag in production (approval needed), a
ConfigMap in staging (none) —, the card, announcement, thread and requester's DM out
through the fake Slack; qa's flags are evaluated over OFREP only (read-only here).

`checkout` (simulated) declares new-checkout, banner-color and simple; `api` (Kubernetes,
staging only) declares new-checkout as its kill switch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.flags import FlagDocument
from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, APPROVER2, OUTSIDER, REQUESTER, RunningBot, base_config
from tests.domain.test_flags import document
from tests.domain.test_flags_flagd import ANYONE, BETA, flagd  # noqa: F401 (a fixture)
from tests.handlers.kube import SIDECAR, seed_flag_stores
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    dms,
    ephemeral_text,
    has_buttons,
    request,
    run_to_end,
    thread_replies,
)
from tests.handlers.test_app_home import open_home, published
from tests.handlers.test_troubleshooting import answer, audit, command, settle

FLAG = ids.FLAG_COMMAND


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as fake:
        fake.add_deployment("staging", "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}, dict(SIDECAR)], replicas=3)
        seed_flag_stores(fake, document())
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    cfg = base_config(
        services={
            "checkout": {"executor": "simulated", "environments": ["production", "staging"],
                         "flags": ["new-checkout", "banner-color", "simple"]},
            "api": {"executor": "kubernetes", "environments": ["staging"],
                    "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                    "flags": [{"name": "new-checkout", "kill_switch": True}]},
        },
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}},
        flags={
            "production": {"flagd": {"feature_flag": {"name": "app-flags",
                                                      "namespace": "production"}}},
            "staging": {"flagd": {"configmap": {"name": "flagd-flags",
                                                "namespace": "staging"}}},
            "qa": {"ofrep": {"url": "http://127.0.0.1:9"}},
        })
    cfg["environments"]["qa"] = {}
    return cfg


def production_flags(fake: FakeKubernetes) -> dict[str, Any]:
    return dict(fake.get("featureflags", "production", "app-flags")["spec"]["flagSpec"])


def staging_flags(fake: FakeKubernetes) -> dict[str, Any]:
    return dict(json.loads(fake.get("configmaps", "staging", "flagd-flags")["data"]
                           ["flags.json"]))


def flag(bot: RunningBot, text: str, *, user: str = REQUESTER) -> tuple[str, str]:
    """`/flag text`: (the ack's text, the answer's text)."""
    reply = command(bot, FLAG, text, user=user)
    said, _ = answer(bot, reply)
    return str(reply.json["text"]), said


def said_to(bot: RunningBot, text: str, *, user: str = REQUESTER) -> str:
    """What `/flag text` says: its ack when that refused it or answered help, else the
    one answer after the ack."""
    reply = command(bot, FLAG, text, user=user)
    ack = str(reply.json["text"])
    if not ack.startswith("⏳"):
        settle(bot)
        return ack
    (post,) = bot.requester.response_posts(reply, timeout=15)
    return str(post.args["text"])


# -- without approval: staging, a ConfigMap --------------------------------------------------

def test_a_flag_turned_off_without_approval_is_changed_announced_and_audited(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    deploy = request(bot, "checkout staging v1.2.3")
    assert run_to_end(bot, deploy) is State.SUCCEEDED
    with bot.container.database.transaction() as r:  # its record lists the flag
        reading = r.flag_snapshots.get(deploy)
    assert reading is not None and "new-checkout" in [f.name for f in reading.flags]

    ack, said = flag(bot, 'staging new-checkout off "checkout errors"')

    assert ack == "⏳ Requesting flag `new-checkout` → `off` in *staging*…"
    assert said.startswith("🚩 Flag change #2 started: flag `new-checkout` → `off` in "
                           "*staging*."), said
    assert run_to_end(bot, 2, REQUESTER) is State.SUCCEEDED
    d = bot.deployment(2)
    assert (d.service, d.target, d.version, d.previous_version, d.rollback_of) == (
        "checkout", "new-checkout", "off", "on", deploy)
    # The ConfigMap holds the change, and nothing else of the document moved.
    stored = staging_flags(fake_k8s)
    expected = document()
    expected["flags"]["new-checkout"]["defaultVariant"] = "off"
    assert stored == expected
    # Before → after and the caveat, plainly: the targeting still serves `on` to some.
    assert d.progress is not None
    assert d.progress.startswith("default variant `on` → `off`; ⚠️ its targeting (2 rules "
                                 "(if, $ref, ends_with)) still decides for the contexts it "
                                 "matches and can serve `on`"), d.progress
    (ann,) = [a for a in announcements(bot) if "new-checkout" in blocks_text(a)]
    text = blocks_text(ann)
    assert "🚩 *Flag `new-checkout` → `off` in staging*" in text, text
    assert "default variant `on` → `off`" in text
    # The thread of the deployment that introduced the flag hears of it too.
    first = bot.deployment(deploy)
    notes = [blocks_text(m) for m in thread_replies(bot, first.message_ts or "")
             if "Flag `new-checkout`" in blocks_text(m)]
    assert len(notes) == 1 and notes[0].startswith(
        "🚩 Flag `new-checkout` → `off` in *staging* ("), notes
    assert "default variant `on` → `off`" in notes[0]
    # Audited with before/after and the caveats.
    ((actor, requested),) = audit(bot, "flag.requested")
    assert (actor, requested["flag"], requested["to"], requested["reason"],
            requested["before"]["default_variant"], requested["thread_of"]) == (
        REQUESTER, "new-checkout", "off", "checkout errors", "on", deploy)
    ((_, changed),) = audit(bot, "flag.changed")
    assert (changed["before"]["default_variant"], changed["after"]["default_variant"],
            changed["after"]["state"], len(changed["caveats"])) == ("on", "off", "ENABLED", 1)
    assert audit_actions(bot, 2) == ["flag.requested", "deploy.started", "flag.changed",
                                     "deploy.succeeded"]
    assert any(dm["text"].startswith("✅ Your flag change #2 new-checkout → off in staging "
                                     "succeeded") for dm in dms(bot)), dms(bot)


def test_a_variant_of_a_string_flag_and_a_disabled_flag_enabled(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    _, said = flag(bot, "staging banner-color green")
    assert "Flag change #1 started" in said
    assert run_to_end(bot, 1) is State.SUCCEEDED
    stored = staging_flags(fake_k8s)["flags"]["banner-color"]
    assert (stored["state"], stored["defaultVariant"]) == ("ENABLED", "green")
    d = bot.deployment(1)
    assert d.progress is not None
    assert d.progress.startswith("default variant `red` (DISABLED) → `green`; ⚠️ "
                                 "`banner-color` was DISABLED"), d.progress


# -- approval: production, a FeatureFlag ---------------------------------------------------

def test_a_production_flag_change_needs_another_approver_then_flagd_serves_it(
        bot: RunningBot, fake_k8s: FakeKubernetes, flagd: Any) -> None:  # noqa: F811
    _, said = flag(bot, "production simple off", user=APPROVER)
    assert said.startswith("📝 Flag change #1 requested: flag `simple` → `off` in "
                           "*production*."), said
    d = bot.deployment(1)
    assert (d.state, d.approvals_required) == (State.AWAITING_APPROVAL, 1)
    card = blocks_text(bot.card(1))
    assert "*Flag:* `simple`   *Turn to:* `off`   *Default variant now:* `yes`" in card, card
    assert production_flags(fake_k8s) == document()  # nothing changed while it waits
    # Shown on App Home as other requests are, with its Approve / Reject buttons.
    open_home(bot, APPROVER2)
    home = published(bot, APPROVER2)
    assert "*#1 simple → off in production*" in blocks_text(home)
    assert f"{ids.HOME_APPROVAL_BLOCK}.1" in {b.get("block_id") for b in home["blocks"]}

    refusal = click_reply(bot, 1, APPROVER)
    assert refusal == ("⚠️ You requested Flag change #1 (simple → `off` in production), so "
                       "you cannot approve it yourself: another approver has to."), refusal
    assert bot.deployment(1).state is State.AWAITING_APPROVAL

    click_reply(bot, 1, APPROVER2)
    assert run_to_end(bot, 1, APPROVER) is State.SUCCEEDED
    stored = production_flags(fake_k8s)
    assert stored["flags"]["simple"]["defaultVariant"] == "no"
    assert bot.deployment(1).progress == "default variant `yes` → `no`"
    # What flagd evaluates from the FeatureFlag's flagSpec now.
    evaluated = flagd(FlagDocument.parse(stored, where="the FeatureFlag"))
    assert evaluated.boolean("simple", True, ANYONE)[:2] == (False, "no")
    assert evaluated.boolean("new-checkout", False, BETA)[:2] == (True, "on")  # untouched
    (ann,) = announcements(bot)
    assert "approved by <@" + APPROVER2 + ">" in blocks_text(ann)


def test_a_production_flag_change_nobody_approves_expires_unapplied(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    flag(bot, "production new-checkout off")
    bot.clock.advance(timedelta(hours=2, seconds=1))

    text = click_reply(bot, 1, APPROVER)

    assert "Flag change #1 (new-checkout → `off` in production) expired without enough " \
           "approvals" in text, text
    assert bot.deployment(1).state is State.EXPIRED
    assert production_flags(fake_k8s) == document()
    assert [a for a, _ in audit(bot, "flag.changed")] == []


# -- windows and freezes -----------------------------------------------------------------------

@pytest.fixture
def frozen(config_data: dict[str, Any]) -> dict[str, Any]:
    config_data["freezes"] = {"windows": [{
        "name": "Offsite", "start": "2026-11-18", "end": "2026-11-20",
        "reason": "everyone away", "environments": ["staging"]}]}
    return config_data


@pytest.mark.usefixtures("frozen")
def test_off_is_allowed_in_a_freeze_and_on_is_refused(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    said = said_to(bot, "staging simple off")
    assert "Flag change #1 started" in said, said
    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert staging_flags(fake_k8s)["flags"]["simple"]["defaultVariant"] == "no"
    ((_, requested),) = audit(bot, "flag.requested")
    assert any("Offsite" in r for r in requested["overrides"]), requested

    said = said_to(bot, "staging simple on")
    assert said.startswith("⚠️ Not now: turning a flag on (or to a variant) in staging "
                           "follows the deploy window, and it is closed — "), said
    assert "Offsite" in said and "`/flag staging simple off`" in said
    assert staging_flags(fake_k8s)["flags"]["simple"]["defaultVariant"] == "no"
    assert len(audit(bot, "flag.requested")) == 1


# -- bad input -------------------------------------------------------------------------------

def test_bad_input_gets_a_specific_message_and_changes_nothing(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    cases = {
        "moon new-checkout off": "Unknown environment `moon`. Known environments: "
                                 "`production`, `qa`, `staging`.",
        "staging": "Which flag in staging?",
        "staging new-checkout": "Turn `new-checkout` to what? Give `on`, `off` or one of "
                                "its variants",
        "staging new-checkout off because": "Put the reason in quotes",
        "staging nope off": "There is no flag `nope` in key \"flags.json\" of ConfigMap "
                            "\"flagd-flags\" in namespace \"staging\" (flags there: "
                            "banner-color, new-checkout, simple).",
        "staging new-checkout purple": "Flag `new-checkout` has no variant `purple`: its "
                                       "variants are `on`, `off`.",
        "staging banner-color off": "Flag `banner-color` cannot be turned off: its variants "
                                    "are not true/false. Name one of its variants instead: "
                                    "`red`, `green`, `blue`.",
        "qa new-checkout off": "The flags of qa are read-only here: deploybot evaluates "
                               "them over OFREP (http://127.0.0.1:9)",
    }
    for text, expected in cases.items():
        said = said_to(bot, text)
        assert expected in said, (text, said)
    said = said_to(bot, "staging new-checkout off", user=OUTSIDER)
    assert "You may not deploy to staging" in said, said
    assert said_to(bot, "help").startswith("*Usage*")
    # A typed mention in the flag's name is echoed neutralised in the ack, never pinging.
    reply = command(bot, FLAG, "staging <!channel> off")
    ack = str(reply.json["text"])
    assert "<!channel>" not in ack and "&lt;!channel&gt;" in ack, ack
    settle(bot)
    assert [a for a, _ in audit(bot, "flag.requested")] == []
    assert staging_flags(fake_k8s) == document()


# -- the kill switch after a failed watch ------------------------------------------------------

@pytest.fixture
def watched(config_data: dict[str, Any]) -> dict[str, Any]:
    config_data["environments"]["staging"] = {"verify": {"bake": "5m",
                                                         "auto_rollback": False}}
    return config_data


@pytest.fixture
def two_kill_switches(config_data: dict[str, Any]) -> dict[str, Any]:
    config_data["services"]["api"]["flags"] = [{"name": "new-checkout", "kill_switch": True},
                                               {"name": "simple", "kill_switch": True}]
    return config_data


@pytest.mark.usefixtures("watched")
def test_a_failed_watch_offers_the_kill_switch_which_turns_the_flag_off(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.crash_after_ready("staging", "api", restarts=3, once_seen=True)
    failed = request(bot, "api staging v1.2.3")
    assert run_to_end(bot, failed) is State.FAILED
    card = bot.card(failed)
    (verdict,) = [b for b in card["blocks"] if b.get("block_id") == ids.VERDICT_BLOCK]
    buttons = {e["action_id"]: e for e in verdict["elements"]}
    assert set(buttons) == {ids.ROLL_BACK, ids.KEEP, ids.TURN_FLAG_OFF}
    kill = buttons[ids.TURN_FLAG_OFF]
    assert (kill["text"]["text"], kill["value"]) == ("Turn new-checkout off",
                                                     f"{failed}:new-checkout")

    reply = bot.requester.click(user_id=APPROVER, action_id=ids.TURN_FLAG_OFF,
                                value=kill["value"], message=card)
    said = ephemeral_text(bot, reply)
    assert said.startswith("🚩 Flag change #2 started: flag `new-checkout` → `off` in "
                           "*staging*."), said
    assert run_to_end(bot, 2, APPROVER) is State.SUCCEEDED
    d = bot.deployment(2)
    assert (d.requested_by, d.service, d.rollback_of) == (APPROVER, "api", failed)
    assert staging_flags(fake_k8s)["flags"]["new-checkout"]["defaultVariant"] == "off"
    ((_, requested),) = audit(bot, "flag.requested")
    assert (requested["reason"], requested["kill_switch_after"]) == (
        f"kill switch after failed deploy #{failed}", failed)
    notes = [blocks_text(m) for m in thread_replies(bot, bot.deployment(failed).message_ts
                                                    or "")
             if "Flag `new-checkout`" in blocks_text(m)]
    assert len(notes) == 1, notes
    # Rollback / Keep stay to be decided on the failed deploy's card.
    assert has_buttons(bot.card(failed))


@pytest.mark.usefixtures("watched", "two_kill_switches")
def test_two_kill_switches_are_two_buttons_slack_takes_each_turning_its_flag_off(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    """Was: both buttons had the action_id deploy.turn_flag_off; Slack refuses a block whose
    action_ids repeat (invalid_blocks), so the failed card was never updated."""
    fake_k8s.crash_after_ready("staging", "api", restarts=3, once_seen=True)
    failed = request(bot, "api staging v1.2.3")
    assert run_to_end(bot, failed) is State.FAILED
    card = bot.card(failed)
    (verdict,) = [b for b in card["blocks"] if b.get("block_id") == ids.VERDICT_BLOCK]
    kills = [e for e in verdict["elements"] if e["action_id"] in ids.TURN_FLAG_OFF_IDS]
    assert [(e["text"]["text"], e["value"]) for e in kills] == [
        ("Turn new-checkout off", f"{failed}:new-checkout"),
        ("Turn simple off", f"{failed}:simple")]
    assert len({e["action_id"] for e in verdict["elements"]}) == len(verdict["elements"])

    second = kills[1]
    reply = bot.requester.click(user_id=APPROVER, action_id=second["action_id"],
                                value=second["value"], message=card)
    said = ephemeral_text(bot, reply)
    assert said.startswith("🚩 Flag change #2 started: flag `simple` → `off` in "
                           "*staging*."), said


# -- locks, and a flag gone by the time it is approved ---------------------------------------

def test_someone_elses_lock_refuses_turning_on_but_not_turning_off(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    locked = ephemeral_text(bot, bot.requester.command(
        "/lock", 'staging checkout "investigating"', user_id=APPROVER))
    assert locked.startswith("🔒 You locked checkout in staging"), locked

    said = said_to(bot, "staging simple on")
    assert said.startswith("🔒 Flag `simple` cannot be turned on in staging now: checkout in "
                           f"staging is locked by <@{APPROVER}>"), said
    assert audit(bot, "flag.requested") == []

    said = said_to(bot, "staging simple off")
    assert "Flag change #1 started" in said, said
    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert staging_flags(fake_k8s)["flags"]["simple"]["defaultVariant"] == "no"


def test_a_flag_removed_before_the_approval_fails_the_change_and_says_why(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    flag(bot, "production simple off")
    without = document()
    del without["flags"]["simple"]
    fake_k8s.seed("featureflags", "production", {
        "metadata": {"name": "app-flags"}, "spec": {"flagSpec": without}})

    click_reply(bot, 1, APPROVER)

    assert run_to_end(bot, 1) is State.FAILED
    d = bot.deployment(1)
    assert d.error == ('There is no flag `simple` in FeatureFlag "app-flags" in namespace '
                       '"production" (flags there: banner-color, new-checkout).'), d.error
    (ann,) = announcements(bot)
    text = blocks_text(ann)
    assert "❌ *Flag change of `simple` to `off` in production failed*" in text, text
    assert "There is no flag `simple`" in text
    assert [a for a, _ in audit(bot, "flag.change_failed")] == ["deploybot"]
    assert production_flags(fake_k8s) == without
