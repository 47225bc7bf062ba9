"""Public holidays from the `holidays` package (the only module that imports it).

`HolidayCalendar` turns a country (and optional subdivision) into plain `(date, name)` pairs;
`bot.domain.freezes.holiday_freezes` turns those into freezes, so the domain stays pure.

Holiday names are returned in an explicit language: the entity's own language unless one is
asked for. (Left to itself, `holidays` picks the language from the process locale — LANGUAGE,
LC_ALL, LC_MESSAGES, LANG — so the same config would name German holidays "Epiphany" under
LANG=C.UTF-8 and "Heilige Drei Könige" with LANG unset.)
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import date

import holidays
from holidays import HolidayBase


class HolidayCalendar:
    """Public holidays of one country (optionally one subdivision, e.g. a US state or a German
    Land), optionally only those named in `names` (case-insensitive, exact; the "(observed)"
    day of a named holiday is kept too)."""

    def __init__(
        self,
        country: str,
        subdivision: str | None = None,
        names: Collection[str] | None = None,
        *,
        language: str | None = None,
    ) -> None:
        try:
            probe = holidays.country_holidays(country)
        except NotImplementedError:
            raise ValueError(
                f"unknown holiday country {country!r}; use an ISO 3166-1 code such as 'US' "
                "or 'DE'"
            ) from None
        if subdivision is not None:
            try:
                holidays.country_holidays(country, subdiv=subdivision)
            except NotImplementedError:
                known = ", ".join(probe.subdivisions) or "none"
                raise ValueError(
                    f"unknown subdivision {subdivision!r} for holiday country {country!r}; "
                    f"known: {known}"
                ) from None
        if language is None:
            language = probe.default_language
        elif language not in probe.supported_languages:
            raise ValueError(
                f"holiday names for {country!r} are not available in {language!r}; "
                f"available: {', '.join(probe.supported_languages)}"
            )
        if names is not None and (isinstance(names, str) or not all(n.strip() for n in names)):
            raise ValueError("names must be a list of non-empty holiday names")
        self.country = probe.country
        self.subdivision = subdivision
        self.language = language
        self.names: tuple[str, ...] | None = None if names is None else tuple(names)
        self._wanted = None if names is None else tuple(n.strip().casefold() for n in names)

    def _table(self, years: range) -> HolidayBase:
        return holidays.country_holidays(
            self.country, subdiv=self.subdivision, years=years, language=self.language
        )

    def _keep(self, name: str) -> bool:
        """A name is kept when it is one of `names`, or its observed day ("… (observed)")."""
        if self._wanted is None:
            return True
        n = name.casefold()
        return any(n == w or (n.startswith(w + " (") and n.endswith(")")) for w in self._wanted)

    def between(self, first: date, last: date) -> list[tuple[date, str]]:
        """The holidays from `first` to `last` (both included), by date. A date with several
        holidays appears once per (kept) name."""
        if last < first:
            raise ValueError(f"last day {last} is before first day {first}")
        table = self._table(range(first.year, last.year + 1))
        result: list[tuple[date, str]] = []
        for day in sorted(table):
            if first <= day <= last:
                result.extend((day, name) for name in table.get_list(day) if self._keep(name))
        return result


def check_holiday(country: str, subdivision: str | None, names: Sequence[str] | None,
                  language: str | None) -> None:
    """app.yaml's check of a `freezes.holidays` entry (bot.config's `HolidayCheck`): raises
    ValueError with the reason when the library does not know its country, subdivision or
    language, so a typo fails at start with the key."""
    HolidayCalendar(country, subdivision, names, language=language)


class HolidayLibrary:
    """The `Holidays` port over the `holidays` package, calendars built once and cached."""

    def __init__(self) -> None:
        self._calendars: dict[tuple[object, ...], HolidayCalendar] = {}
        self._lock = threading.Lock()

    def between(self, country: str, subdivision: str | None, names: Sequence[str] | None,
                language: str | None, first: date, last: date) -> list[tuple[date, str]]:
        key = (country, subdivision, tuple(names) if names else None, language)
        with self._lock:
            cal = self._calendars.get(key)
            if cal is None:
                cal = HolidayCalendar(country, subdivision, names, language=language)
                self._calendars[key] = cal
        return cal.between(first, last)
