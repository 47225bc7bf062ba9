"""bot.domain.record's "Feature flags set" (issue 17): the declared flags as read when the
rollout started, in the Deployment part — ✅ as declared, ❌ with what was missing or not as
expected, ⚪ when they could not be read; no line without a reading."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.deployment import Deployment
from bot.domain.flag_status import Declared, from_document, unreadable
from bot.domain.flags import FlagDocument
from bot.domain.record import FLAGS_SET, Item, Mark, build_record
from bot.domain.states import State
from tests.domain.test_flags import document

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
D = Deployment(id=7, service="api", environment="production", version="v1.2.3",
               previous_version="v1.2.2", state=State.SUCCEEDED, requested_by="U0ALICE",
               requested_at=AT, approvals_required=0, started_at=AT, finished_at=AT)


def flags_line(d: Deployment, reading: object) -> Item | None:
    sections = {s.title: s.items for s in build_record(d, None, reading)}  # type: ignore[arg-type]
    return next((i for i in sections["Deployment"] if i.label == FLAGS_SET), None)


def doc() -> FlagDocument:
    return FlagDocument.parse(document(), where="x")


def test_flags_as_declared_are_done_with_their_values_and_where() -> None:
    r = from_document([Declared("simple", "on")], doc(), where="FeatureFlag x", at=AT)
    assert flags_line(D, r) == Item(FLAGS_SET, Mark.DONE, "`simple` `yes` (true) (read from "
                                    "FeatureFlag x as the rollout started)")


def test_missing_or_wrong_flags_are_failed_naming_them() -> None:
    r = from_document([Declared("gone"), Declared("simple", "off")], doc(), where="x", at=AT)
    item = flags_line(replace(D, state=State.RUNNING), r)
    assert item is not None and item.mark is Mark.FAILED
    assert item.detail == ("`gone` missing, `simple` `yes` (true) — `gone` missing; `simple` "
                           "serves `yes`, expected `off` (read from x as the rollout started)")


def test_unreadable_flags_are_not_checked_and_no_reading_no_line() -> None:
    r = unreadable("ofrep", "the flag service at http://f", at=AT, problem="unreachable")
    assert flags_line(D, r) == Item(FLAGS_SET, Mark.NOT_CHECKED, "could not be read as the "
                                    "rollout started: unreachable")
    assert flags_line(D, None) is None
