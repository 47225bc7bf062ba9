"""The README's shell transcripts, kept true: each is a fenced `text` block of what a demo
script prints, with `[…]` for lines left out. A test replays the script and checks that every
line the README shows is in the session, except lines that depend on how fast things ran."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_block(first_line: str) -> list[str]:
    """The non-empty lines of the README's `text` block that starts with `first_line`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"```text\n{first_line}")
    block = text[start + len("```text\n"):text.index("\n```\n", start)]
    return [line for line in block.splitlines() if line.strip()]


def missing(shown: list[str], session: str, *,
            volatile: re.Pattern[str] | None = None) -> list[str]:
    """The lines `shown` that the session did not print (`[…]` and `volatile` ones aside)."""
    printed = set(session.splitlines())
    return [line for line in shown if line != "[…]"
            and not (volatile is not None and volatile.search(line)) and line not in printed]
