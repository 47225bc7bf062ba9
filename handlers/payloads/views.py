"""The view (App Home tab, modal) an interaction comes from: its shape and its reading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.payloads.fields import MAX_ID, Malformed, kind_of, text_of


@dataclass(frozen=True)
class View:
    """A view (App Home tab, modal) an interaction comes from."""

    id: str
    callback_id: str | None = None
    hash: str | None = None
    private_metadata: str | None = None
    state: Mapping[str, Any] | None = None  # `state.values`, as Slack sends it


def view_of(value: object, *, required: bool) -> View | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"`view` is {kind_of(value)}, not an object")
    view_id = text_of(value, "id", MAX_ID, required=True, where="view")
    assert view_id is not None
    state = value.get("state")
    if state is not None and not (isinstance(state, dict)
                                  and isinstance(state.get("values", {}), dict)):
        raise Malformed("`view.state` is not an object of `values`")
    return View(
        id=view_id,
        callback_id=text_of(value, "callback_id", MAX_ID, where="view"),
        hash=text_of(value, "hash", MAX_ID, where="view"),
        private_metadata=text_of(value, "private_metadata", None, where="view"),
        state=state.get("values") if isinstance(state, dict) else None,
    )
