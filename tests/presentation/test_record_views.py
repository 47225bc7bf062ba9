"""The result announcement and the record of a deployment (bot.presentation.record_views)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment, Kind
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.presentation.record_views import announcement

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def migration(**kw: object) -> Deployment:
    base: dict[str, object] = dict(
        id=2, service="api", environment="staging", version="v1.2.3", kind=Kind.MIGRATE,
        target="orders 0042_previous", previous_version="v1.2.3", state=State.SUCCEEDED,
        requested_by="U0BOB", requested_at=T0, approvals_required=0, started_at=T0,
        finished_at=T0 + timedelta(seconds=1))
    base.update(kw)
    return Deployment(**base)  # type: ignore[arg-type]


def test_a_migration_run_names_the_image_it_ran_from_not_a_previous_version() -> None:
    # '🗄️ api migrations in staging are at `orders 0042_previous`' went on 'Requested by
    # @U0BOB · took 1s · previous `v1.2.3`': a migration run replaces no version — v1.2.3 is
    # the image its Job ran from, and still runs (the card says 'From the image of').
    for d in (migration(), migration(state=State.FAILED, error="migrate Job failed")):
        text = announcement(d, NY, None, severity=Severity.LOW).blocks[0]["text"]["text"]
        assert "Requested by <@U0BOB> · took 1s · from the image of `v1.2.3`" in text
        assert "previous `" not in text


def test_a_rollback_done_names_what_it_replaced_once() -> None:
    # '↩️ api is rolled back to `v1.2.3` in production (replacing `v1.2.4`, deployment #4)'
    # went on 'Requested by @U0CAROL · took 5m 03s · previous `v1.2.4`': the same thing twice.
    # A rollback that failed replaced nothing: its line keeps what ran before.
    done = migration(kind=Kind.ROLLBACK, target=None, version="v1.2.3", rollback_of=4,
                     previous_version="v1.2.4", environment="production")
    text = announcement(done, NY, None, severity=Severity.HIGH).blocks[0]["text"]["text"]
    assert "(replacing `v1.2.4`, deployment #4)" in text
    assert "Requested by <@U0BOB> · took 1s\n" in text + "\n" and "previous `" not in text
    failed = migration(kind=Kind.ROLLBACK, target=None, version="v1.2.3", rollback_of=4,
                       previous_version="v1.2.4", state=State.FAILED, error="image pull")
    text = announcement(failed, NY, None, severity=Severity.HIGH).blocks[0]["text"]["text"]
    assert "took 1s · previous `v1.2.4`" in text
