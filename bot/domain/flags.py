"""Feature flags as flagd defines them (issue 17), pure: the flag-definition document, what
is shown of a flag, and the changes deploybot makes to one.

flagd's format (flagd.dev "Flag Definitions"; the schema https://flagd.dev/schema/v0/
flags.json): a JSON object whose `flags` maps a flag key to `{state: ENABLED|DISABLED,
variants: {name: value}, defaultVariant: name (or null: the caller's code default),
targeting: JsonLogic, metadata: {…}}`, beside an optional `$evaluators` (shared targeting
rules, used as `{"$ref": name}`) and a flag-set `metadata`. The OpenFeature Operator's
`FeatureFlag` resource holds the same object at `spec.flagSpec`.

This module owns:

- `FlagDocument`: a document read tolerantly — only what deploybot changes is checked, and
  every other field (a team's targeting, metadata, `$evaluators`, `$schema`, keys a later
  flagd adds) is written back as it was read;
- `FlagView`: one flag as shown (state, default variant and its value, variants, a
  one-line targeting summary);
- `FlagChange`: turn a flag on, off, or to a named default variant, with specific errors
  (unknown flag, unknown variant naming the variants, on/off of a flag that is not
  boolean) and `caveats` that say what the change does not do.

What "off" means (and why not `state: DISABLED`): flagd's docs say a DISABLED flag is
treated "as if it doesn't exist"; the providers then return the *caller's* default
(flagd's in-process core answers `reason=DISABLED` with the default the code passed). The
code default is whatever the application was written with — often `true` once a feature
has launched — so DISABLED is no kill switch. "off" is therefore the boolean flag's
variant whose value is `false` (named `off` when several are) as the `defaultVariant`,
with `state: ENABLED`; "on" likewise the `true` variant. A DISABLED flag turned on or off
(or to a variant) is ENABLED by the change, so what it serves is the variant named.
flagd's docs also say "the default variant is always used unless a targeting rule
explicitly overrides it": deploybot never drops targeting, so when the flag's targeting
(or a `$evaluators` rule it references) can still return another variant, the change says
so in `caveats` rather than claiming everyone now gets the default.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.domain.flag_targeting import literals, operators, rule_count
from bot.errors import NotFound, PermanentError, UserError

State = Literal["ENABLED", "DISABLED"]
STATES: tuple[State, ...] = ("ENABLED", "DISABLED")
ON, OFF = "on", "off"


class UnknownFlag(NotFound):
    """No flag of that name where the flags of an environment live."""

    def __init__(self, name: str, where: str, known: list[str] | None = None) -> None:
        """`known`: the flags there, listed in the message (None: not known, e.g. a flag
        service that only says FLAG_NOT_FOUND)."""
        listed = "" if known is None else (
            f" (flags there: {', '.join(sorted(known)[:20]) or 'none'})")
        super().__init__(f"There is no flag `{name}` in {where}{listed}.")
        self.name = name


class UnknownVariant(UserError):
    """The flag has no variant of that name: the message lists the variants it has."""

    def __init__(self, flag: str, variant: str, variants: list[str]) -> None:
        super().__init__(f"Flag `{flag}` has no variant `{variant}`: its variants are "
                         + ", ".join(f"`{v}`" for v in variants) + ".")
        self.flag, self.variant = flag, variant


class NotBoolean(UserError):
    """`on`/`off` of a flag whose variants are not booleans (name a variant instead)."""

    def __init__(self, flag: str, target: str, variants: list[str], why: str) -> None:
        super().__init__(f"Flag `{flag}` cannot be turned {target}: {why}. Name one of its "
                         "variants instead: " + ", ".join(f"`{v}`" for v in variants) + ".")


class InvalidFlagDocument(PermanentError):
    """What was read is not a flagd flag-definition document (says where and why)."""


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# -- one flag ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlagView:
    """A flag as shown: `default_value` is the default variant's value as JSON text (None
    when `defaultVariant` is null or names no variant: the caller's code default)."""

    name: str
    state: str
    default_variant: str | None
    default_value: str | None
    variants: tuple[tuple[str, str], ...]
    targeting: str | None

    @property
    def enabled(self) -> bool:
        return self.state == "ENABLED"


@dataclass(frozen=True)
class Flag:
    """One flag's definition, `raw` as read (a copy; never shared with the document)."""

    name: str
    raw: Mapping[str, Any]
    evaluators: Mapping[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return str(self.raw.get("state") or "ENABLED")

    @property
    def variants(self) -> dict[str, Any]:
        variants = self.raw.get("variants")
        return dict(variants) if isinstance(variants, dict) else {}

    @property
    def default_variant(self) -> str | None:
        value = self.raw.get("defaultVariant")
        return None if value is None else str(value)

    @property
    def targeting(self) -> Any:
        return self.raw.get("targeting") or None

    @property
    def is_boolean(self) -> bool:
        values = list(self.variants.values())
        return bool(values) and all(isinstance(v, bool) for v in values)

    def rules(self) -> str | None:
        """The targeting in a few words, e.g. "2 rules (if, in, ends_with)": how many
        conditions and which JsonLogic operators (`var` left out); None without targeting."""
        rule = self.targeting
        if rule is None:
            return None
        ops = list(dict.fromkeys(operators(rule)))
        n = rule_count(rule)
        return (f"{n} rule{'s' if n != 1 else ''}"
                + (f" ({', '.join(ops[:6])}{' …' if len(ops) > 6 else ''})" if ops else ""))

    def targeting_summary(self) -> str | None:
        """e.g. "targeting: 2 rules (if, in, ends_with)"; None without targeting."""
        rules = self.rules()
        return None if rules is None else f"targeting: {rules}"

    def variants_targeting_names(self) -> list[str]:
        """The variants the targeting (with the `$evaluators` it references) names: those
        it can return instead of the default."""
        named = set(literals(self.targeting, self.evaluators))
        return [v for v in self.variants if v in named]

    def view(self) -> FlagView:
        variants = self.variants
        default = self.default_variant
        return FlagView(
            name=self.name, state=self.state, default_variant=default,
            default_value=_dump(variants[default]) if default in variants else None,
            variants=tuple((k, _dump(v)) for k, v in variants.items()),
            targeting=self.targeting_summary(),
        )


# -- the document -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FlagDocument:
    """A flagd flag-definition document: `data` is the whole object as read (a private copy),
    written back with only the changed flag's changed fields differing."""

    data: Mapping[str, Any]

    @classmethod
    def parse(cls, data: object, *, where: str) -> FlagDocument:
        """`data` (parsed JSON) checked for what deploybot reads: an object with a `flags`
        object whose entries are objects. `where` names the source in the error."""
        if not isinstance(data, dict):
            raise InvalidFlagDocument(f"{where} does not hold a flagd flag definition: "
                                      "expected a JSON object")
        flags = data.get("flags")
        if not isinstance(flags, dict):
            raise InvalidFlagDocument(f"{where} does not hold a flagd flag definition: "
                                      "`flags` is missing or not an object")
        for name, flag in flags.items():
            if not isinstance(flag, dict):
                raise InvalidFlagDocument(f"{where}: flag `{name}` is not an object")
        return cls(copy.deepcopy(data))

    @classmethod
    def from_json(cls, text: str, *, where: str) -> FlagDocument:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise InvalidFlagDocument(f"{where} is not valid JSON: {e}") from None
        return cls.parse(data, where=where)

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.data))

    @property
    def names(self) -> list[str]:
        return list(self.data["flags"])

    def get(self, name: str) -> Flag | None:
        raw = self.data["flags"].get(name)
        if raw is None:
            return None
        evaluators = self.data.get("$evaluators")
        return Flag(name, copy.deepcopy(raw),
                    copy.deepcopy(evaluators) if isinstance(evaluators, dict) else {})

    def flag(self, name: str, *, where: str) -> Flag:
        found = self.get(name)
        if found is None:
            raise UnknownFlag(name, where, self.names)
        return found

    def views(self) -> list[FlagView]:
        return [flag.view() for name in self.names if (flag := self.get(name)) is not None]

    def with_flag(self, name: str, raw: Mapping[str, Any]) -> FlagDocument:
        data = self.to_dict()
        data["flags"][name] = copy.deepcopy(dict(raw))
        return FlagDocument(data)


# -- changes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Changed:
    """What a change did: the new document, the flag before and after, and `caveats` (what
    the change does not do, e.g. targeting that still serves another variant)."""

    document: FlagDocument
    before: FlagView
    after: FlagView
    caveats: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class FlagChange:
    """Set flag `flag` to `target`: "on", "off" (boolean flags) or a variant's name."""

    flag: str
    target: str

    def variant_of(self, flag: Flag) -> str:
        """The variant `target` names on `flag` (see the module's docstring for on/off)."""
        variants = list(flag.variants)
        if self.target not in (ON, OFF):
            if self.target not in flag.variants:
                raise UnknownVariant(flag.name, self.target, variants)
            return self.target
        if not flag.is_boolean:
            if self.target in flag.variants:  # a string flag with a variant named on/off
                return self.target
            raise NotBoolean(flag.name, self.target, variants,
                             "its variants are not true/false")
        wanted = self.target == ON
        matching = [name for name, value in flag.variants.items() if value is wanted]
        if self.target in matching:
            return self.target
        if len(matching) == 1:
            return matching[0]
        why = (f"no variant is {str(wanted).lower()}" if not matching else
               f"several variants are {str(wanted).lower()} and none is named `{self.target}`")
        raise NotBoolean(flag.name, self.target, variants, why)

    def apply(self, document: FlagDocument, *, where: str) -> Changed:
        flag = document.flag(self.flag, where=where)
        variant = self.variant_of(flag)
        raw = dict(flag.raw)
        raw["state"] = "ENABLED"
        raw["defaultVariant"] = variant
        new_doc = document.with_flag(self.flag, raw)
        after = new_doc.flag(self.flag, where=where)
        caveats: list[str] = []
        if flag.state == "DISABLED":
            caveats.append(f"`{self.flag}` was DISABLED (applications got their own code "
                           "default); it is ENABLED now")
        others = [v for v in after.variants_targeting_names() if v != variant]
        if others:
            caveats.append(
                f"its targeting ({after.rules()}) still decides for the contexts it matches "
                "and can serve " + ", ".join(f"`{v}`" for v in others)
                + f"; `{variant}` is the default for everyone else")
        return Changed(new_doc, flag.view(), after.view(), tuple(caveats))


# -- evaluations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """A flag evaluated by a flag service (OFREP's answer): its `value` (JSON), the
    `variant` and `reason` when the service said, or the `error_code` (FLAG_NOT_FOUND,
    PARSE_ERROR, TARGETING_KEY_MISSING, INVALID_CONTEXT, GENERAL, TYPE_MISMATCH) and
    `error_details` of a flag that could not be evaluated (in a bulk answer)."""

    key: str
    value: Any = None
    variant: str | None = None
    reason: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_details: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None
