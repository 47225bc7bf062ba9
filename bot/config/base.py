"""What every part of app.yaml's schema shares: the strict frozen base model, the error a bad
file raises (file, key, reason), durations, names and Slack ids, and how a mapping's keys
are called in the generated reference (docs/configuration.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")


class ConfigError(Exception):
    """app.yaml is missing or wrong; `str()` is one line: file, key, reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path, self.key, self.reason = path, key, reason
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + reason)


def parse_duration(value: object) -> timedelta:
    """'2h', '90m', '1d 12h', '45s' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 2h, 90m or 30s")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    raise ValueError(f"{value!r} is not a duration (use e.g. 2h, 90m, 30s)")


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration` for whole seconds: timedelta(hours=1, minutes=30) ->
    '1h 30m' (the reference shows defaults as app.yaml writes them)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return " ".join(parts)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(v: timedelta) -> timedelta:
    if v <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return v


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


def keyed(name: str) -> dict[str, Any]:
    """A mapping field's `json_schema_extra`: what its keys are (an environment, a severity),
    so the reference writes `kubernetes.namespaces.<environment>` rather than `.<key>`."""
    return {"x-key": name}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
