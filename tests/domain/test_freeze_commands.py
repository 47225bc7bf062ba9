"""The `/freeze` text parser: every accepted form, and each bad input with its own message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.freeze_commands import (
    MAX_TEXT,
    USAGE,
    FreezeAddArgs,
    FreezeHelpArgs,
    FreezeListArgs,
    FreezeParsed,
    FreezeRemoveArgs,
    FreezeStatusArgs,
    FreezeUsageError,
    parse_freeze,
)
from bot.errors import UserError

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
ENVIRONMENTS = ("development", "staging", "production")
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wed 10:00 in New York


def parse(text: str, *, zone: ZoneInfo = NY, at: datetime = NOW) -> FreezeParsed:
    return parse_freeze(text, environments=ENVIRONMENTS, zone=zone, at=at)


def add(text: str, *, zone: ZoneInfo = NY, at: datetime = NOW) -> FreezeAddArgs:
    parsed = parse("add " + text, zone=zone, at=at)
    assert isinstance(parsed, FreezeAddArgs)
    return parsed


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def problem(text: str, *, at: datetime = NOW) -> str:
    with pytest.raises(FreezeUsageError) as e:
        parse(text, at=at)
    assert isinstance(e.value, UserError)
    assert e.value.message.endswith(USAGE)  # the usage follows every problem
    return e.value.problem


# -- the simple forms -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("", FreezeStatusArgs()),
    ("   ", FreezeStatusArgs()),
    ("status", FreezeStatusArgs()),
    ("list", FreezeListArgs()),
    (" LIST ", FreezeListArgs()),
    ("help", FreezeHelpArgs()),
    ("remove 3", FreezeRemoveArgs(3)),
    ("remove #3", FreezeRemoveArgs(3)),
    ("remove runtime:12", FreezeRemoveArgs(12)),
    ("rm 7", FreezeRemoveArgs(7)),
])
def test_simple_forms(text: str, expected: FreezeParsed) -> None:
    assert parse(text) == expected


# -- add ----------------------------------------------------------------------------------------

def test_the_issue_example_in_the_team_zone() -> None:
    a = add('"Company offsite" 2026-12-10 09:00 to 2026-12-11 18:00')
    assert a == FreezeAddArgs(name="Company offsite", start=ny(2026, 12, 10, 9, 0),
                              end=ny(2026, 12, 11, 18, 0), environments=None, reason="")
    assert a.start == datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # EST is UTC-5


def test_curly_quotes_as_slack_clients_type_them() -> None:
    a = add("“Company offsite” 2026-12-10 09:00 to 2026-12-11 18:00")
    assert a.name == "Company offsite"
    assert a.end == ny(2026, 12, 11, 18, 0)


def test_a_date_alone_means_the_whole_day() -> None:
    a = add('"Offsite" 2026-12-10 to 2026-12-11')
    assert (a.start, a.end) == (ny(2026, 12, 10, 0, 0), ny(2026, 12, 12, 0, 0))
    one = add('"Offsite" 2026-12-10 to 2026-12-10')
    assert (one.start, one.end) == (ny(2026, 12, 10, 0, 0), ny(2026, 12, 11, 0, 0))
    mixed = add('"Offsite" 2026-12-10 13:30 to 2026-12-10')
    assert (mixed.start, mixed.end) == (ny(2026, 12, 10, 13, 30), ny(2026, 12, 11, 0, 0))


def test_iso_8601_with_any_offset_or_none() -> None:
    a = add('"x" 2026-12-10T09:00-08:00 to 2026-12-10T20:00Z')
    assert a.start == datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
    assert a.end == datetime(2026, 12, 10, 20, 0, tzinfo=UTC)
    b = add('"x" 2026-12-10T09:00:00+01:00 to 2026-12-10T18:00')  # no offset: the team's zone
    assert b.start == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    assert b.end == ny(2026, 12, 10, 18, 0)


def test_times_are_read_in_the_zone_passed_in() -> None:
    a = add('"x" 2026-12-10 09:00 to 2026-12-10 18:00', zone=BERLIN)
    assert a.start == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    assert a.end == datetime(2026, 12, 10, 17, 0, tzinfo=UTC)


def test_daylight_saving_days_are_real_days() -> None:
    # 2026-03-08: New York springs forward at 02:00; the day is 23 hours long.
    a = add('"DST" 2026-03-08 to 2026-03-08', at=datetime(2026, 3, 1, tzinfo=UTC))
    assert a.end - a.start == timedelta(hours=23)
    # A wall time in the skipped hour starts at the first real instant after it (03:00 EDT).
    b = add('"gap" 2026-03-08 02:30 to 2026-03-08 05:00', at=datetime(2026, 3, 1, tzinfo=UTC))
    assert b.start == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_environments_reason_and_their_spellings() -> None:
    a = add('"Offsite" 2026-12-10 09:00 to 2026-12-11 18:00 production staging '
            '--reason "all hands, see https://example.com/offsite"')
    assert a.environments == ("production", "staging")
    assert a.reason == "all hands, see https://example.com/offsite"
    b = add('"Offsite" 2026-12-10 to 2026-12-11 production,staging, production')
    assert b.environments == ("production", "staging")  # duplicates dropped, order kept
    c = add('"Offsite" 2026-12-10 to 2026-12-11 --reason “curly reason” production')
    assert (c.environments, c.reason) == (("production",), "curly reason")
    d = add('"Offsite" 2026-12-10 to 2026-12-11 --reason=drill')
    assert (d.environments, d.reason) == (None, "drill")


def test_name_spaces_are_collapsed_and_to_is_case_insensitive() -> None:
    a = add('"  Company   offsite " 2026-12-10 TO 2026-12-11')
    assert a.name == "Company offsite"


def test_a_freeze_that_started_already_but_runs_on_is_accepted() -> None:
    a = add('"Ongoing" 2026-11-18 to 2026-11-19')  # now is 2026-11-18 10:00
    assert a.start < NOW < a.end


# -- bad input, each with its own message ---------------------------------------------------------

BAD = [
    pytest.param('add "x" 2026-12-1O 09:00 to 2026-12-11 18:00',
                 "`2026-12-1O` is not a date and time I can read", id="letter-o-in-date"),
    pytest.param('add "x" tomorrow to 2026-12-11', "`tomorrow` is not a date and time",
                 id="word-as-date"),
    pytest.param('add "x" 2026-12-10 25:00 to 2026-12-11', "`2026-12-10 25:00` is not a date",
                 id="hour-25"),
    pytest.param('add "x" 2026-12-10 9am to 2026-12-11', "`2026-12-10 9am` is not a date",
                 id="am-pm"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 6pm', "`6pm` is not a date and time",
                 id="am-pm-in-end"),
    pytest.param('add "x" 2026-02-30 to 2026-03-02', "`2026-02-30` is not a date (no such day)",
                 id="no-such-day"),
    pytest.param('add "x" 12/10/2026 to 12/11/2026', "`12/10/2026` is not a date and time",
                 id="us-date"),
    pytest.param('add "x" 2026-12-10T09:00+25:00 to 2026-12-11',
                 "`2026-12-10T09:00+25:00` is not a date and time", id="bad-offset"),
    pytest.param('add "x" 2026-12-11 10:00 to 2026-12-11 09:00',
                 "The end (Fri 2026-12-11 09:00 EST) is before the start "
                 "(Fri 2026-12-11 10:00 EST)", id="end-before-start"),
    pytest.param('add "x" 2026-12-11 to 2026-12-10',
                 "The end (the whole day 2026-12-10) is before the start "
                 "(Fri 2026-12-11 00:00 EST)", id="end-day-before-start-day"),
    pytest.param('add "x" 2026-12-11 10:00 to 2026-12-11 10:00',
                 "The end is the same moment as the start (Fri 2026-12-11 10:00 EST)",
                 id="end-equals-start"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 prod',
                 "Unknown environment `prod`. Known environments: `development`, `production`, "
                 "`staging`", id="unknown-environment"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 production,qa',
                 "Unknown environment `qa`", id="unknown-environment-in-list"),
    pytest.param("add Company offsite 2026-12-10 to 2026-12-11",
                 "Put the freeze name in quotes", id="name-without-quotes"),
    pytest.param('add "Company offsite 2026-12-10 to 2026-12-11',
                 "The freeze name has no closing quote", id="unclosed-quote"),
    pytest.param('add "" 2026-12-10 to 2026-12-11', "The freeze name is empty", id="empty-name"),
    pytest.param("add", "Name the freeze and give its start and end", id="nothing"),
    pytest.param('add "' + "n" * 81 + '" 2026-12-10 to 2026-12-11',
                 "The freeze name is 81 characters long; the limit is 80", id="long-name"),
    pytest.param('add "<!channel> party" 2026-12-10 to 2026-12-11',
                 "may not contain `&lt;`, `&gt;`", id="mention-in-name"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 --reason "<!here> look"',
                 "Mentions (`@channel`, `@someone`, `#channel`) are not allowed",
                 id="mention-reason"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 --reason', "The reason is empty",
                 id="reason-missing"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 --reason "a" --reason "b"',
                 "`--reason` is given twice", id="reason-twice"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 --reason "unclosed',
                 "The reason has no closing quote", id="reason-unclosed"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 --reason: "why"',
                 "Put the reason in quotes", id="reason-garbled"),
    pytest.param('add "x" 2026-12-10 09:00 2026-12-11', "separated by `to`", id="no-to"),
    pytest.param('add "x" 2026-12-10 to 2026-12-11 to 2026-12-12', "`to` appears twice",
                 id="two-tos"),
    pytest.param('add "x" to 2026-12-11', "When does the freeze start?", id="no-start"),
    pytest.param('add "x" 2026-12-10 to', "When does the freeze end?", id="no-end"),
    pytest.param('add "x" 2025-12-24 to 2025-12-26',
                 "That freeze is entirely in the past: it ended Sat 2025-12-27 00:00 EST "
                 "(now it is Wed 2026-11-18 10:00 EST)", id="past"),
    pytest.param('add "x" 2026-11-18 08:00 to 2026-11-18 10:00',
                 "entirely in the past: it ended Wed 2026-11-18 10:00 EST", id="ends-right-now"),
    pytest.param("x" * (MAX_TEXT + 1), f"{MAX_TEXT + 1} characters long; the limit is {MAX_TEXT}",
                 id="too-long"),
    pytest.param("frobnicate", "Unknown `/freeze` subcommand `frobnicate`", id="unknown-sub"),
    pytest.param("list all", "`/freeze list` takes nothing after it", id="list-with-args"),
    pytest.param("remove", "Which freeze? Give its number from `/freeze list`", id="remove-no-id"),
    pytest.param("remove three", "Which freeze?", id="remove-word"),
    pytest.param("remove 1 2", "Which freeze?", id="remove-two"),
    pytest.param("remove rule:bfcm:2026", "is not a freeze added with `/freeze add`",
                 id="remove-computed"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_input_names_the_problem(text: str, message: str) -> None:
    assert message in problem(text)


def test_the_past_is_judged_by_the_time_passed_in() -> None:
    text = 'add "x" 2025-12-24 to 2025-12-26'
    assert isinstance(parse(text, at=datetime(2025, 12, 1, tzinfo=UTC)), FreezeAddArgs)
    assert "entirely in the past" in problem(text, at=datetime(2025, 12, 27, 5, 0, tzinfo=UTC))


def test_the_usage_escapes_angle_brackets_for_slack() -> None:
    assert "<" not in USAGE and ">" not in USAGE
    assert "/freeze remove &lt;number&gt;" in USAGE


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_freeze("list", environments=ENVIRONMENTS, zone=NY, at=datetime(2026, 1, 1))


def test_offsets_are_kept_as_instants() -> None:
    a = add('"x" 2026-12-10T09:00+05:30 to 2026-12-10T10:00+05:30')
    assert a.start.utcoffset() is not None
    assert a.start == datetime(2026, 12, 10, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
