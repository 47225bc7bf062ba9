"""Fitting text into Slack's limits (bot/presentation/sections.py): cut between words with
"…", never inside markup; lines packed into sections within a number of blocks, saying how
many did not fit."""

from __future__ import annotations

import pytest

from bot.presentation.sections import fit, pack, packed
from tests.presentation.message_lint import mrkdwn_problems


def test_a_text_that_fits_is_whole() -> None:
    assert fit("a" * 75, 75) == "a" * 75


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("Roll back to v2026.12.04 release candidate seventeen", 30, "Roll back to v2026.12.04…"),
    # never inside a link: the whole link goes
    ("see <https://grafana.example.com/d/api?var-env=production|Dashboard> now", 40, "see…"),
    # never inside a code span or a bold run
    ("the service `checkout-payments-reconciliation-worker` failed", 40, "the service…"),
    ("*Status:* ❌ Failed — verification failed: error rate *4.2%* over", 55,
     "*Status:* ❌ Failed — verification failed: error rate…"),
    # never inside an entity
    ("a &amp;&amp;&amp;&amp;&amp; b", 12, "a &amp;…"),
])
def test_a_text_too_long_is_cut_between_words_with_markup_whole(
        text: str, limit: int, expected: str) -> None:
    cut = fit(text, limit)
    assert cut == expected
    assert len(cut) <= limit
    assert mrkdwn_problems(cut) == []


def test_lines_pack_into_as_few_sections_as_hold_them() -> None:
    lines = ["*Head*", *[f"• line {i} " + "x" * 90 for i in range(60)]]
    texts, dropped = pack(lines, most=50)
    assert dropped == []
    assert [line for t in texts for line in t] == lines
    assert all(len("\n".join(t)) <= 2900 for t in texts)


def test_lines_past_the_blocks_given_are_counted_never_dropped_silently() -> None:
    lines = [f"• service {i} " + "x" * 1000 for i in range(10)]
    blocks = packed(lines, most=3, more=lambda left: f"…and {len(left)} more not shown")
    assert len(blocks) == 3
    shown = [b["text"]["text"] for b in blocks]
    assert shown[-1].endswith("…and 4 more not shown")  # 2 a section: 6 shown, 4 counted
    assert sum(t.count("• service") for t in shown) == 6


def test_a_blank_line_opens_no_section() -> None:
    blocks = packed(["x" * 2895, "", "y" * 2895, "\n*Next*"], most=5, more=lambda _: "")
    assert [b["text"]["text"][:1] for b in blocks] == ["x", "y", "*"]
    assert all(b["text"]["text"].strip() for b in blocks)
