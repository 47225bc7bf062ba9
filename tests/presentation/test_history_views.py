"""The `/deploys` and `/audit` views (pure Block Kit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.audit import AuditEvent
from bot.domain.deployment import Decision, Deployment, Kind
from bot.domain.dora import DoraStats, Restore
from bot.domain.states import State
from bot.presentation.audit_views import audit_view, event_line
from bot.presentation.history_views import cause, history_line, span, stats_view

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def dep(**kw: object) -> Deployment:
    base: dict[str, object] = dict(
        id=7, service="api", environment="production", version="v1.2.2",
        previous_version="v1.2.3", state=State.SUCCEEDED, requested_by="U0ALICE",
        requested_at=T0, approvals_required=0, started_at=T0 + M,
        finished_at=T0 + 3 * M + 5 * timedelta(seconds=1))
    base.update(kw)
    return Deployment(**base)  # type: ignore[arg-type]


def test_span() -> None:
    assert [span(x) for x in (None, timedelta(seconds=45), 12 * M + timedelta(seconds=30),
                              125 * M, timedelta(days=3, hours=4))] == [
        "—", "45s", "12m 30s", "2h 05m", "3d 4h"]


def test_cause_keeps_mentions_and_links_only() -> None:
    assert cause("rolled back by <@U0BOB> <!here> see <https://x.test/a|this>") == \
        "rolled back by <@U0BOB> &lt;!here&gt; see <https://x.test/a>"


def test_lines_of_each_kind() -> None:
    rollback = dep(kind=Kind.ROLLBACK, rollback_of=6)
    assert history_line(rollback, NY) == (
        "*#7* ↩️ rollback · `api` back to `v1.2.2` in *production* (from `v1.2.3`) · "
        "✅ Succeeded\n<@U0ALICE> · Wed 2026-11-18 10:01 EST · took 2m 05s")
    migration = dep(kind=Kind.MIGRATE, target="orders <!channel>", state=State.FAILED,
                    error="migrate Job failed")
    assert history_line(migration, NY).startswith(
        "*#7* 🗄️ migration run · `api` migrations → `orders &lt;!channel&gt;` in "
        "*production* · ❌ Failed — migrate Job failed\n")
    emergency = dep(emergency_reason="INC-1", version="v1.2.4", approvals_required=1,
                    decisions=(Decision("U0CAROL", True, T0 + M),), started_at=None,
                    finished_at=None, state=State.QUEUED)
    assert history_line(emergency, NY) == (
        "*#7* 🚨 emergency deploy · `api` `v1.2.4` → *production* · 📥 Approved, queued\n"
        "<@U0ALICE> · requested Wed 2026-11-18 10:00 EST · approved by <@U0CAROL>")
    rejected = dep(state=State.REJECTED, approvals_required=1, started_at=None,
                   decisions=(Decision("U0BOB", False, T0 + M),), finished_at=T0 + M)
    assert history_line(rejected, NY).endswith("· rejected by <@U0BOB>")


def test_stats_per_environment() -> None:
    open_ = Restore(1, "production", "api", T0 - 60 * M, None)
    st = DoraStats(since=T0 - timedelta(days=30), until=T0, changes=3, failed=1, rollbacks=0,
                   restores=(open_,))
    msg = stats_view(st, NY, environments=["staging", "production"], service="api",
                     default_scope=False,
                     per_environment=[("staging", DoraStats(st.since, T0, 0, 0, 0, ())),
                                      ("production", st)])
    text = msg.blocks[0]["text"]["text"]
    assert "*Time to restore:* median —, worst — (0 failure(s) restored); 1 not restored " \
           "yet, the oldest since Wed 2026-11-18 09:00 EST" in text
    per_env = msg.blocks[1]["text"]["text"].splitlines()
    assert per_env == [
        "*Per environment*",
        "• `staging`: 0 deploys (0.0 a day) · failure rate — · restore median —, worst —",
        "• `production`: 3 deploys (0.1 a day) · failure rate 33.3 % · restore median —, "
        "worst —"]


def test_audit_lines_escape_what_users_typed() -> None:
    e = AuditEvent(id=12, at=T0, actor="U0ALICE", action="slack.command",
                   environment="production", deployment_id=None,
                   details={"command": "/deploy", "text": "<!channel> v1 & more"},
                   slack_channel="C1", slack_ts=None)
    assert event_line(e, NY) == (
        "*#12* · Wed 2026-11-18 10:00 EST · <@U0ALICE> · `slack.command` · *production*\n"
        "command: /deploy · text: &lt;!channel&gt; v1 &amp; more")
    bot_event = AuditEvent(id=13, at=T0, actor="deploybot", action="deploy.started",
                           environment=None, deployment_id=4, details={}, slack_channel=None,
                           slack_ts=None)
    assert event_line(bot_event, NY) == \
        "*#13* · Wed 2026-11-18 10:00 EST · deploybot · `deploy.started` · deployment #4"
    page = audit_view([e], NY, environment=None, since=None, since_text=None, more=False,
                      before_id=None)
    assert page.text == "Audit log: all environments"
    assert "older ones" not in page.blocks[-1]["elements"][0]["text"]


def test_a_rolled_back_deploy_says_where_it_went_back_to_before_its_long_cause() -> None:
    """The line is cut at 140 characters of its cause: a long verification failure used to
    push the rollback note ('rolled back to v1.2.2 by …') off the end, and a failed watch
    left live showed 'still live' after it was rolled back."""
    why = ("failed verification: simulated failure: the pods of api v1.3.0-flaky restarted "
           "3 times (version matches simulated.fail_verify `-flaky$`)")
    bad = dep(version="v1.3.0-flaky", environment="staging", state=State.ROLLED_BACK,
              error=f"{why}; v1.3.0-flaky is still live (automatic rollback is off in "
                    "staging); rolled back to v1.2.2 by <@U0BOB> (deployment #8)")
    (first, _) = history_line(bad, NY).split("\n")
    assert first.startswith(
        "*#7* 🚀 deploy · `api` `v1.3.0-flaky` → *staging* · ↩️ Rolled back to `v1.2.2` by "
        "<@U0BOB> (#8) — failed verification: simulated failure:"), first
    assert "still live" not in first, first
    by_itself = dep(state=State.ROLLED_BACK, error="health check failed; rolled back to v1.2.3")
    assert "↩️ Rolled back to `v1.2.3` — health check failed\n" in history_line(by_itself, NY)


def test_a_rejection_after_an_approval_names_the_rejecter_and_partial_approvals_say_so() -> None:
    # Two approvals required: @U0CAROL approved, then @U0DAVE rejected. /deploys read
    # '🚫 Rejected … · approved by @U0CAROL' — the rejecter gone, the approval read as the
    # verdict. An expired request with one of two approvals read 'approved by' the same way.
    first, then = Decision("U0CAROL", True, T0 + M), Decision("U0DAVE", False, T0 + 2 * M)
    rejected = dep(state=State.REJECTED, approvals_required=2, started_at=None,
                   decisions=(first, then), finished_at=T0 + 2 * M)
    assert history_line(rejected, NY).endswith(
        "· rejected by <@U0DAVE> (1 of 2 approvals given: <@U0CAROL>)")
    expired = dep(state=State.EXPIRED, approvals_required=2, started_at=None,
                  decisions=(first,), finished_at=T0 + 2 * M)
    assert history_line(expired, NY).endswith("· 1 of 2 approvals given: <@U0CAROL>")
    waiting = dep(state=State.AWAITING_APPROVAL, approvals_required=2, started_at=None,
                  decisions=(first,), finished_at=None)
    assert history_line(waiting, NY).endswith("· 1 of 2 approvals given: <@U0CAROL>")
    done = dep(approvals_required=2, decisions=(first, Decision("U0BOB", True, T0 + M)))
    assert history_line(done, NY).endswith("· approved by <@U0CAROL>, <@U0BOB>")


def test_an_ended_request_without_approvals_is_not_still_waiting_for_one() -> None:
    # An expired (or cancelled) request read '⌛ Expired … · no approval yet (1 needed)':
    # 'yet' promises one may come; it ended.
    expired = dep(state=State.EXPIRED, approvals_required=1, started_at=None,
                  finished_at=T0 + 2 * M)
    assert history_line(expired, NY).endswith("· no approval given (1 needed)")
    waiting = dep(state=State.AWAITING_APPROVAL, approvals_required=1, started_at=None,
                  finished_at=None)
    assert history_line(waiting, NY).endswith("· no approval yet (1 needed)")


def test_a_queued_deploy_that_needed_no_approval_is_not_called_approved() -> None:
    """Staging (no approval required) read '📥 Approved, queued' on its card and in every
    list, while its record said '⏭️ Approval — not required in this environment'."""
    from bot.presentation.card import deployment_card
    from bot.presentation.parts import deployment_line

    queued = dep(state=State.QUEUED, approvals_required=0, started_at=None, finished_at=None)
    approved = dep(state=State.QUEUED, approvals_required=1, started_at=None, finished_at=None,
                   decisions=(Decision("U0CAROL", True, T0 + M),))
    for line in (history_line(queued, NY), deployment_line(queued, NY),
                 str(deployment_card(queued, NY).blocks)):
        assert "📥 Queued" in line and "Approved" not in line, line
    for line in (history_line(approved, NY), deployment_line(approved, NY),
                 str(deployment_card(approved, NY).blocks)):
        assert "📥 Approved, queued" in line, line
