"""Making user-supplied text safe to echo back in a chat message."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def shown(value: str, *, limit: int = 40) -> str:
    """User input quoted for display: control characters removed, truncated, mrkdwn-escaped,
    and wrapped in a code span so mentions (`<!channel>`) and formatting never fire."""
    v = _CONTROL.sub("", value).replace("\n", " ")
    if len(v) > limit:
        v = v[: limit - 1] + "…"
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return f"`{v}`"
