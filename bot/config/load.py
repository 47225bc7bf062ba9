"""Reading app.yaml: `load_config(path)` is the only reader of the file, `parse_config(data)`
validates what was read. Every problem is one `ConfigError` naming the file, the key and
the reason, so the CLI can print one line and exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.config.app import HOLIDAY_CHECK, AppConfig
from bot.config.base import ConfigError
from bot.config.freezes import HolidayCheck


def _key(loc: tuple[int | str, ...]) -> str:
    # A bad mapping key (e.g. a severity) is reported at that key, without pydantic's "[key]".
    return ".".join(str(p) for p in loc if p != "[key]") or "(top level)"


def parse_config(data: object, *, source: str = "app.yaml",
                 holidays: HolidayCheck | None = None) -> AppConfig:
    """`data` (app.yaml as read) validated; `source` names it in errors. `holidays`: checks
    each `freezes.holidays` entry against the holiday calendar (the composition root passes
    bot.backends.holiday_calendar.check_holiday; None: not checked)."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "expected a mapping at the top level")
    try:
        return AppConfig.model_validate(data, context={HOLIDAY_CHECK: holidays})
    except ValidationError as e:
        err = e.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        key = _key(err["loc"])
        if not err["loc"]:  # whole-file checks say "key: reason"
            head, sep, rest = msg.partition(": ")
            if sep and re.fullmatch(r"[\w.-]+", head):
                key, msg = head, rest
        more = f" (and {len(e.errors()) - 1} more problem(s))" if len(e.errors()) > 1 else ""
        raise ConfigError(source, key, msg + more) from None


def load_config(path: str | Path, *, holidays: HolidayCheck | None = None) -> AppConfig:
    """app.yaml at `path`, read and validated (`holidays` as in `parse_config`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(p), "", "file not found (set DEPLOYBOT_CONFIG or pass a path)"
        ) from None
    except OSError as e:
        raise ConfigError(str(p), "", f"cannot read: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(str(p), where, f"not valid YAML: {getattr(e, 'problem', e)}") from None
    return parse_config(data, source=str(p), holidays=holidays)
