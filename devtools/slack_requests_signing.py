"""Slack's request signing, for devtools/slack_requests.py and the benchmarks: the ``v0``
signature (HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the app's signing secret) and the
headers Slack sends it in
(https://api.slack.com/authentication/verifying-requests-from-slack).
"""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, body: str, timestamp: int) -> str:
    """Slack request signature: ``"v0=" + hex(HMAC-SHA256(secret, f"v0:{ts}:{body}"))``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack sends with a request: content type, timestamp and signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, body, ts),
    }
