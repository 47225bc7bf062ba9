"""What the shell tests check of a transcript: parts found, in the order given."""

from __future__ import annotations


def in_order(out: str, *parts: str) -> None:
    """Every one of `parts` is in `out`, each after the one before it (the first place each
    is found); the failure names the missing or misplaced parts and shows the transcript."""
    at = [out.find(p) for p in parts]
    missing = [p for p, i in zip(parts, at, strict=True) if i < 0]
    assert missing == [], f"missing {missing} in:\n{out}"
    assert at == sorted(at), f"out of order: {parts}\n{out}"
