"""The largest messages a realistic configuration makes deploybot send, sent through the fake
Slack, which refuses what Slack refuses (devtools/fake_slack_blocks.py; the `fake_slack`
fixture fails a test whose bot sent one): 40 services with names as long as app.yaml
allows in three environments, each locked with the longest reason `/lock` takes, in
`/deploy status` and `/lock list`; 30 deploys waiting for approval in App Home; the
`/deploy` form with 120 services; a version too long for the form's menu."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.lock_commands import MAX_REASON as MAX_LOCK_REASON
from bot.presentation import ids
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import blocks_text, ephemeral_text, request, run_to_end, settle
from tests.handlers.test_app_home import open_home, published
from tests.handlers.test_deploy_modal import block, open_form, option_values, values

#: The longest environment and service names app.yaml takes (63 characters).
LONG_ENV = "development-preview-environment-for-the-payments-platform-eu-01"
SERVICES = [f"checkout-payments-reconciliation-worker-eu-west-{i:03d}".ljust(63, "x")
            for i in range(40)]
ENVIRONMENTS = ["staging", "production", LONG_ENV]
REASON = ("investigating checkout errors for customers paying with stored cards in the "
          "European region after the migration; ask the payments on-call before deploying "
          "anything here")[:MAX_LOCK_REASON]


@pytest.fixture
def config_data(request: pytest.FixtureRequest) -> dict[str, Any]:
    services = getattr(request, "param", SERVICES)
    cfg = base_config(services={s: {"executor": "simulated"} for s in services})
    cfg["environments"][LONG_ENV] = {}
    return cfg


def test_status_and_lock_list_with_40_long_services_locked_everywhere(
        bot: RunningBot) -> None:
    for service in SERVICES:
        reply = bot.requester.command("/lock", f'{LONG_ENV} {service} "{REASON}"',
                                      user_id=REQUESTER)
        assert reply.status == 200, reply.body
    settle(bot)

    reply = bot.requester.command("/deploy", "status", user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply, timeout=15)
    said = blocks_text(post.args)
    for env in ENVIRONMENTS:
        for service in SERVICES:
            assert f"• `{env}` / `{service}`" in said, (env, service)
    assert said.count("🔒 locked by") == len(SERVICES)
    assert "not shown here" not in said  # 120 services fit in 50 blocks

    reply = bot.requester.command("/lock", "list", user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply, timeout=15)
    listed = blocks_text(post.args)
    assert listed.count(REASON[:60]) == len(SERVICES)  # each lock's reason, cut at a word


def test_app_home_with_30_deploys_waiting_for_approval(bot: RunningBot) -> None:
    for service in SERVICES[:30]:
        request(bot, f"{service} production v1.2.3")
    open_home(bot, APPROVER)
    view = published(bot, APPROVER)
    text = blocks_text(view)
    assert "*⏳ Waiting for approval* (30)" in text
    assert "…and 22 more waiting for approval" in text  # 8 with their buttons
    approve = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == ids.APPROVE]
    assert len(approve) == 8


MANY = [f"service-{i:03d}" for i in range(120)]


@pytest.mark.parametrize("config_data", [MANY], indirect=True)
def test_the_deploy_form_offers_every_one_of_120_services(bot: RunningBot) -> None:
    """Was: a static select holds 100 options, and the form cut the list there: the last 20
    services could not be picked. Past 100 they come in groups of 100."""
    view = open_form(bot)
    service = block(view, ids.FORM_SERVICE)["element"]
    assert option_values(service) == MANY
    assert [g["label"]["text"] for g in service["option_groups"]] == [
        "Services 1 to 100", "Services 101 to 120"]
    bot.requester.submit_view(view, values(service=MANY[110], environment="staging"),
                              user_id=REQUESTER)
    (dm,) = bot.slack.wait_for("chat.postMessage", predicate=lambda c: c.args.get(
        "channel") == REQUESTER)
    assert "Deployment #1 started" in dm.args["text"], dm.args["text"]
    assert bot.deployment(1).service == MANY[110]


def test_a_version_too_long_for_the_forms_menu_is_typed_not_cut(bot: RunningBot) -> None:
    """Was: an option's value is "<service> <version>", cut to Slack's 150 characters: a
    63-character service's 100-character version was offered with its value cut, and
    picking it asked for a version that does not exist. Now it is not offered, and the form
    says to type it."""
    service = SERVICES[0]
    version = "v1.2.3-rc.1+" + "build.20261204185500.sha.3f2a9c1d0e4b5f607182" * 2
    assert len(f"{service} {version}") > 150 and len(version) <= 128
    run_to_end(bot, request(bot, f"{service} staging {version}"))
    view = open_form(bot)
    assert [b for b in view["blocks"] if b.get("block_id") == ids.FORM_VERSION] == []
    notes = [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]
    assert any("too long for a menu" in n and service in n for n in notes), notes
    bot.requester.submit_view(view, values(service=service, environment="production",
                                           typed=version), user_id=REQUESTER)
    bot.slack.wait_for("chat.postMessage", count=2,
                       predicate=lambda c: c.args.get("channel") == REQUESTER)
    assert bot.deployment(2).version == version


def test_an_ephemeral_answer_names_the_service_whole(bot: RunningBot) -> None:
    reply = bot.deploy(f"{SERVICES[0]} {LONG_ENV} v1.2.3")
    said = ephemeral_text(bot, reply)
    assert SERVICES[0] in said and LONG_ENV in said, said
