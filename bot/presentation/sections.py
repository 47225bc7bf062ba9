"""Slack's limits on what a message or view holds, and fitting text into them (pure): a text
cut to its field's limit between words with "…" and no markup left open (`fit`), the
section, context and header blocks built with it, and lines packed into as few sections as
fit a number of blocks, saying what did not fit (`packed`).

The limits are Slack's Block Kit reference (https://docs.slack.dev/reference/block-kit/):
a text object holds 3,000 characters (a section's text, a context element), a header 150,
a button's text and an option's 75; a message holds 50 blocks, a view 100, and its text
should stay within 4,000 characters
(https://api.slack.com/changelog/2018-04-truncating-really-long-messages). The fake Slack
refuses a message past any of them (devtools/fake_slack_blocks.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.text import clip

Block = dict[str, Any]

TEXT = 3000  # a section's text, a context element's
HEADER = 150  # a header's plain_text
BUTTON = 75  # a button's plain_text, an option's text
MESSAGE_TEXT = 4000  # a message's text: Slack cuts at 40,000 and asks for at most 4,000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_CHARS = 2900  # what a section of packed lines holds (room left for a closing note)

_ENTITY_CUT = re.compile(r"&[a-z]{0,4}$")


def fit(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole when it fits, else cut at a word boundary
    with "…" — never inside a link or mention (`<…>`), a code span or block, a bold run or
    an entity (`&amp;`), which Slack would show broken."""
    if len(text) <= limit:
        return text
    body = clip(text, limit)[:-1]
    while True:
        before = body = body.rstrip(" ,:·—-\n")
        if body.rfind("<") > body.rfind(">"):
            body = body[:body.rfind("<")]
        if body.count("```") % 2:
            body = body[:body.rfind("```")]
        if (body.count("`") - 3 * body.count("```")) % 2:
            body = body[:body.rfind("`")]
        if body.count("*") % 2:
            body = body[:body.rfind("*")]
        body = _ENTITY_CUT.sub("", body)
        if body == before:
            break
    return body + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, TEXT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(text, TEXT)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": fit(text, HEADER)}}


def packed(lines: Sequence[str], *, most: int, more: Callable[[Sequence[str]], str],
           chars: int = SECTION_CHARS) -> list[Block]:
    """`lines` in as few sections as hold them (a line is never split; one too long alone is
    `fit`), at most `most` sections; when they do not all fit, the last section ends with
    `more(the lines left out)` — never a silent cut. Blank lines do not open a section."""
    texts, dropped = pack(lines, most=most, chars=chars)
    if dropped:
        last = texts[-1]
        while len(last) > 1 and len("\n".join(last)) + 1 + len(more(dropped)) > chars:
            dropped.insert(0, last.pop())
        note = fit(more(dropped), chars // 2)
        last[-1] = fit(last[-1], chars - 1 - len(note))
        last.append(note)
    return [section("\n".join(t)) for t in texts]


def pack(lines: Sequence[str], *, most: int,
         chars: int = SECTION_CHARS) -> tuple[list[list[str]], list[str]]:
    """`packed`'s sections as lists of lines, and the lines that did not fit in `most`."""
    texts: list[list[str]] = []
    size = 0
    for i, line in enumerate(lines):
        line = fit(line, chars)
        if texts and size + 1 + len(line) <= chars:
            texts[-1].append(line)
            size += 1 + len(line)
            continue
        if not line.strip():
            continue  # a blank line opens no section: the break between two says as much
        if len(texts) >= max(most, 1):
            return texts, list(lines[i:])
        texts.append([line.lstrip("\n")])
        size = len(line)
    return texts, []
