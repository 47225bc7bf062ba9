"""The flags a service declares, as they are in an environment (issue 17), pure: a
`FlagReading` says for each declared flag whether it exists where the environment's flags
live, what it serves (flagd: its state, default variant and value, variants and a targeting
summary; OFREP: the value, variant and reason the flag service evaluated), and whether the
variant the service's `expect` names holds. `/flags` shows it, the checklist's "Feature
flags configured" is ✅ only when every declared flag exists with its `expect`, and the
deployment record keeps the one read when the rollout started ("Feature flags set").

`expect` (`on`, `off` or a variant's name) holds on a flagd flag that is ENABLED with the
default variant it names (on/off as bot.domain.flags reads them: the `true`/`false`
variant); a DISABLED flag serves the caller's code default, so no `expect` holds on it. On
an OFREP evaluation it holds when the variant is the one named, or (on/off) when the value is
that boolean. Kept as JSON (`to_json`/`from_json`) with the deployment and its checklist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.domain.flags import ON, Evaluation, Flag, FlagChange, FlagDocument
from bot.errors import UserError

Source = Literal["flagd", "ofrep"]


@dataclass(frozen=True)
class Declared:
    """A flag a service declares (services.<name>.flags)."""

    name: str
    expect: str | None = None
    kill_switch: bool = False


@dataclass(frozen=True)
class FlagStatus:
    """One declared flag as found. `variant`/`value` (JSON text): the default variant and
    its value (flagd), or what the flag service evaluated (OFREP). `error`: why an OFREP
    flag could not be evaluated; `wrong`: why its `expect` does not hold."""

    name: str
    expect: str | None = None
    found: bool = True
    state: str | None = None
    variant: str | None = None
    value: str | None = None
    variants: tuple[tuple[str, str], ...] = ()
    targeting: str | None = None
    reason: str | None = None
    error: str | None = None
    wrong: str | None = None

    @property
    def ok(self) -> bool:
        return self.found and self.error is None and self.wrong is None

    @property
    def served(self) -> str:
        """What it serves in a few words: "`off` (false)", "DISABLED", "missing" (as read:
        the card and the record escape what they show)."""
        if not self.found:
            return "missing"
        if self.error is not None:
            return f"not evaluated ({self.error})"
        if self.state == "DISABLED":
            return "DISABLED (the applications' code default)"
        if self.variant is None:
            return self.value if self.value is not None else "no default variant"
        return f"`{self.variant}`" + (f" ({self.value})" if self.value is not None else "")


@dataclass(frozen=True)
class FlagReading:
    """The declared flags of a service in an environment, read at `at` from `where`
    (`source`: flagd's definitions, or an OFREP flag service). `problem`: they could not be
    read (then `flags` is empty)."""

    source: Source
    where: str
    at: datetime
    flags: tuple[FlagStatus, ...] = ()
    problem: str | None = None

    @property
    def missing(self) -> list[str]:
        return [f.name for f in self.flags if not f.found]

    @property
    def wrong(self) -> list[FlagStatus]:
        return [f for f in self.flags if f.found and not f.ok]

    @property
    def ok(self) -> bool:
        return self.problem is None and all(f.ok for f in self.flags)

    def problems(self) -> str:
        """What is missing or wrong, in a line ("" when nothing is)."""
        if self.problem is not None:
            return f"could not be read: {self.problem}"
        parts = [f"`{f.name}` missing" for f in self.flags if not f.found]
        parts += [f"`{f.name}` {f.wrong or f.served}" for f in self.wrong]
        return "; ".join(parts)

    def values(self) -> str:
        """Every declared flag and what it serves: "`new-checkout` `off` (false), …"."""
        return ", ".join(f"`{f.name}` {f.served}" for f in self.flags)


def _expect_on_flagd(flag: Flag, expect: str) -> str | None:
    """Why `expect` does not hold on `flag` (None: it holds)."""
    try:
        want = FlagChange(flag.name, expect).variant_of(flag)
    except UserError as e:
        return f"cannot serve the expected `{expect}`: {e.message}"
    if flag.state == "DISABLED":
        return f"is DISABLED (applications get their code default), expected `{want}`"
    if flag.default_variant != want:
        return f"serves `{flag.default_variant}`, expected `{expect}`"
    return None


def from_document(declared: Sequence[Declared], document: FlagDocument, *, where: str,
                  at: datetime) -> FlagReading:
    """The declared flags as flagd's definitions (`document`) hold them."""
    out = []
    for ref in declared:
        flag = document.get(ref.name)
        if flag is None:
            out.append(FlagStatus(ref.name, ref.expect, found=False))
            continue
        view = flag.view()
        out.append(FlagStatus(
            ref.name, ref.expect, state=view.state, variant=view.default_variant,
            value=view.default_value, variants=view.variants, targeting=view.targeting,
            wrong=None if ref.expect is None else _expect_on_flagd(flag, ref.expect)))
    return FlagReading("flagd", where, at, tuple(out))


def _expect_on_evaluation(e: Evaluation, expect: str) -> str | None:
    if e.variant == expect:
        return None
    if expect in (ON, "off") and isinstance(e.value, bool) and e.value is (expect == ON):
        return None
    got = f"`{e.variant}`" if e.variant is not None else json.dumps(e.value)
    return f"serves {got}, expected `{expect}`"


def from_evaluations(declared: Sequence[Declared], evaluations: Mapping[str, Evaluation | None],
                     *, where: str, at: datetime) -> FlagReading:
    """The declared flags as a flag service evaluated them (None: it has no such flag)."""
    out = []
    for ref in declared:
        e = evaluations.get(ref.name)
        if e is None:
            out.append(FlagStatus(ref.name, ref.expect, found=False))
            continue
        if not e.ok:
            error = e.error_code or "error"
            out.append(FlagStatus(ref.name, ref.expect, error=error + (
                f": {e.error_details}" if e.error_details else "")))
            continue
        out.append(FlagStatus(
            ref.name, ref.expect, variant=e.variant,
            value=json.dumps(e.value, ensure_ascii=False, sort_keys=True), reason=e.reason,
            wrong=None if ref.expect is None else _expect_on_evaluation(e, ref.expect)))
    return FlagReading("ofrep", where, at, tuple(out))


def unreadable(source: Source, where: str, *, at: datetime, problem: str) -> FlagReading:
    return FlagReading(source, where, at, (), problem)


# -- kept as JSON -----------------------------------------------------------------------------

_FIELDS = ("name", "expect", "found", "state", "variant", "value", "targeting", "reason",
           "error", "wrong")


def to_json(r: FlagReading) -> dict[str, Any]:
    return {"source": r.source, "where": r.where, "at": r.at.isoformat(),
            "problem": r.problem,
            "flags": [{k: getattr(f, k) for k in _FIELDS} | {"variants": [list(v) for v in
                                                                           f.variants]}
                      for f in r.flags]}


def from_json(data: Mapping[str, Any]) -> FlagReading:
    source: Source = "ofrep" if data.get("source") == "ofrep" else "flagd"
    return FlagReading(
        source, str(data.get("where") or ""), datetime.fromisoformat(str(data["at"])),
        tuple(FlagStatus(**{k: f.get(k) for k in _FIELDS if k in f},
                         variants=tuple((str(a), str(b)) for a, b in f.get("variants") or []))
              for f in data.get("flags") or []),
        data.get("problem"))
