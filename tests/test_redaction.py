"""Which text is a secret (bot.redaction), with lines as services really log them: the one
redaction behind the audit log, the process log and `/logs`."""

from __future__ import annotations

import pytest

from bot.domain.audit import REDACTED, redact
from bot.logs import MASK, Redactor
from bot.redaction import redact_secrets

# Real-looking samples (none is a live credential): AWS documents AKIAIOSFODNN7EXAMPLE and
# wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY as its example key pair; the JWT is jwt.io's.
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9"
       "lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6"
       "ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
       "-----END RSA PRIVATE KEY-----")

LINES = [
    # (a log line, what must be gone, what must be kept)
    ("2026-12-07T04:01:12Z ERROR db: could not connect to "
     "postgres://orders:Tr0ub4dor&3@db.internal:5432/orders", "Tr0ub4dor&3",
     "postgres://orders:"),
    ("INFO boot config password=hunter2-prod host=db.internal", "hunter2-prod",
     "host=db.internal"),
    ('{"level":"debug","msg":"login","password": "p@ss w0rd!","user":"ana"}', "p@ss w0rd!",
     '"user":"ana"'),
    ("DEBUG settings {'DB_PASSWORD': 's3cr3t-value', 'DEBUG': False}", "s3cr3t-value",
     "'DEBUG': False"),
    ("WARN s3 client using AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE", "s3 client using"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI",
     "aws_secret_access_key"),
    ("GET /v1/charges?api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc&limit=3 200",
     "4eC39HqLyjWDarjtT1zdp7dc", "api_key="),
    (f"auth header Authorization: Bearer {JWT}", "SflKxwRJSMeKKF2QT4fw", "Authorization"),
    (f"session token cookie={JWT};", "eyJzdWIiOiIxMjM0NTY3ODkwIi", "session"),
    (f"loaded signing key {PEM} from vault", "MIIEowIBAAKCAQEAu1SU1LfV", "from vault"),
    ("key material follows -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
     "MIIEvQIBADANBgkqhkiG9w0", "key material follows"),  # a key cut by --tail
    ("slack notify with xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "AbCdEfGhIjKlMnOp",
     "slack notify"),
    ("git clone https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/a/b",
     "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "github.com/a/b"),
]


@pytest.mark.parametrize(("line", "gone", "kept"), LINES)
def test_every_redaction_masks_real_looking_secrets(line: str, gone: str, kept: str) -> None:
    for out in (redact_secrets(line, "[x]"), redact(line, limit=None), Redactor()(line)):
        assert gone not in out, out
        assert kept in out, out


def test_the_mask_says_what_kind_of_secret_it_was() -> None:
    assert redact_secrets("key AKIAIOSFODNN7EXAMPLE", REDACTED) == "key AKIA" + REDACTED
    assert redact_secrets('"password": "x y"', MASK) == '"password": ' + MASK
    assert redact_secrets("password=abc, user=ana", MASK) == f"password={MASK}, user=ana"
    assert redact(f"jwt {JWT}") == "jwt eyJ" + REDACTED


@pytest.mark.parametrize("line", [
    "GET /healthz 200 1.2ms",
    "worker 3 picked up job 0x7f3a (attempt 2 of 5)",
    "password reset email sent to user 42",  # the word, no value
    "token bucket refilled: 17 tokens",
    "https://api.example.com/v1/orders?page=2",
])
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert redact_secrets(line, MASK) == line
    assert Redactor()(line) == line
