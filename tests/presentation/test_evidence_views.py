"""bot.presentation.evidence_views: the thread message after a failed rollout reads right
and stays inside Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.domain.failure_evidence import FailureEvidence
from bot.domain.workloads import EventView, PodView, Termination
from bot.presentation import ids
from bot.presentation.evidence_views import SECTION_LIMIT, failure_evidence

ZONE = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 12, 4, 12, 55, tzinfo=UTC)
CRASHING = PodView(name="api-7d9c-x2x", version="v1.2.4", ready=0, containers=1,
                   phase="Running", waiting_reason="CrashLoopBackOff",
                   waiting_message="back-off 40s restarting failed container", restarts=4,
                   last_termination=Termination("Error", 3, AT, ""), container="api",
                   created=AT, node="node-2")


def evidence(**changes: object) -> FailureEvidence:
    base: dict[str, object] = dict(
        environment="production", service="api", version="v1.2.4", pod=CRASHING,
        log_lines=("booting", "KeyError: 'DATABASE_HOST'"), log_previous=True,
        events=(EventView("Warning", "BackOff", "Back-off restarting failed container api",
                          "Pod/api-7d9c-x2x", 7, AT),))
    base.update(changes)
    return FailureEvidence(**base)  # type: ignore[arg-type]


def texts(blocks: list[dict[str, object]]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", ""))  # type: ignore[union-attr]
                     for b in blocks if b["type"] == "section")


def test_it_names_the_pod_the_termination_the_log_lines_and_the_events() -> None:
    msg = failure_evidence(evidence(), 42, ZONE)
    body = texts(msg.blocks)
    assert "`api-7d9c-x2x`" in body and "*CrashLoopBackOff*" in body
    assert "*Error*, exit code 3 at Fri 2026-12-04 13:55 CET" in body
    assert "previous (crashed) run" in body and "KeyError: 'DATABASE_HOST'" in body
    assert "*BackOff* (7 times) Pod/api-7d9c-x2x" in body
    actions = msg.blocks[-1]
    assert actions["block_id"] == ids.TROUBLESHOOT_BLOCK
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [  # type: ignore[index]
        (ids.SHOW_PODS, "42"), (ids.SHOW_LOGS, "42")]
    for block in msg.blocks:  # valid Block Kit as slack_sdk reads it
        Block.parse(block).validate_json()  # type: ignore[union-attr]


def test_log_text_cannot_break_out_of_its_code_block_or_ping_anyone() -> None:
    lines = ("```", "<!channel> & <@U123>")
    body = texts(failure_evidence(evidence(log_lines=lines), 1, ZONE).blocks)
    assert body.count("```") == 2
    assert "<!channel>" not in body and "&lt;!channel&gt; &amp; &lt;@U123&gt;" in body


def test_a_long_log_keeps_its_last_lines_within_a_section() -> None:
    lines = tuple(f"line {i} " + "x" * 200 for i in range(20))
    msg = failure_evidence(evidence(log_lines=lines), 1, ZONE)
    log = next(b for b in msg.blocks if "```" in str(b.get("text", {})))
    text = log["text"]["text"]  # type: ignore[index]
    assert len(text) <= SECTION_LIMIT and "line 19" in text and "line 0 " not in text


def test_what_could_not_be_read_is_said() -> None:
    msg = failure_evidence(evidence(pod=None, log_lines=(), events=(),
                                    unread=("pods: deploybot may not list pods",)), 1, ZONE)
    assert "Could not read: pods: deploybot may not list pods" in str(msg.blocks)
    assert "looks unhealthy" not in str(msg.blocks)
