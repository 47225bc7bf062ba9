"""Making user-supplied text safe to echo back in a chat message."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import timedelta
from difflib import SequenceMatcher

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def clip(value: str, limit: int) -> str:
    """`value` in at most `limit` characters: whole when it fits, else cut at the last word
    boundary (a word cut in two reads wrong) with "…"; a text with no space in its second
    half (an id, a URL) is cut where it must."""
    if len(value) <= limit:
        return value
    cut = value[: max(0, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space].rstrip(" ,;:·—-")
    return cut + "…"


def period(d: timedelta) -> str:
    """A duration as people say it: '7 days', '2 hours', '1 day 12 hours', '90 seconds' is
    '1 minute 30 seconds' (never Python's '7 days, 0:00:00')."""
    seconds = int(d.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def unescaped(text: str) -> str:
    """Slack's three escapes (`&lt;` `&gt;` `&amp;`) decoded: text that was escaped once
    already (a refusal's message kept in the audit log) is escaped again only once."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def channel_ref(channel: str) -> str:
    """A channel for display: `<#C0123>` for an id (Slack shows its name), `#name` for a
    name, with or without its `#` (never `##name`)."""
    if re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        return f"<#{channel}>"
    return "#" + channel.lstrip("#")


def shown(value: str, *, limit: int = 40) -> str:
    """User input quoted for display: control characters removed, truncated, mrkdwn-escaped,
    and wrapped in a code span so mentions (`<!channel>`) and formatting never fire."""
    v = clip(_CONTROL.sub("", value).replace("\n", " "), limit)
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return f"`{v}`"


_LINK = re.compile(r"<(https?://[^\s<>|]+)(?:\|[^<>]*)?>")


def reason_text(value: str, *, limit: int = 300) -> str:
    """Free text (an emergency reason) for display: links kept, everything else that Slack
    would act on (`<!channel>`, `<@U…>`) escaped, control characters removed; cut to
    `limit` at a word boundary."""
    v = clip(_CONTROL.sub("", value).replace("\n", " "), limit)
    links: list[str] = []

    def keep(m: re.Match[str]) -> str:
        links.append(f"<{m.group(1)}>")
        return f"\x00{len(links) - 1}\x00"

    v = _LINK.sub(keep, v)
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], v)


_ESCAPED_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]+)&gt;")


def error_text(error: str, *, limit: int = 300) -> str:
    """A failure's cause for display (it may quote the cluster or GitHub: "error rate 4.2%
    > 1%"): as `reason_text`, but the user mentions deploybot writes itself (who aborted,
    who rolled back) stay mentions."""
    return _ESCAPED_MENTION.sub(r"<@\1>", reason_text(unescaped(error), limit=limit))


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


def meant(word: str, known: Collection[str]) -> str | None:
    """The one name of `known` that `word` was most likely meant to be — the same in
    another case (`Production`), an abbreviation (`prod`, `dev`), a typo (`stagin`, `wbe`)
    — or None when nothing is close or two are equally close (no guess then)."""
    lower = word.lower()
    if len(lower) < 2:
        return None
    same = [k for k in known if k.lower() == lower]
    if len(same) == 1:
        return same[0]
    if len(lower) >= 3:
        starting = [k for k in known if k.lower().startswith(lower)]
        if starting:
            return starting[0] if len(starting) == 1 else None
    scored = sorted(((SequenceMatcher(None, lower, k.lower()).ratio(), k) for k in known),
                    reverse=True)
    if not scored or scored[0][0] < 0.6:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]
