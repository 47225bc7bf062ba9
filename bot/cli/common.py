"""What every `deploybot` verb shares: the one-line failure (exit 2) and loading the settings
and app.yaml (its holidays checked against the calendar). The config's schema (bot.config,
pydantic) is imported when a command loads app.yaml, not when the CLI is parsed."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.config import AppConfig

EXIT_USAGE = 2


def fail(message: str) -> int:
    """One line on stderr, `deploybot: <message>`; the exit code of bad input (2)."""
    print(f"deploybot: {message}", file=sys.stderr)
    return EXIT_USAGE


def check_holiday(country: str, subdivision: str | None, names: Sequence[str] | None,
                  language: str | None) -> None:
    """app.yaml's holidays checked against the calendar (bot.config's `HolidayCheck`); the
    `holidays` library is imported only when the file names some."""
    from bot.backends.holiday_calendar import check_holiday as check

    check(country, subdivision, names, language)


def settings_and_config(path: str | None = None) -> tuple[Settings, AppConfig]:
    from bot.config import load_config

    settings = Settings.from_env()
    return settings, load_config(path or settings.config_path, holidays=check_holiday)
