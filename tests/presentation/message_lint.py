"""What makes a Slack message read right, as checks (used by test_message_lint.py).

`problems(message)` takes a `Message`, a view (`{"type": "home", "blocks": …}`) or a plain
mrkdwn string and lists what is wrong with it:

- Block Kit that Slack would refuse: the fake Slack's own rules (devtools/fake_slack_blocks.py,
  each after Slack's reference page: at most 50 blocks in a message and 100 in a view, the
  length of every text, id and value, unique block_ids and action_ids, plain_text where only
  that is allowed, …), and each block parsed and validated by `slack_sdk.models` too.
- A text fallback that is missing, or longer than the 4,000 characters Slack asks for
  (https://api.slack.com/changelog/2018-04-truncating-really-long-messages).
- mrkdwn that does not balance (`mrkdwn_problems`): a `*`, `_` or `~` opened inside the same
  one (`*Audit log: *production**`), or left open at the end of its line; a code span or
  block left open. Code spans and blocks are opaque; `<url|text>`, `<@U…>`, `<#C…>` and
  `<!…>` are read as Slack reads them, and anything else in angle brackets (`<None|…>`, a
  bare `<word>`) is a problem.
- Escaped entities shown to the user: `&lt;` in a plain_text field (Slack shows it as it is),
  and an entity escaped twice in mrkdwn (`&amp;lt;`, shown as `&lt;`).
- Text cut mid-word: a `…` right after a letter that is itself cut from the next word.
- What a user typed firing: `<!channel>`, `<!here>`, `<@U123>` (the probes the test feeds in
  as user input) must never reach Slack unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block

from bot.presentation.parts import Message
from devtools.fake_slack_blocks import TEXT_RECOMMENDED, message_problems, view_problems

#: The user input each message kind is rendered with (where a kind takes free text).
HOSTILE = "<!channel> ping <@U123> *bold* & a <b>tag</b>"
#: What must never reach Slack unescaped after rendering HOSTILE.
FIRING = ("<!channel>", "<@U123>", "<b>")
#: A reason long enough to be cut where it is shown (a rollback's lock says as much).
LONG = ("v1.2.4 was aborted by <@U0BOB>; rolled back to v1.2.3; unlock when it is safe to "
        "deploy again after the incident review has found why checkout errors went up "
        "for customers paying with stored cards in the European region, then confirm")


_WORD = re.compile(r"\w")
_ANGLE = re.compile(r"<([^<>]*)>")
_ALLOWED_ANGLE = re.compile(
    r"^(?:(?:https?|mailto):[^|\s]+(?:\|[^|]*)?"  # a link, maybe labelled
    r"|@[UW][A-Z0-9]+(?:\|[^|]*)?"  # a user
    r"|#[CG][A-Z0-9]+(?:\|[^|]*)?"  # a channel
    r"|!(?:here|channel|everyone|subteam\^[A-Z0-9]+|date\^[^|]+)(?:\|[^|]*)?)$")
_DOUBLE_ESCAPED = re.compile(r"&amp;(?:lt|gt|amp);")
_ENTITY = re.compile(r"&(?:lt|gt|amp);")


# -- mrkdwn ------------------------------------------------------------------------------

def _spans(text: str) -> Iterator[tuple[str, str]]:
    """('code', …) for code blocks and spans, ('angle', …) for <…>, ('text', …) between."""
    i, n = 0, len(text)
    start = 0
    while i < n:
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                yield "text", text[start:i]
                yield "open", "```"
                return
            yield "text", text[start:i]
            yield "code", text[i + 3:end]
            i = start = end + 3
            continue
        c = text[i]
        if c == "`":
            end = text.find("`", i + 1)
            newline = text.find("\n", i + 1)
            if end < 0 or (0 <= newline < end):
                yield "text", text[start:i]
                yield "open", "`"
                i = start = i + 1
                continue
            yield "text", text[start:i]
            yield "code", text[i + 1:end]
            i = start = end + 1
            continue
        if c == "<":
            end = text.find(">", i + 1)
            if end > 0:
                yield "text", text[start:i]
                yield "angle", text[i + 1:end]
                i = start = end + 1
                continue
        i += 1
    yield "text", text[start:]


def _opens(prev: str, nxt: str) -> bool:
    return (not prev or not _WORD.match(prev)) and bool(nxt) and not nxt.isspace()


def _closes(prev: str, nxt: str) -> bool:
    return bool(prev) and not prev.isspace() and (not nxt or not _WORD.match(nxt))


def mrkdwn_problems(text: str) -> list[str]:
    """What does not balance in one mrkdwn text (see the module's docstring)."""
    out: list[str] = []
    # Emphasis is checked line by line (Slack does not carry it over a line break); code,
    # links and mentions count as one opaque character of the line they sit in.
    line: list[str] = []
    lines: list[str] = []
    for kind, value in _spans(text):
        if kind == "open":
            out.append(f"unclosed {value} in {text!r}")
        elif kind == "angle":
            if not _ALLOWED_ANGLE.match(value):
                out.append(f"<{value}> is no link, mention or channel (shown broken or "
                           f"dropped) in {text!r}")
            line.append("\x01")
        elif kind == "code":
            if _DOUBLE_ESCAPED.search(value):
                out.append(f"an entity escaped twice in code {value!r}")
            # Slack reads <…> in code too: `/deploy <env>` shows as `/deploy env`.
            out += [f"<{a}> in code is no link, mention or channel (shown broken) in "
                    f"{text!r}" for a in _ANGLE.findall(value) if not _ALLOWED_ANGLE.match(a)]
            line.append("\x01")
            if "\n" in value:
                lines.append("".join(line))
                line = []
        else:
            if _DOUBLE_ESCAPED.search(value):
                out.append(f"an entity escaped twice (shown as &lt;…) in {text!r}")
            quoted = re.sub(r"(^|\n)\s*>", r"\1", value)  # a quote's > opens its line
            if "<" in quoted or ">" in quoted:
                out.append(f"a bare < or > (Slack reads it as markup) in {text!r}")
            parts = value.split("\n")
            line.append(parts[0])
            for p in parts[1:]:
                lines.append("".join(line))
                line = [p]
    lines.append("".join(line))
    for ln in lines:
        out += [f"{p} in line {ln!r}" for p in _emphasis(ln)]
    return out


def _emphasis(line: str) -> list[str]:
    stack: list[str] = []
    out: list[str] = []
    for i, c in enumerate(line):
        if c not in "*_~":
            continue
        prev = line[i - 1] if i else ""
        nxt = line[i + 1] if i + 1 < len(line) else ""
        if c in stack and _closes(prev, nxt):
            if stack[-1] != c:
                out.append(f"{c} closed across {stack[-1]}")
            while stack and stack[-1] != c:
                stack.pop()
            stack.pop()
        elif _opens(prev, nxt):
            if c in stack:
                out.append(f"{c} opened inside {c} (nested)")
            stack.append(c)
        elif c == "*" and _closes(prev, nxt) and prev != "*":
            out.append("* closed but never opened")
    # `_` and `~` left open are literal characters to Slack (snake_case, a lone ~); a `*`
    # left open is a header that lost its end.
    if "*" in stack:
        out.append("* left open")
    return out


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut_mid_word(text: str, sources: tuple[str, ...] = (HOSTILE, LONG)) -> list[str]:
    """A free text (one of `sources`, as typed or escaped) shown cut: the cut must fall
    between words and say so with "…" (a "…" glued to part of a word, or a text that
    just stops, reads wrong)."""
    out = []
    for src in sources:
        for t in {src, _escaped(src)}:
            for m in re.finditer(re.escape(t[:30]), text):
                out += _cut_at(text, m.start(), t)
    return out


def _cut_at(text: str, pos: int, t: str) -> list[str]:
    """Whether `t`, found at `pos` in `text`, is whole, or cut between words with "…"."""
    k = 0
    while k < len(t) and pos + k < len(text) and text[pos + k] == t[k]:
        k += 1
    if k == len(t):
        return []
    shown = text[max(0, pos + k - 30):pos + k + 1]
    if text[pos + k:pos + k + 1] != "…":
        return [f"cut without a …: {shown!r}"]
    if t[k].isalnum() and t[k - 1].isalnum():
        return [f"cut mid-word: {shown!r}"]
    return []


# -- Block Kit -------------------------------------------------------------------------

def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}/{i}")


def _texts(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(path, type, text) of every text object in the blocks."""
    for path, node in _walk(blocks, ""):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield path, str(node["type"]), node["text"]


def block_problems(blocks: list[dict[str, Any]], *, refused: list[str]) -> list[str]:
    """`refused` (what the fake Slack refuses in the message or view), then what slack_sdk
    refuses and what reads wrong in the blocks' texts."""
    out = list(refused)
    for i, block in enumerate(blocks):
        try:
            parsed = Block.parse(block)
            if parsed is None:
                out.append(f"slack_sdk does not know block {i}: {block.get('type')!r}")
            else:
                parsed.validate_json()
        except Exception as e:
            out.append(f"slack_sdk refuses block {i}: {e}")
    for path, kind, text in _texts(blocks):
        if kind == "plain_text":
            if _ENTITY.search(text):
                out.append(f"an entity in plain_text (shown as it is) at {path}: {text!r}")
            if re.search(r"(^|\s)\*\S.*\S\*($|\s)|`", text):
                out.append(f"mrkdwn in plain_text (shown as it is) at {path}: {text!r}")
        else:
            out += [f"{p} at {path}" for p in mrkdwn_problems(text)]
        out += [f"{p} at {path}" for p in cut_mid_word(text)]
    return out


def problems(message: Message | dict[str, Any] | str) -> list[str]:
    """Everything wrong with a message, a view, or a plain mrkdwn text."""
    if isinstance(message, str):
        out = mrkdwn_problems(message) + cut_mid_word(message)
        whole = message
    elif isinstance(message, Message):
        out = block_problems(message.blocks, refused=message_problems(message.blocks))
        if not message.text.strip():
            out.append("no text fallback (notifications show it)")
        elif len(message.text) > TEXT_RECOMMENDED:
            out.append(f"a text fallback of {len(message.text)} characters (Slack asks for "
                       f"at most {TEXT_RECOMMENDED} and cuts at 40,000)")
        out += [f"{p} in the text fallback" for p in cut_mid_word(message.text)]
        out += [f"<{a}> in the text fallback" for a in _ANGLE.findall(message.text)
                if not _ALLOWED_ANGLE.match(a)]
        whole = message.text + "\n" + "\n".join(t for _, _, t in _texts(message.blocks))
    else:
        out = block_problems(message["blocks"], refused=view_problems(message))
        whole = "\n".join(t for _, _, t in _texts(message["blocks"]))
    out += [f"user input fired: {f}" for f in FIRING if f in whole]
    return out


def rendered(message: Message | dict[str, Any] | str) -> str:
    """A message as reviewable text (the golden files): its fallback, then each block by
    type with its texts and buttons."""
    if isinstance(message, str):
        return message + "\n"
    lines: list[str] = []
    blocks = message["blocks"] if isinstance(message, dict) else message.blocks
    if isinstance(message, Message):
        lines.append(f"text: {message.text}")
    for block in blocks:
        lines.append(f"[{block['type']}]")
        for path, _kind, text in _texts([block]):
            label = path.split("/", 2)[-1]
            lines += [f"  {label}: {t}" if j == 0 else f"  {' ' * len(label)}  {t}"
                      for j, t in enumerate(text.split("\n"))]
    return "\n".join(lines) + "\n"
