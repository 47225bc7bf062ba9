"""The audit log's pure rules: secrets redacted, environments named, "since", `/audit`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.audit import REDACTED, environment_named, parse_since, redact
from bot.domain.audit_commands import AuditArgs, AuditHelpArgs, AuditUsageError, parse_audit

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wed 10:00 in New York
ENVS = ("staging", "production")


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("production v1.2.3 --emergency \"token xoxb-1234-5678-abcdefABCDEF\"",
     "xoxb-" + REDACTED, "1234-5678"),
    ("use xapp-1-A0-123-abcdef", "xapp-" + REDACTED, "abcdef"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked", "ghp_" + REDACTED, "abcdefgh"),
    ("key AKIAIOSFODNN7EXAMPLE", "AKIA" + REDACTED, "IOSFODNN7"),
    ("Authorization: Bearer abc.def.ghi-123456", REDACTED, "abc.def.ghi"),
    ("password=hunter22 and more", "password=" + REDACTED + " and more", "hunter22"),
    ('DB_PASSWORD: "s3cr3t value"', "DB_PASSWORD: " + REDACTED, "s3cr3t"),
    ("api_key=abc123def", "api_key=" + REDACTED, "abc123def"),
    ("postgresql://deploy:pa55word@db.internal/app", "postgresql://deploy:" + REDACTED + "@",
     "pa55word"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-x", "eyJ" + REDACTED, "eyJzdWIi"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
     "-----BEGIN PRIVATE KEY-----" + REDACTED, "MIIEow"),
])
def test_secrets_are_redacted(text: str, kept: str, gone: str) -> None:
    out = redact(text)
    assert kept in out
    assert gone not in out


def test_ordinary_text_is_kept_and_long_text_cut() -> None:
    assert redact("api production v1.2.3 --force \"fixed in INC-42\"") == \
        "api production v1.2.3 --force \"fixed in INC-42\""
    assert redact("a\x00b") == "ab"
    cut = redact("x" * 600)
    assert len(cut) == 500 and cut.endswith("…")


def test_environment_named() -> None:
    assert environment_named("api production v1.2.3", ENVS) == "production"
    assert environment_named("add \"x\" 2026-12-10 to 2026-12-11 staging,production", ENVS) \
        == "staging"
    assert environment_named("productionx v1", ENVS) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("7d", AT - timedelta(days=7)),
    ("24h", AT - timedelta(hours=24)),
    ("30m", AT - timedelta(minutes=30)),
    ("2w", AT - timedelta(weeks=2)),
    ("2026-11-01", datetime(2026, 11, 1, 4, 0, tzinfo=UTC)),  # midnight EDT
    ("2026-11-02", datetime(2026, 11, 2, 5, 0, tzinfo=UTC)),  # midnight EST
    ("2026-11-10T09:30", datetime(2026, 11, 10, 14, 30, tzinfo=UTC)),
    ("2026-11-10T09:30Z", datetime(2026, 11, 10, 9, 30, tzinfo=UTC)),
    ("2026-11-10T09:30+01:00", datetime(2026, 11, 10, 8, 30, tzinfo=UTC)),
])
def test_since(value: str, expected: datetime) -> None:
    got = parse_since(value, at=AT, zone=NY)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["yesterday", "7x", "2026-13-01", ""])
def test_since_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not a time I can read"):
        parse_since(value, at=AT, zone=NY)


def audit(text: str) -> object:
    return parse_audit(text, environments=ENVS, at=AT, zone=NY)


@pytest.mark.parametrize(("text", "expected"), [
    ("", AuditArgs()),
    ("production", AuditArgs(environment="production")),
    ("production 7d", AuditArgs(environment="production", since=AT - timedelta(days=7),
                                since_text="7d")),
    ("7d production", AuditArgs(environment="production", since=AT - timedelta(days=7),
                                since_text="7d")),
    ("since 2026-11-01", AuditArgs(since=datetime(2026, 11, 1, 4, tzinfo=UTC),
                                   since_text="2026-11-01")),
    ("staging since 2026-11-10 09:30", AuditArgs(
        environment="staging", since=datetime(2026, 11, 10, 14, 30, tzinfo=UTC),
        since_text="2026-11-10T09:30")),
    ("production 7d before 1234", AuditArgs(environment="production",
                                            since=AT - timedelta(days=7), since_text="7d",
                                            before_id=1234)),
    ("before #99", AuditArgs(before_id=99)),
    ("help", AuditHelpArgs()),
])
def test_audit_accepted(text: str, expected: object) -> None:
    assert audit(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("prod", "`prod` is neither an environment (`production`, `staging`) nor a start time"),
    ("production staging", "Name at most one environment."),
    ("7d 2d", "`2d` was not expected: the start is given already."),
    ("since", "Since when?"),
    ("before", "Before which event?"),
    ("before x1", "`x1` is not an event number"),
    ("since 2027-01-01", "is in the future"),
])
def test_audit_refused(text: str, problem: str) -> None:
    with pytest.raises(AuditUsageError) as e:
        audit(text)
    assert problem in e.value.problem
    assert "*Usage*" in e.value.message
