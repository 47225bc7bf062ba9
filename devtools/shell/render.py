"""What the bot sends to Slack, as readable text: Block Kit blocks and mrkdwn as plain lines
(`render_text`, `mrkdwn_to_text`), wrapped to a terminal's width under a prefix
(`[#deployments]`, `[DM to U0ALICE]`, `(only you)`), and the buttons a message offers
(`buttons`, named for `click` by `button_name` and `click_words`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

LINE_WIDTH = 100
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_LINK = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
PASSWORD = re.compile(r"(://[^:/@]+:)[^@/]*@")


def _link(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label.lstrip("@") or target[1:])
    if target.startswith("#"):
        return "#" + (label.lstrip("#") or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@leads>, <!date^…|fallback>
        if label:
            return label
        word, _, arg = target[1:].partition("^")
        return "@" + (arg if word == "subteam" and arg else word)
    return f"{label} ({target})" if label else target


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as plain text: `<@U1>` → `@U1`, `<#C1>` → `#C1`, `<url|label>` →
    `label (url)`, `*bold*` and `_italic_` markers dropped, and the three characters Slack
    escapes (`&lt;` `&gt;` `&amp;`) decoded. Inline `code` keeps its backticks."""
    text = _LINK.sub(_link, text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def object_text(obj: Any) -> str:
    """The text of a Block Kit text object (plain_text or mrkdwn), as plain text."""
    if isinstance(obj, dict):
        text = str(obj.get("text") or "")
        return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else text
    return str(obj) if obj is not None else ""


def button_name(action_id: str) -> str:
    """What `click` calls a button: the last dotted part of its action id."""
    return action_id.rsplit(".", 1)[-1]


#: A button about one item of a deployment: value `<deployment id>.<item>` (the checklist's
#: "not applicable…", one per item).
_ITEM_VALUE = re.compile(r"^(\d+)\.([A-Za-z_][\w-]*)$")


def click_words(action_id: str, value: str) -> tuple[str, str | None]:
    """What `click` calls a button and the `#N` after it: `approve`, "3" for a button of
    deployment #3; a button about one item of it (value `3.rollback_plan`) is named after the
    item too (`na-rollback_plan`, "3"), so each item's button can be told apart."""
    name = button_name(action_id)
    if value.isdigit():
        return name, value
    item = _ITEM_VALUE.match(value)
    if item is not None:
        return f"{name}-{item.group(2)}", item.group(1)
    return name, None


def _buttons_line(elements: Iterable[Any]) -> str | None:
    labels: list[str] = []
    hints: list[str] = []
    for el in elements:
        if not isinstance(el, dict) or el.get("type") != "button":
            continue
        labels.append(f"[ {object_text(el.get('text'))} ]")
        name, ref = click_words(str(el.get("action_id") or ""), str(el.get("value") or ""))
        hints.append(f"click {name}" + (f" #{ref}" if ref else ""))
    if not labels:
        return None
    return f"{' '.join(labels)}   → {' · '.join(hints)}"


def render_text(blocks: Any, fallback: str | None = None) -> list[str]:
    """Block Kit blocks as lines of readable text; `fallback` (a message's `text`) when there
    are no blocks. Headers, sections (text and fields), context and buttons are shown."""
    lines: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            lines.append(object_text(block.get("text")))
        elif kind == "section":
            if block.get("text"):
                lines.extend(object_text(block["text"]).splitlines())
            for f in block.get("fields") or []:
                lines.extend(object_text(f).splitlines())
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                line = _buttons_line([accessory])
                if line:
                    lines.append(line)
        elif kind == "context":
            parts = [
                object_text(el) if el.get("type") != "image" else f"[{el.get('alt_text', '')}]"
                for el in block.get("elements") or [] if isinstance(el, dict)
            ]
            lines.extend(" ".join(parts).splitlines())
        elif kind == "actions":
            line = _buttons_line(block.get("elements") or [])
            if line:
                lines.append(line)
        elif kind == "divider":
            lines.append("―" * 24)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind is not None:
            lines.append(f"[{kind} block]")
    if not lines and fallback:
        lines = mrkdwn_to_text(fallback).splitlines()
    return lines or ["(empty message)"]


def wrap(line: str, width: int) -> list[str]:
    """One rendered line, wrapped at `width` with a hanging indent (buttons never wrap)."""
    line = line.rstrip()
    if len(line) <= width or "   → click " in line:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    hang = "  " if line.lstrip().startswith(("• ", "- ", "◦ ")) else ""
    return textwrap.wrap(line, width=width, subsequent_indent=lead + hang,
                         break_long_words=False, break_on_hyphens=False) or [line]


def with_prefix(prefix: str, lines: list[str], *, first: str = "") -> list[str]:
    """`prefix` + `first` before the first line, the later lines indented to line up under
    the prefix, and everything wrapped to fit a terminal of `LINE_WIDTH` columns."""
    pad = " " * len(prefix)
    width = max(LINE_WIDTH - len(prefix), 40)
    out: list[str] = []
    for i, line in enumerate(lines):
        head = prefix + first if i == 0 else pad
        for j, part in enumerate(wrap(line, width - (len(first) if i == 0 else 0))):
            out.append(((head if j == 0 else pad) + part).rstrip())
    return out


def channel_label(channel: str) -> str:
    """`[#deployments]`, `[#C0DEPLOYS]` or `[DM to U0ALICE]`."""
    if channel[:1] in ("U", "W"):
        return f"[DM to {channel}]"
    if channel[:1] == "D":
        user = channel[1:]
        return f"[DM to {user}]" if USER_ID.match(user) else f"[DM {channel}]"
    return f"[{channel}]" if channel.startswith("#") else f"[#{channel}]"


def dm_channel(user: str) -> str:
    """The channel FakeSlack files a user's direct messages under."""
    return "D" + user


def mask_url(url: str) -> str:
    return PASSWORD.sub(r"\1***@", url)


@dataclass(frozen=True)
class Button:
    message: dict[str, Any]
    action_id: str
    label: str
    value: str
    confirm: dict[str, Any] | None
    block_id: str | None = None  # of the block it is in (several share an action id)


def buttons(message: dict[str, Any]) -> Iterator[Button]:
    for block in message.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for el in elements:
            if isinstance(el, dict) and el.get("type") == "button" and el.get("action_id"):
                confirm = el.get("confirm")
                yield Button(message=message, action_id=str(el["action_id"]),
                              label=object_text(el.get("text")),
                              value=str(el.get("value") or ""),
                              confirm=confirm if isinstance(confirm, dict) else None,
                              block_id=str(block["block_id"]) if block.get("block_id")
                              else None)


