"""docs/configuration.md is generated from the config models' descriptions and kept current;
every key of app.yaml has a description (the one statement of what it means)."""

from __future__ import annotations

import difflib
from typing import Any

from bot.config.reference import COMMAND, DOC, render, schema


def test_the_configuration_reference_is_current() -> None:
    written = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    fresh = render()
    diff = "\n".join(list(difflib.unified_diff(
        written.splitlines(), fresh.splitlines(), "docs/configuration.md", "generated",
        lineterm=""))[:40])
    assert written == fresh, f"docs/configuration.md is stale: run `{COMMAND}`\n{diff}"


def _models(full: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every model in app.yaml's schema (the top level and each $defs entry with keys)."""
    defs = full.get("$defs", {})
    return {"AppConfig": full, **{name: d for name, d in defs.items() if "properties" in d}}


def test_every_key_says_what_it_means() -> None:
    missing = [f"{model}.{field}" for model, node in _models(schema()).items()
               for field, prop in node["properties"].items()
               if not str(prop.get("description", "")).strip()]
    assert missing == [], f"fields without Field(description=...): {missing}"


def test_every_section_says_what_it_is() -> None:
    missing = [model for model, node in _models(schema()).items()
               if not str(node.get("description", "")).strip()]
    assert missing == [], f"models without a docstring: {missing}"


def test_every_default_is_written_as_app_yaml_writes_it() -> None:
    """Defaults made by a factory are in the reference too, durations as 2h, not PT2H."""
    text = render()
    assert "| `announcements.freeze_warnings` | list of durations | `[1d, 1h]` |" in text
    assert "| `environments.<name>.approval.expires_after` | duration | `2h` |" in text
    assert "| `alerts.email.send_at` | time of day (HH:MM) | `17:00` |" in text
    assert "PT" not in "".join(line.split("|")[3] for line in text.splitlines()
                               if line.startswith("| `"))


def test_every_nested_key_has_its_full_path() -> None:
    text = render()
    for key in ("environments.<name>.verify.bake", "services.<name>.kubernetes.jobs.env",
                "freezes.holidays[].country", "services.<name>.github.actions.inputs",
                "announcements.mentions", "checklist.required_in"):
        assert f"| `{key}` |" in text, key
    assert "| `services.<name>.kubernetes.namespaces` | mapping: `<environment>` → string |" \
        in text
