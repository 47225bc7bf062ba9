"""Label and field selectors, as the API server parses them for list and watch.

Label selectors (`a=b,c!=d,e in (x,y),e notin (z),f,!g`: equality-, set-based and existence
terms, apimachinery's labels.Parse) and field selectors (`metadata.name=api`,
`status.phase!=Running`: equality on a dotted path, fields.ParseSelector). A term that does
not parse is a 400, as the API server answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from devtools.fake_k8s.api import ApiError, JSONDict


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_SET_TERM = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_TERM = re.compile(r"^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$")
_EXISTS_TERM = re.compile(r"^(!?)\s*([\w./-]+)$")


def label_matcher(selector: str | None) -> Callable[[dict[str, str]], bool]:
    """Compile a label selector (``a=b,c!=d,e in (x,y),!f``) into a predicate on labels."""
    terms: list[tuple[str, str, frozenset[str]]] = []  # (op, key, values)
    for term in _split_top_level(selector or ""):
        if m := _SET_TERM.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            terms.append((m.group(2), m.group(1), values))
        elif m := _EQ_TERM.match(term):
            op = "!=" if m.group(2) == "!=" else "="
            terms.append((op, m.group(1), frozenset({m.group(3)})))
        elif m := _EXISTS_TERM.match(term):
            terms.append(("!" if m.group(1) else "exists", m.group(2), frozenset()))
        else:
            raise ApiError(400, f"unable to parse requirement: {term!r}")

    def matches(labels: dict[str, str]) -> bool:
        for op, key, values in terms:
            value = labels.get(key)
            ok = {
                "in": value in values,
                "=": value in values,
                "notin": value not in values,
                "!=": value not in values,
                "exists": key in labels,
                "!": key not in labels,
            }[op]
            if not ok:
                return False
        return True

    return matches


def _field_value(obj: JSONDict, dotted: str) -> str:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def field_matcher(selector: str | None) -> Callable[[JSONDict], bool]:
    """Compile a field selector (``metadata.name=api``, ``status.phase!=Running``)."""
    terms: list[tuple[str, bool, str]] = []  # (path, equal, value)
    for term in _split_top_level(selector or ""):
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", term)
        if m is None:
            raise ApiError(400, f"invalid field selector: {term!r}")
        terms.append((m.group(1), m.group(2) != "!=", m.group(3).strip()))

    def matches(obj: JSONDict) -> bool:
        return all((_field_value(obj, path) == value) == equal for path, equal, value in terms)

    return matches


def labels_of(obj: JSONDict) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def query_matcher(query: dict[str, str]) -> Callable[[JSONDict], bool]:
    """The `labelSelector` and `fieldSelector` of a list or watch request, as one predicate."""
    labels = label_matcher(query.get("labelSelector"))
    fields = field_matcher(query.get("fieldSelector"))
    return lambda obj: labels(labels_of(obj)) and fields(obj)
