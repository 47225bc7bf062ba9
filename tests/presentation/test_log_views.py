"""What `/logs` says: the file's comment, the answer, the cuts, and user text shown safely."""

from __future__ import annotations

from dataclasses import replace

from bot.presentation.log_views import (
    LogRead,
    answer_text,
    file_comment,
    reading_notice,
)

READ = LogRead(environment="staging", service="api", pod="api-7d9c-x2x4q", container="api",
               previous=True, tail=200, since_seconds=600, grep=None, read_lines=120,
               lines=120, read_cut=False, read_cap=2_000_000, posted_cut_lines=0,
               post_cap=1_000_000, masked=1)


def test_the_comment_says_what_was_read_and_what_was_masked() -> None:
    assert file_comment(READ, "U0ALICE") == (
        "📄 Log of `api-7d9c-x2x4q` (api, its previous run) — `api` in *staging*, asked by "
        "<@U0ALICE>: last 200 lines of the last 10m. Secrets are redacted. 1 secret masked.")


def test_the_cuts_are_said_in_the_comment_and_the_answer() -> None:
    cut = replace(READ, read_cut=True, posted_cut_lines=42, masked=0)
    comment = file_comment(cut, "U0ALICE")
    answer = answer_text(cut, permalink="https://x/F1", in_thread=True, note=None)
    for text in (comment, answer):
        assert "longer than the 2 MB deploybot reads from the cluster" in text
        assert "cut to its newest 1 MB: 42 older lines left out" in text
    assert "masked" not in comment
    assert answer.startswith("📄 Posted the log of `api-7d9c-x2x4q` (api, its previous run) — "
                             "`api` in *staging* in the deployment's thread (120 lines). "
                             "<https://x/F1|Open the file>.")


def test_nothing_to_post() -> None:
    assert answer_text(replace(READ, grep="<!channel>", lines=0), permalink="",
                       in_thread=False, note=None).startswith(
        "🔍 No line of `api-7d9c-x2x4q` (api, its previous run) — `api` in *staging* matches "
        "`&lt;!channel&gt;` (any case) in the 120 lines read")
    assert answer_text(replace(READ, read_lines=0, lines=0), permalink="", in_thread=False,
                       note=None).startswith("📭 `api-7d9c-x2x4q` (api, its previous run) — "
                                             "`api` in *staging* logged nothing")


def test_the_ack_shows_the_flags_safely() -> None:
    assert reading_notice("staging", "api", None, '--tail 200 --grep "<!here> `x`"') == (
        "⏳ Reading the log of `api` in *staging* (its least healthy pod, `--tail 200 --grep "
        "\"&lt;!here&gt; 'x'\"`)… it comes as a file, secrets redacted.")
