"""The schema of `freezes:` (named windows, public holidays, Black Friday through Cyber
Monday, who manages freezes from Slack), and the check of a holiday entry that the
composition root injects (`HolidayCheck`), so the schema imports no backend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field

from bot.config.base import _Model


class HolidayCheck(Protocol):
    """Whether the holiday calendar knows one `freezes.holidays` entry: raises ValueError
    with the reason (unknown country, subdivision or language) when it does not.
    `bot.backends.holiday_calendar.check_holiday` is the real one; `load_config` is given it
    by whoever starts deploybot (bot.cli, bot.doctor)."""

    def __call__(self, country: str, subdivision: str | None, names: Sequence[str] | None,
                 language: str | None) -> None: ...


def _when(value: object) -> datetime | date:
    """'2026-12-10 09:00', '2026-12-10T09:00-05:00', or a date '2026-12-10' (whole day)."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        s = value.strip()
        try:
            return date.fromisoformat(s) if len(s) == 10 else datetime.fromisoformat(s)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date or time (use e.g. '2026-12-10 09:00' or "
                     "'2026-12-10')")


When = Annotated[datetime | date, BeforeValidator(_when)]


class FreezeWindowConfig(_Model):
    """A named freeze (freezes.windows[]): a company-wide event, an announced maintenance
    window. Times without an offset are in `timezone`; a date alone means the whole day."""

    name: str = Field(min_length=1, max_length=80,
                      description="what the freeze is called in cards and announcements")
    start: When = Field(description="when it starts, e.g. '2026-12-29 20:00' or '2026-12-29'")
    end: When = Field(description="when it ends (exclusive); a date means through the end of "
                      "that day")
    reason: str = Field(default="", description="why, shown with the freeze")
    environments: list[str] | None = Field(
        default=None, description="the environments it freezes (default: all)")
    services: list[str] | None = Field(
        default=None, description="the services it freezes (default: all)")


class HolidayConfig(_Model):
    """Public holidays of one country (freezes.holidays[], from the `holidays` library), each
    a whole-day freeze in `timezone`."""

    country: str = Field(description="ISO 3166-1 country code, e.g. US or DE")
    subdivision: str | None = Field(
        default=None, description="a subdivision's code (a US state, a German Land, e.g. BY) "
        "for its own holidays too")
    names: list[str] | None = Field(
        default=None, description="only holidays with these names (the library's own names; "
        "their \"(observed)\" days too); default: all")
    language: str | None = Field(
        default=None, description="the language of the holidays' names (e.g. en_US); default: "
        "the country's own")
    environments: list[str] | None = Field(
        default=None, description="the environments they freeze (default: all)")


class BlackFridayConfig(_Model):
    """Black Friday through Cyber Monday (freezes.black_friday_cyber_monday), computed each
    year from US Thanksgiving: Friday 00:00 to Tuesday 00:00 in `timezone`."""

    environments: list[str] | None = Field(
        default=None, description="the environments it freezes (default: all)")


class FreezesConfig(_Model):
    """Freezes (`freezes:`) beat the schedule, emergency deploys excepted; `/freeze add`
    adds more at run time."""

    windows: list[FreezeWindowConfig] = Field(
        default_factory=list, description="named date ranges")
    holidays: list[HolidayConfig] = Field(
        default_factory=list, description="public holidays, per country")
    black_friday_cyber_monday: BlackFridayConfig | None = Field(
        default=None, description="freeze Black Friday through Cyber Monday (default: off)")
    managers: list[str] = Field(
        default_factory=lambda: ["freeze_managers"],
        description="roles (or ids) that may add and remove freezes from Slack "
        "(/freeze add, /freeze remove)",
    )
