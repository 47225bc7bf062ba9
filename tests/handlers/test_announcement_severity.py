"""Every result announced in the deployments channel carries its severity, and the mention
configured for that severity opens it (issue 4: the failure is announced at the right
severity). Deploys run on the simulated cluster: versions ending in -bad fail mid-rollout,
versions ending in -flaky go live and then fail the watch (and are rolled back)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.deployment import Deployment
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.presentation.blocks import announcement
from tests.conftest import APPROVER, RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    blocks_text,
    click_reply,
    ephemeral_text,
    run_to_end,
)

ONCALL = "<!subteam^S0ONCALL>"
HERE = "<!here>"


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config(announcements={"mentions": {"critical": ONCALL, "high": HERE}})
    cfg["simulated"]["fail_verify"] = "-flaky$"
    cfg["environments"]["staging"] = {"verify": {"bake": "1m", "auto_rollback": True}}
    return cfg


def deploy_to_end(bot: RunningBot, text: str) -> State:
    ephemeral_text(bot, bot.deploy(text))
    if text.startswith("production "):
        assert "starting now" in click_reply(bot, 1, APPROVER)
    return run_to_end(bot, 1)


def the_announcement(bot: RunningBot) -> tuple[str, str, str]:
    """(fallback text, first line of the message, every text of its blocks)."""
    (ann,) = announcements(bot)
    body = blocks_text(ann)
    return str(ann["text"]), body.splitlines()[0], body


def test_a_failed_production_deploy_is_critical_and_pages_on_call(bot: RunningBot) -> None:
    assert deploy_to_end(bot, "production v1.2.3-bad") is State.FAILED
    text, first, body = the_announcement(bot)
    assert first == ONCALL  # the mention opens the announcement
    assert "Severity: critical" in body
    assert "❌ *Deploy of api `v1.2.3-bad` to production failed*" in body
    assert "Cause: simulated failure" in body
    assert text == f"Critical: {ONCALL} #1 api v1.2.3-bad → production: failed"
    assert HERE not in text + body


def test_a_production_deploy_rolled_back_after_its_watch_is_critical(bot: RunningBot) -> None:
    assert deploy_to_end(bot, "production v1.2.3-flaky") is State.ROLLED_BACK
    text, first, body = the_announcement(bot)
    assert first == ONCALL
    assert "Severity: critical" in body
    assert "failed verification, rolled back to `v1.2.2`" in body
    assert text.startswith(f"Critical: {ONCALL} #1 ")


def test_a_succeeded_production_deploy_is_low_without_a_mention(bot: RunningBot) -> None:
    assert deploy_to_end(bot, "production v1.2.3") is State.SUCCEEDED
    text, first, body = the_announcement(bot)
    assert first == "✅ *api `v1.2.3` is live in production*"
    assert "Severity: low" in body
    assert text == "#1 api v1.2.3 → production: succeeded"
    assert "<!" not in text + body


def test_an_automatic_rollback_in_staging_is_critical_and_pages_on_call(
        bot: RunningBot) -> None:
    assert deploy_to_end(bot, "staging v1.2.3-flaky") is State.ROLLED_BACK
    text, first, body = the_announcement(bot)
    assert first == ONCALL
    assert "Severity: critical" in body
    assert text == f"Critical: {ONCALL} #1 api v1.2.3-flaky → staging: rolled_back"
    assert HERE not in text + body


def test_a_failed_staging_rollout_is_medium_without_a_mention(bot: RunningBot) -> None:
    assert deploy_to_end(bot, "staging v1.2.3-bad") is State.FAILED
    text, first, body = the_announcement(bot)
    assert first == "❌ *Deploy of api `v1.2.3-bad` to staging failed*"
    assert "Severity: medium" in body
    assert text == "#1 api v1.2.3-bad → staging: failed"  # no severity in front: medium
    assert "<!" not in text + body


class TestConfigured:
    """The mapping is configurable: which environments are production, and the levels."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = base_config(announcements={"mentions": {"critical": ONCALL},
                                         "severity": {"succeeded": "medium"}})
        cfg["environments"]["staging"] = {"production": True}
        return cfg

    def test_a_failure_in_an_environment_marked_production_is_critical(
        self, bot: RunningBot,
    ) -> None:
        assert deploy_to_end(bot, "staging v1.2.3-bad") is State.FAILED
        text, first, body = the_announcement(bot)
        assert first == ONCALL
        assert "Severity: critical" in body
        assert text.startswith(f"Critical: {ONCALL} #1 ")

    def test_an_overridden_level(self, bot: RunningBot) -> None:
        assert deploy_to_end(bot, "staging v1.2.3") is State.SUCCEEDED
        text, _, body = the_announcement(bot)
        assert "Severity: medium" in body
        assert text == "#1 api v1.2.3 → staging: succeeded"


# -- the message itself (pure) ---------------------------------------------------------------

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


def failed() -> Deployment:
    return Deployment(id=7, service="api", environment="production", version="v1.2.3",
                      previous_version="v1.2.2", state=State.FAILED, requested_by="U0ALICE",
                      requested_at=T0, approvals_required=1, started_at=T0, finished_at=T0,
                      error="simulated failure")


@pytest.mark.parametrize(("severity", "prefix"), [
    (Severity.CRITICAL, "Critical: "), (Severity.HIGH, "High: "), (Severity.MEDIUM, ""),
    (Severity.LOW, ""),
])
def test_the_fallback_text_starts_with_a_loud_severity(severity: Severity, prefix: str) -> None:
    msg = announcement(failed(), ZONE, None, severity=severity)
    assert msg.text == f"{prefix}#7 api v1.2.3 → production: failed"
    section, context = msg.blocks
    assert section["text"]["text"].startswith("❌ *Deploy of api")
    assert context == {"type": "context",
                       "elements": [{"type": "mrkdwn", "text": f"Severity: {severity}"}]}


def test_the_mention_opens_the_message_and_its_text() -> None:
    msg = announcement(failed(), ZONE, "https://example.slack.com/x", severity=Severity.CRITICAL,
                       mention="<!subteam^S0ONCALL> <@U0CAROL>")
    assert msg.text == "Critical: <!subteam^S0ONCALL> <@U0CAROL> #7 api v1.2.3 → production: failed"
    lines = msg.blocks[0]["text"]["text"].splitlines()
    assert lines[0] == "<!subteam^S0ONCALL> <@U0CAROL>"
    assert lines[1].startswith("❌ *Deploy of api `v1.2.3` to production failed*")
    assert lines[-1] == "<https://example.slack.com/x|Deployment thread>"
