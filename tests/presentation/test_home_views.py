"""The App Home view (pure): what it shows, the Approve / Reject buttons of the cards, and
Slack's limits (100 blocks, 3000 characters a text) with 200 services, saying what was cut."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.deployment import Decision, Deployment
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.home_views import MAX_BLOCKS, home_view
from bot.presentation.lock_views import locked_note
from bot.services.home import EnvironmentHome, Home, ServiceLine
from bot.services.policy import WindowStatus
from devtools.fake_slack import view_problems

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wed 10:00 in New York
FRIDAY_14 = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)


def window(env: str, *, open_: bool = True) -> WindowStatus:
    if open_:
        decision = PolicyDecision(allowed=True, reasons=(), next_allowed_at=AT)
        return WindowStatus(environment=env, decision=decision, next_change=FRIDAY_14,
                            upcoming=(), schedule=None)
    decision = PolicyDecision(allowed=False, reasons=("Offsite freeze until Thu",),
                              next_allowed_at=FRIDAY_14, blocked_by=("freeze:x",))
    return WindowStatus(environment=env, decision=decision, next_change=FRIDAY_14,
                        upcoming=(), schedule=None)


def deployment(i: int, state: State = State.AWAITING_APPROVAL, **kw: Any) -> Deployment:
    fields: dict[str, Any] = {
        "id": i, "service": f"svc-{i:03d}", "environment": "production",
        "version": f"v2.0.{i}", "previous_version": "v1.0.0", "state": state,
        "requested_by": "U0ALICE", "requested_at": AT, "approvals_required": 1,
        "expires_at": AT + timedelta(hours=2)}
    fields.update(kw)
    return Deployment(**fields)


def lock(env: str, service: str, **kw: Any) -> Lock:
    fields: dict[str, Any] = {"id": 1, "environment": env, "service": service,
                              "holder": "U0BOB", "reason": "db <!channel> maintenance",
                              "origin": "manual", "created_at": AT}
    fields.update(kw)
    return Lock(**fields)


def texts(view: dict[str, Any]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(view["blocks"])
    return "\n".join(out)


def small_home() -> Home:
    staging = EnvironmentHome(window=window("staging"), services=(
        ServiceLine("web", "v3.1.0", AT - timedelta(days=1), False, None),
        ServiceLine("api", "v1.2.3", AT, False, lock("staging", "api",
                                                     expires_at=AT + timedelta(hours=2))),
        ServiceLine("worker", None, None, False, None),
    ))
    production = EnvironmentHome(window=window("production", open_=False), services=(
        ServiceLine("api", "v1.2.2", None, True, None),
        ServiceLine("web", "v3.0.0", AT - timedelta(days=3), False,
                    lock("production", "web", origin="rollback", reason="")),
        ServiceLine("worker", None, None, False, None),
    ))
    pending = deployment(7, decisions=(Decision("U0CAROL", True, AT),), approvals_required=2,
                         emergency_reason="incident <https://x.io/1|INC-1> <!here>")
    recent = (pending, deployment(6, State.SUCCEEDED, environment="staging"))
    return Home(at=AT, environments=(staging, production), pending=(pending,),
                pending_total=1, recent=recent, unresolved=0)


def test_a_small_home_shows_everything_in_order_with_the_cards_buttons() -> None:
    view = home_view(small_home(), NY)

    assert view["type"] == "home"
    assert view["callback_id"] == ids.HOME_VIEW
    assert view_problems(view) == []
    shown = texts(view)
    expected_order = [
        "⏳ Waiting for approval* (1)",
        "*#7 svc-007 v2.0.7 → production*",
        "🚨 Emergency: incident <https://x.io/1> &lt;!here&gt;",
        "Requested by <@U0ALICE> Wed 2026-11-18 10:00 EST · approvals 1/2 · expires Wed "
        "2026-11-18 12:00 EST",
        # an environment with a locked service is never plainly "open now"
        "`staging`: 🟢 open now · 🔒 `api` locked by <@U0BOB> — next change: Fri "
        "2026-11-20 14:00 EST, the schedule closes",
        # Locked first, then by name; unknown versions together.
        "• `api` `v1.2.3` since Wed 2026-11-18 10:00 EST — 🔒 locked by <@U0BOB> since Wed "
        "2026-11-18 10:00 EST, until Wed 2026-11-18 12:00 EST: db &lt;!channel&gt; maintenance",
        "• `web` `v3.1.0` since Tue 2026-11-17 10:00 EST",
        "• Version not known yet: `worker`",
        "`production`: 🔴 closed: Offsite freeze until Thu — opens Fri 2026-11-20 14:00 EST"
        " · 🔒 `web` locked by <@U0BOB>",
        "• `web` `v3.0.0` since Sun 2026-11-15 10:00 EST — 🔒 locked by <@U0BOB> after a "
        "rollback since Wed 2026-11-18 10:00 EST, until unlocked",
        "• `api` `v1.2.2` (since unknown)",
        "*Last 2 deployments*",
        "• #7 `svc-007` `v2.0.7` → `production` — ⏳ Awaiting approval — <@U0ALICE>",
        "• #6 `svc-006` `v2.0.6` → `staging` — ✅ Succeeded — <@U0ALICE>",
    ]
    positions = [shown.index(part) for part in expected_order]
    assert positions == sorted(positions)
    assert "Not shown" not in shown
    assert "not looked up" not in shown
    [actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    assert actions["block_id"] == f"{ids.HOME_APPROVAL_BLOCK}.7"
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (ids.APPROVE, "7"), (ids.REJECT, "7")]
    assert actions["elements"][0]["confirm"]["title"]["text"] == "Approve this deploy?"


def test_nothing_yet() -> None:
    home = Home(at=AT, environments=(EnvironmentHome(window("staging"), ()),), pending=(),
                pending_total=0, recent=(), unresolved=3)
    view = home_view(home, NY)
    shown = texts(view)
    assert "Waiting for approval" not in shown
    assert "_No services deploy here._" in shown
    assert "_None yet._" in shown
    assert "3 running version(s) not looked up in the cluster yet" in shown


def big_home(*, services: int = 200, envs: int = 3, pending: int = 15) -> Home:
    names = [f"service-with-a-longish-name-{i:03d}" for i in range(services)]
    environments = []
    for e in range(envs):
        env = f"env-{e}"
        lines = []
        for i, name in enumerate(names):
            if i % 10 == 0:
                lines.append(ServiceLine(name, None, None, False, None))
            else:
                lines.append(ServiceLine(
                    name, f"v{i}.{e}.0-build.{i * 7919}", AT - timedelta(hours=i), False,
                    lock(env, name, reason="x" * 500, expires_at=AT + timedelta(hours=1))
                    if i % 25 == 1 else None))
        environments.append(EnvironmentHome(window=window(env), services=tuple(lines)))
    waiting = tuple(deployment(i) for i in range(1, pending + 1))
    recent = tuple(deployment(100 + i, State.SUCCEEDED) for i in range(10))
    return Home(at=AT, environments=tuple(environments), pending=waiting[:8],
                pending_total=pending, recent=recent, unresolved=17)


def shown_services(shown: str) -> int:
    """How many services the view names (one per line, or several on an unknown line)."""
    return sum(ln.count("`service-with") for ln in shown.splitlines()
               if ln.startswith(("• `service-with", "• Version not known yet: ", "• … ")))


def test_200_services_in_3_environments_fit_slacks_limits() -> None:
    view = home_view(big_home(), NY)

    assert view_problems(view) == []
    assert len(view["blocks"]) <= MAX_BLOCKS
    shown = texts(view)
    for e in range(3):
        assert f"`env-{e}`: 🟢 open now" in shown
    assert shown.count("🔒 locked by") == 3 * 8
    assert shown_services(shown) == 3 * 200  # all of them, packed
    assert "Not shown" not in shown
    assert "…and 7 more waiting for approval" in shown
    assert "Last 10 deployments" in shown
    assert "17 running version(s) not looked up in the cluster yet" in shown


def test_what_does_not_fit_is_cut_and_counted_per_environment() -> None:
    view = home_view(big_home(services=1000), NY)

    assert view_problems(view) == []
    assert len(view["blocks"]) == MAX_BLOCKS
    shown = texts(view)
    cut = {env: int(n) for n, env in re.findall(r"(\d+) service\(s\) in (env-\d)", shown)}
    assert set(cut) == {"env-0", "env-1", "env-2"}
    assert shown_services(shown) + sum(cut.values()) == 3 * 1000
    assert shown.count("🔒 locked by") == 3 * 40  # locked services come first, never cut
    for e in range(3):
        assert f"…and {cut[f'env-{e}']} more service(s) not shown here" in shown
    assert "Last 10 deployments" in shown  # the parts after the environments are kept


def test_many_environments_still_fit() -> None:
    view = home_view(big_home(services=20, envs=60, pending=0), NY)
    assert view_problems(view) == []
    assert len(view["blocks"]) <= MAX_BLOCKS
    assert "Not shown, to stay within Slack's limit of 100 blocks: the environments" \
        in texts(view)


def test_a_rollbacks_lock_keeps_the_mention_deploybot_wrote_a_typed_one_mentions_nobody(
        ) -> None:
    """An abort's lock reason names who aborted (`<@U0ALICE>`, written by deploybot): the
    tab shows it as a mention, not as the text `<@U0ALICE>`; a reason someone typed still
    mentions nobody."""
    aborted = lock("staging", "api", origin="rollback",
                   reason="v1.3.0 was aborted by <@U0ALICE>; rolled back to v1.2.2; unlock "
                          "when it is safe to deploy again")
    typed = lock("production", "api", reason="ask <@U0CAROL> first")
    home = Home(at=AT, environments=(
        EnvironmentHome(window("staging"), (ServiceLine("api", "v1.2.2", AT, False, aborted),)),
        EnvironmentHome(window("production"), (ServiceLine("api", "v1.2.2", AT, False, typed),)),
    ), pending=(), pending_total=0, recent=(), unresolved=0)
    shown = texts(home_view(home, NY))
    assert "until unlocked: v1.3.0 was aborted by <@U0ALICE>; rolled back to v1.2.2" in shown
    assert "&lt;@U0ALICE&gt;" not in shown
    assert "ask &lt;@U0CAROL&gt; first" in shown


def test_a_window_line_names_three_locked_services_and_counts_the_others() -> None:
    locks = [Lock(id=i, environment="staging", service=name, holder=f"U0{name.upper()}",
                  reason="r", origin="manual", created_at=AT)
             for i, name in enumerate(["web", "api", "jobs", "cron", "auth"])]
    assert locked_note(locks) == ("🔒 `api` locked by <@U0API>, `auth` locked by <@U0AUTH>, "
                                  "`cron` locked by <@U0CRON> and 2 more services locked")
    assert locked_note(locks[:4]).endswith("`jobs` locked by <@U0JOBS> and 1 more service locked")
    assert locked_note([]) == ""
