"""HolidayCalendar over the real `holidays` package: two countries, a subdivision, the names
filter, explicit languages (never the process locale), bad codes, and the freezes they make."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.backends.holiday_calendar import HolidayCalendar
from bot.domain.freezes import holiday_freezes
from bot.domain.policy import decide
from bot.domain.schedule import guide_schedule

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
MAJOR_US = ["New Year's Day", "Independence Day", "Thanksgiving Day", "Christmas Day"]
YEAR_2026 = (date(2026, 1, 1), date(2026, 12, 31))


def test_us_major_holidays_2026_with_the_names_filter() -> None:
    got = HolidayCalendar("US", names=MAJOR_US).between(*YEAR_2026)
    assert got == [
        (date(2026, 1, 1), "New Year's Day"),
        # exact names only: Juneteenth's official name contains "Independence Day" but is
        # not kept; the observed Friday of a named holiday is
        (date(2026, 7, 3), "Independence Day (observed)"),
        (date(2026, 7, 4), "Independence Day"),
        (date(2026, 11, 26), "Thanksgiving Day"),
        (date(2026, 12, 25), "Christmas Day"),
    ]
    assert all("Juneteenth" not in name for _, name in got)


def test_the_names_filter_is_case_insensitive() -> None:
    got = HolidayCalendar("US", names=["christmas DAY", "THANKSGIVING day"]).between(
        *YEAR_2026)
    assert got == [(date(2026, 11, 26), "Thanksgiving Day"), (date(2026, 12, 25), "Christmas Day")]


def test_the_names_filter_is_exact_not_a_substring() -> None:
    # A part of a name no longer matches: "Christmas" is not "Christmas Day", and
    # "Independence Day" is not "Juneteenth National Independence Day".
    assert HolidayCalendar("US", names=["Christmas", "Thanksgiving"]).between(*YEAR_2026) == []
    june = (date(2026, 6, 1), date(2026, 6, 30))
    assert HolidayCalendar("US", names=["Independence Day"]).between(*june) == []
    assert HolidayCalendar("US", names=["Juneteenth National Independence Day"]).between(
        *june) == [(date(2026, 6, 19), "Juneteenth National Independence Day")]


def test_observed_days_of_named_holidays_are_kept() -> None:
    # 2027: Christmas is a Saturday (observed Friday 24th), New Year 2028 too (observed
    # Friday 2027-12-31); Juneteenth's observed day is not named, so not kept.
    got = HolidayCalendar("US", names=MAJOR_US).between(date(2027, 6, 1), date(2027, 12, 31))
    assert got == [
        (date(2027, 7, 4), "Independence Day"),
        (date(2027, 7, 5), "Independence Day (observed)"),
        (date(2027, 11, 25), "Thanksgiving Day"),
        (date(2027, 12, 24), "Christmas Day (observed)"),
        (date(2027, 12, 25), "Christmas Day"),
        (date(2027, 12, 31), "New Year's Day (observed)"),
    ]


def test_without_a_filter_every_federal_holiday_is_listed() -> None:
    got = HolidayCalendar("US").between(*YEAR_2026)
    assert len(got) == 12
    assert (date(2026, 1, 19), "Martin Luther King Jr. Day") in got


def test_between_is_inclusive_and_spans_years() -> None:
    got = HolidayCalendar("US", names=MAJOR_US).between(date(2026, 12, 25), date(2027, 1, 1))
    assert got == [(date(2026, 12, 25), "Christmas Day"), (date(2027, 1, 1), "New Year's Day")]
    assert HolidayCalendar("US").between(date(2026, 12, 26), date(2026, 12, 31)) == []


def test_germany_bavaria_has_epiphany_in_german_by_default() -> None:
    got = HolidayCalendar("DE", "BY").between(date(2026, 1, 1), date(2026, 1, 31))
    assert got == [(date(2026, 1, 1), "Neujahr"), (date(2026, 1, 6), "Heilige Drei Könige")]


def test_germany_without_a_subdivision_has_no_epiphany() -> None:
    assert HolidayCalendar("DE").between(date(2026, 1, 6), date(2026, 1, 6)) == []


def test_subdivision_aliases_are_accepted() -> None:
    got = HolidayCalendar("DE", "Bayern").between(date(2026, 1, 6), date(2026, 1, 6))
    assert got == [(date(2026, 1, 6), "Heilige Drei Könige")]


def test_an_explicit_language() -> None:
    got = HolidayCalendar("DE", "BY", language="en_US").between(date(2026, 1, 6),
                                                                 date(2026, 1, 6))
    assert got == [(date(2026, 1, 6), "Epiphany")]


@pytest.mark.parametrize("lang", ["C.UTF-8", "en_US.UTF-8", "fr_FR.UTF-8", ""])
def test_names_do_not_depend_on_the_process_locale(
    monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    # Left alone, `holidays` reads LANGUAGE/LC_ALL/LC_MESSAGES/LANG; under C.UTF-8 German
    # holidays come out in English. The calendar always passes a language explicitly.
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.setenv(var, lang)
    got = HolidayCalendar("DE", "BY").between(date(2026, 1, 6), date(2026, 1, 6))
    assert got == [(date(2026, 1, 6), "Heilige Drei Könige")]


def test_a_date_with_two_holidays_lists_both() -> None:
    # 2008: Ascension Day fell on May 1.
    got = HolidayCalendar("DE").between(date(2008, 5, 1), date(2008, 5, 1))
    assert sorted(name for _, name in got) == ["Christi Himmelfahrt", "Erster Mai"]
    only = HolidayCalendar("DE", names=["erster MAI"]).between(date(2008, 5, 1),
                                                               date(2008, 5, 1))
    assert only == [(date(2008, 5, 1), "Erster Mai")]
    assert HolidayCalendar("DE", names=["mai"]).between(date(2008, 5, 1), date(2008, 5, 1)) == []


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("XX",), {}, "unknown holiday country 'XX'"),
        (("us",), {}, "unknown holiday country 'us'"),
        (("DE", "ZZ"), {}, "unknown subdivision 'ZZ' for holiday country 'DE'; known: BB, BE"),
        (("US", "Bavaria"), {}, "unknown subdivision 'Bavaria' for holiday country 'US'"),
        (("DE",), {"language": "fr"}, "not available in 'fr'; available: de, en_US"),
        (("US",), {"names": "Christmas"}, "names must be a list"),
        (("US",), {"names": ["Christmas", " "]}, "names must be a list of non-empty"),
    ],
)
def test_bad_configuration_raises_value_error(
    args: tuple[str, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as e:
        HolidayCalendar(*args, **kwargs)  # type: ignore[arg-type]
    assert message in str(e.value)


def test_a_backwards_range_raises() -> None:
    with pytest.raises(ValueError, match="before first day"):
        HolidayCalendar("US").between(date(2026, 2, 1), date(2026, 1, 1))


# --- as freezes -----------------------------------------------------------------------------------

def test_us_holidays_become_whole_local_day_freezes() -> None:
    days = HolidayCalendar("US", names=MAJOR_US).between(*YEAR_2026)
    fs = holiday_freezes(days, country="US", zone=NY, environments=["production"])
    by_id = {f.id: f for f in fs}
    christmas = by_id["holiday:US:2026-12-25"]
    assert christmas.name == "Christmas Day"
    assert (christmas.start, christmas.end) == (datetime(2026, 12, 25, 5, tzinfo=UTC),
                                                datetime(2026, 12, 26, 5, tzinfo=UTC))
    july_4th = by_id["holiday:US:2026-07-04"]  # a Saturday in EDT
    assert (july_4th.start, july_4th.end) == (datetime(2026, 7, 4, 4, tzinfo=UTC),
                                              datetime(2026, 7, 5, 4, tzinfo=UTC))
    # Thanksgiving Thursday blocks production, and the next allowed time is Friday 00:00
    d = decide(environment="production", service="api",
               at=datetime(2026, 11, 26, 10, tzinfo=NY), emergency=False,
               schedule=guide_schedule(NY), freezes=fs)
    assert not d.allowed
    assert d.reasons == ("Thanksgiving Day freeze until Fri 2026-11-27 00:00 EST "
                         "(public holiday in US)",)
    assert d.next_allowed_at == datetime(2026, 11, 27, 5, tzinfo=UTC)
    staging = decide(environment="staging", service="api",
                     at=datetime(2026, 11, 26, 10, tzinfo=NY), emergency=False,
                     schedule=guide_schedule(NY), freezes=fs)
    assert staging.allowed


def test_bavarian_holidays_become_freezes_in_berlin_time() -> None:
    days = HolidayCalendar("DE", "BY").between(date(2026, 1, 1), date(2026, 1, 31))
    fs = holiday_freezes(days, country="DE-BY", zone=BERLIN, environments=None)
    epiphany = fs[1]
    assert epiphany.id == "holiday:DE-BY:2026-01-06"
    assert epiphany.name == "Heilige Drei Könige"
    assert (epiphany.start, epiphany.end) == (datetime(2026, 1, 5, 23, tzinfo=UTC),
                                              datetime(2026, 1, 6, 23, tzinfo=UTC))
