"""Every slash-command parser (bot/domain/*_commands.py, bot/domain/commands.py), pure: for
any unicode text and any names app.yaml could configure, it returns its parsed arguments or
raises the project's `UserError` with a message naming the problem, never another exception.

(The services' `parse` methods, the names taken from a real config, are fuzzed in
tests/fuzz/test_fuzz_commands.py, and over HTTP there.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    audit_commands,
    ci_commands,
    commands,
    freeze_commands,
    history_commands,
    lock_commands,
    migration_commands,
    rollback_commands,
)
from bot.errors import CommandUsageError, UserError
from tests.fuzz.profiles import scaled
from tests.fuzz.strategies import command_texts

#: Ten parsers: each gets fewer examples than one HTTP property (drawing the names and a
#: long text costs about as much as parsing it), together many more.
EXAMPLES = scaled(0.8)

ENVIRONMENTS = ["staging", "production", "development", "prod-eu"]
SERVICES = ["api", "web", "worker"]
PATTERNS = [r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$",
            r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$", r".+", r"^[a-z]+$"]


@st.composite
def names(draw: st.DrawFn) -> dict[str, Any]:
    """What app.yaml could name: environments, services, where each deploys, patterns."""
    envs = draw(st.lists(st.sampled_from(ENVIRONMENTS), min_size=1, unique=True))
    services = draw(st.lists(st.sampled_from(SERVICES), min_size=1, unique=True))
    where = {s: draw(st.lists(st.sampled_from(envs), min_size=1, unique=True))
             for s in services}
    return {
        "environments": envs,
        "services": services,
        "where": where,
        "services_in": {e: [s for s in services if e in where[s]] for e in envs},
        "patterns": {s: draw(st.sampled_from(PATTERNS)) for s in services},
        "with_migrations": {s: where[s] for s in services if draw(st.booleans())},
        "with_repository": [s for s in services if draw(st.booleans())],
    }


#: A moment and a zone: `at` is aware, as the services pass it.
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(UTC))
zones = st.sampled_from([ZoneInfo("America/New_York"), ZoneInfo("UTC"),
                         ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Chatham")])


def parses_or_refuses(parse: Any, text: str, **kw: Any) -> None:
    try:
        parse(text, **kw)
    except UserError as e:
        assert e.message.strip(), f"{type(e).__name__} without a message"
        if isinstance(e, CommandUsageError):
            assert e.problem.strip(), f"{type(e).__name__} naming no problem"


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_deploy(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(commands.parse_deploy, text, environments=n["environments"],
                      services=n["services"], version_patterns=n["patterns"])


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_rollback(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(rollback_commands.parse_rollback, text,
                      environments=n["environments"], services_in=n["services_in"],
                      version_patterns=n["patterns"])


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names(), at=moments, zone=zones)
def test_freeze(text: str, n: dict[str, Any], at: datetime, zone: ZoneInfo) -> None:
    parses_or_refuses(freeze_commands.parse_freeze, text, environments=n["environments"],
                      zone=zone, at=at)


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names(),
       longest=st.sampled_from([timedelta(days=7), timedelta(hours=1), timedelta(days=3650)]))
def test_lock(text: str, n: dict[str, Any], longest: timedelta) -> None:
    parses_or_refuses(lock_commands.parse_lock, text, environments=n["environments"],
                      services=n["where"], max_duration=longest)


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_unlock(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(lock_commands.parse_unlock, text, environments=n["environments"],
                      services=n["where"])


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_deploys(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(history_commands.parse_history, text, environments=n["environments"],
                      services=n["where"])


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names(), at=moments, zone=zones)
def test_audit(text: str, n: dict[str, Any], at: datetime, zone: ZoneInfo) -> None:
    parses_or_refuses(audit_commands.parse_audit, text, environments=n["environments"],
                      at=at, zone=zone)


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_migrations(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(migration_commands.parse_migrations, text,
                      environments=n["environments"],
                      services_with_migrations=n["with_migrations"], services=n["services"])


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_migrate(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(migration_commands.parse_migrate, text, environments=n["environments"],
                      services_with_migrations=n["with_migrations"], services=n["services"])


@settings(max_examples=EXAMPLES)
@given(text=command_texts, n=names())
def test_ci(text: str, n: dict[str, Any]) -> None:
    parses_or_refuses(ci_commands.parse_ci, text,
                      services_with_repository=n["with_repository"], services=n["services"])
