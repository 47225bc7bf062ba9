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


_LINK = re.compile(r"<(https?://[^\s<>|]+)(?:\|[^<>]*)?>")


def reason_text(value: str, *, limit: int = 300) -> str:
    """Free text (an emergency reason) for display: links kept, everything else that Slack
    would act on (`<!channel>`, `<@U…>`) escaped, control characters removed."""
    v = _CONTROL.sub("", value).replace("\n", " ")[:limit]
    links: list[str] = []

    def keep(m: re.Match[str]) -> str:
        links.append(f"<{m.group(1)}>")
        return f"\x00{len(links) - 1}\x00"

    v = _LINK.sub(keep, v)
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], v)


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def is_slack_user(actor: str) -> bool:
    """A Slack user id (U…/W…), not an identity such as "deploybot (github)"."""
    return bool(_SLACK_USER.match(actor))


def who(actor: str) -> str:
    """An actor for display: a mention for a Slack user, the name in bold otherwise (Slack
    would show `<@deploybot (github)>` as it is)."""
    return f"<@{actor}>" if is_slack_user(actor) else f"*{shown_name(actor)}*"


def shown_name(name: str) -> str:
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*", "")
