"""flagd targeting rules (JsonLogic, flagd.dev "Flag Definitions": Targeting Rules), read
for what deploybot says of them, pure: the operators a rule uses, how many conditions it has
(a JsonLogic `if` chain counts one per condition), and the string literals it can return — a
`{"$ref": name}` followed into the document's `$evaluators` (its shared rules) — so a change
can say which variants the targeting may still serve. Never evaluated here: flagd evaluates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def operators(rule: Any) -> Iterator[str]:
    """Every operator a rule uses, outermost first (repeats included; `var` left out)."""
    if isinstance(rule, dict):
        for op, args in rule.items():
            if op != "var":
                yield op
            yield from operators(args)
    elif isinstance(rule, list):
        for part in rule:
            yield from operators(part)


def rule_count(rule: Any) -> int:
    """JsonLogic `if` chains count one rule per condition ([c1, v1, c2, v2, else]), a nested
    `if` in a branch its own; any other non-empty rule is one."""
    if isinstance(rule, dict) and list(rule) == ["if"] and isinstance(rule["if"], list):
        args = rule["if"]
        conditions = len(args) // 2
        branches = [args[i] for i in range(1, len(args), 2)] + (
            [args[-1]] if len(args) % 2 else [])
        return conditions + sum(rule_count(b) for b in branches
                                if isinstance(b, dict) and "if" in b) or 1
    return 1 if rule else 0


def literals(rule: Any, evaluators: Mapping[str, Any], seen: frozenset[str] = frozenset()
             ) -> Iterator[str]:
    """The string literals a rule holds (a `$ref` followed into `$evaluators`), without the
    names given to `var` (those are context properties, not results)."""
    if isinstance(rule, str):
        yield rule
    elif isinstance(rule, list):
        for part in rule:
            yield from literals(part, evaluators, seen)
    elif isinstance(rule, dict):
        for op, args in rule.items():
            if op == "var":
                continue
            if op == "$ref" and isinstance(args, str) and args not in seen:
                yield from literals(evaluators.get(args), evaluators, seen | {args})
                continue
            yield from literals(args, evaluators, seen)
