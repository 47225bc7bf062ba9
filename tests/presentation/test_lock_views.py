"""`/lock list` (lock_views.lock_list_view, pure): each lock in force is worded as App Home
and `/deploy status` word it (lock_views.lock_note), after its environment and service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.locks import ROLLBACK, Lock
from bot.presentation.lock_views import lock_list_view

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)  # Fri 13:30 in New York


def test_a_rollbacks_lock_reads_as_on_the_status_line() -> None:
    lock = Lock(id=1, environment="staging", service="api", holder="U0BOB",
                reason="v1.2.4 was aborted by <@U0BOB>; rolled back to v1.2.3", origin=ROLLBACK,
                created_at=AT - timedelta(minutes=25), expires_at=None, deployment_id=5)
    message = lock_list_view([lock], AT, NY)
    assert message.blocks[0]["text"]["text"] == (
        "*Locks in force* — now Fri 2026-12-04 13:30 EST\n"
        "• `staging` / `api` — 🔒 locked by <@U0BOB> after rollback #5 since Fri 2026-12-04 "
        "13:05 EST, until unlocked: v1.2.4 was aborted by <@U0BOB>; rolled back to v1.2.3")
