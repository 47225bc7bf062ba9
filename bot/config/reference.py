"""docs/configuration.md, generated from app.yaml's schema (`AppConfig.model_json_schema()`):
every key with its full dotted path, type, default and meaning (the field's `description=`).

`python -m bot.config.reference` writes the file; `--check` exits 1 when it is stale (as
tests/config/test_reference.py does). The descriptions are the one source: edit them, not
the generated file.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from bot.config.app import AppConfig
from bot.config.base import format_duration

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
COMMAND = "python -m bot.config.reference"

Schema = dict[str, Any]


def _plain(value: object) -> object:
    """A default as app.yaml would write it: durations as 2h or 90m, times as 17:00."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


class _ReferenceSchema(GenerateJsonSchema):
    """The JSON schema with every default, including those made by a `default_factory`,
    written as app.yaml writes them."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return super().get_default_value(schema)

    def encode_default(self, dft: Any) -> Any:
        return super().encode_default(_plain(dft))


def schema() -> Schema:
    return AppConfig.model_json_schema(schema_generator=_ReferenceSchema)


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    meaning: str
    section: str | None  # where its own keys are listed (a model, or a mapping/list of them)


@dataclass(frozen=True)
class Section:
    """One model at one place in the file (`depth` 0: the top level): its direct keys."""

    path: str
    depth: int
    intro: str
    rows: tuple[Row, ...]


class _Walker:
    def __init__(self, full: Schema) -> None:
        self.defs: dict[str, Schema] = full.get("$defs", {})

    def deref(self, node: Schema) -> Schema:
        ref = node.get("$ref")
        return self.defs[ref.rsplit("/", 1)[1]] if ref else node

    def unwrap(self, node: Schema) -> tuple[Schema, bool]:
        """(the schema without `| None`, whether null is allowed)."""
        options = node.get("anyOf")
        if options:
            rest = [o for o in options if o.get("type") != "null"]
            if len(rest) == 1:
                return self.deref(rest[0]), len(rest) < len(options)
        return self.deref(node), False

    @staticmethod
    def is_model(node: Schema) -> bool:
        return "properties" in node

    def child_model(self, prop: Schema) -> tuple[str, Schema] | None:
        """Where a field's keys continue: its model (suffix ''), each mapping value's
        model ('.<key>') or each list item's model ('[]')."""
        node, _ = self.unwrap(prop)
        if self.is_model(node):
            return "", node
        if node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict):
            value, _ = self.unwrap(node["additionalProperties"])
            if self.is_model(value):
                return f".<{prop.get('x-key', 'key')}>", value
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            item, _ = self.unwrap(node["items"])
            if self.is_model(item):
                return "[]", item
        return None

    def type_of(self, prop: Schema) -> str:
        node, nullable = self.unwrap(prop)
        text = self._type(node, prop.get("x-key", "key"))
        return f"{text} or null" if nullable else text

    def _type(self, node: Schema, key: str = "key") -> str:
        if self.is_model(node):
            return "section"
        if "const" in node:
            return f"`{node['const']}`"
        if "enum" in node:
            return " | ".join(f"`{v}`" for v in node["enum"])
        if "anyOf" in node:
            return " or ".join(self._type(self.deref(o)) for o in node["anyOf"])
        kind = str(node.get("type", "any"))
        fmt = node.get("format")
        if kind == "string":
            if fmt == "duration":
                return "duration"
            if fmt == "time":
                return "time of day (HH:MM)"
            if fmt in ("date", "date-time"):
                return str(fmt)
            return "string" + (f" matching `{node['pattern']}`" if "pattern" in node else "")
        if kind in ("integer", "number"):
            low, high = node.get("minimum"), node.get("maximum")
            if "exclusiveMinimum" in node:
                return f"{kind} > {node['exclusiveMinimum']}"
            if low is not None and high is not None:
                return f"{kind} from {low} to {high}"
            return kind + (f" ≥ {low}" if low is not None else "")
        if kind == "array":
            items = self.unwrap(node.get("items", {}))[0]
            inner = self._type(items)
            inner = ("sections" if self.is_model(items) else inner + "s" if inner.isalpha()
                     else f"({inner})")
            return ("non-empty " if node.get("minItems") else "") + f"list of {inner}"
        if kind == "object":
            value = node.get("additionalProperties")
            if not isinstance(value, dict):
                return "mapping"
            inner = self._type(self.unwrap(value)[0])
            return f"mapping: <{key}> → {inner}"
        return kind

    def sections(self, model: Schema, path: str, depth: int = 0) -> Iterator[Section]:
        """The model at `path` and, after it, every model under it, depth first."""
        rows = []
        nested: list[tuple[str, Schema]] = []
        for name, prop in model["properties"].items():
            key = f"{path}.{name}" if path else name
            child = self.child_model(prop)
            section = None if child is None else key + child[0]
            rows.append(Row(key, self.type_of(prop), self.default(prop),
                            _one_line(prop.get("description", "")), section))
            if child is not None:
                nested.append((key + child[0], child[1]))
        yield Section(path, depth, _one_line(model.get("description", "")), tuple(rows))
        for sub_path, sub in nested:
            yield from self.sections(sub, sub_path, depth + 1)

    def default(self, prop: Schema) -> str:
        if "default" not in prop:
            return "required"
        child = self.child_model(prop)
        if child is not None and child[0] == "":
            return ""  # a section: its keys are listed below, each with its default
        return f"`{_flow(prop['default'])}`"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _flow(value: object) -> str:
    """A default in YAML's flow style: [24h, 1h], {}, null, true."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value) if value != "" else '""'


#: Words with a `<…>` in them (environments.<name>, <!here>, https://<host>/api/v3): put in a
#: code span, or Markdown would take `<name>` for an HTML tag and drop it.
_PLACEHOLDER = re.compile(r"[\w.:/@-]*<[^<>\s]+>[\w.:/<>\[\]-]*")


def _cell(text: str) -> str:
    """Markdown for a table cell or a paragraph: words with `<…>` outside code spans put in
    code spans, pipes escaped (GitHub's tables split cells at them, even in code spans)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = _PLACEHOLDER.sub(lambda m: f"`{m.group(0)}`", parts[i])
    return "`".join(parts).replace("|", "\\|")


def _anchor(path: str) -> str:
    """GitHub's anchor for a heading `path` in a code span."""
    kept = "".join(c for c in path.lower() if c.isalnum() or c in "-_ ")
    return kept.replace(" ", "-")


def render() -> str:
    full = schema()
    top, *rest = _Walker(full).sections(full, "")
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by `" + COMMAND + "` from the models in bot/config/ (each field's "
        "`description=`). Do not edit by hand: change the description and run it again; "
        "tests/config/test_reference.py fails when this file is stale. -->",
        "",
        _cell(top.intro),
        "",
        "`app.yaml` (or `$DEPLOYBOT_CONFIG`) is read once at start; `deploybot check-config "
        "[path]` validates it and prints what it understood, and any problem is one line "
        "with the file, the key and the reason. A duration is written like `2h`, `90m`, "
        "`1d 12h`, `30s` or a number of seconds. `<name>` stands for a key you choose (an "
        "environment's or a service's name), `[]` for each item of a list. A key left out "
        "takes its default; a key the schema does not know is an error.",
        "",
        "## Top level",
        "",
        *_table(top.rows),
    ]
    for section in rest:
        out += ["", f"{'#' * min(section.depth + 1, 4)} `{section.path}`", ""]
        if section.intro:
            out += [_cell(section.intro), ""]
        out += _table(section.rows)
    return "\n".join(out) + "\n"


def _table(rows: tuple[Row, ...]) -> list[str]:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for r in rows:
        key = f"`{r.key}`"
        if r.section is not None:
            key = f"[{key}](#{_anchor(r.section)})"
        lines.append(f"| {key} | {_cell(r.type)} | {r.default} | {_cell(r.meaning)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    p.add_argument("--check", action="store_true",
                   help="exit 1 if the file differs from what would be written")
    ns = p.parse_args(argv)
    text = render()
    if ns.check:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.relative_to(DOC.parents[1])} is stale: run {COMMAND}",
                  file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
