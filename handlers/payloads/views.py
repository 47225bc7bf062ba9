"""The view (App Home tab, modal) an interaction comes from: its shape and its reading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.payloads.fields import MAX_ID, Malformed, kind_of, text_of


@dataclass(frozen=True)
class Field:
    """One input of a submitted view (`state.values.<block_id>.<action_id>`): a text
    input's `value`, a select's `selected_option` value, checkboxes' `selected_options`
    values (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload)."""

    type: str | None = None
    value: str | None = None
    selected_option: str | None = None
    selected_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class View:
    """A view (App Home tab, modal) an interaction comes from."""

    id: str
    callback_id: str | None = None
    hash: str | None = None
    private_metadata: str | None = None
    state: Mapping[str, Any] | None = None  # `state.values`, as Slack sends it
    fields: Mapping[tuple[str, str], Field] | None = None  # `state.values`, read

    def field(self, block_id: str, action_id: str | None = None) -> Field:
        """The input `action_id` (the block's id unless given) of block `block_id`; an
        empty Field when the submission has none (Slack leaves out blocks it has no
        state for)."""
        return (self.fields or {}).get((block_id, action_id or block_id), Field())


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
        fields=_fields(state.get("values", {})) if isinstance(state, dict) else None,
    )


def _fields(values: dict[str, Any]) -> dict[tuple[str, str], Field]:
    """`state.values` read: {(block_id, action_id): Field}; Malformed on a wrong shape."""
    read: dict[tuple[str, str], Field] = {}
    for block_id, actions in values.items():
        if len(block_id) > MAX_ID or not isinstance(actions, dict):
            raise Malformed("`view.state.values` holds a block that is not an object of "
                            "inputs")
        for action_id, v in actions.items():
            where = "view.state.values input"
            if len(action_id) > MAX_ID or not isinstance(v, dict):
                raise Malformed(f"a `{where}` is not an object")
            option = v.get("selected_option")
            if option is not None and not isinstance(option, dict):
                raise Malformed(f"a `{where}`'s selected_option is {kind_of(option)}")
            options = v.get("selected_options") or []
            if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
                raise Malformed(f"a `{where}`'s selected_options is not an array of objects")
            read[(block_id, action_id)] = Field(
                type=text_of(v, "type", MAX_ID, where=where),
                value=text_of(v, "value", None, where=where),
                selected_option=(text_of(option, "value", None, where=where)
                                 if option is not None else None),
                selected_options=tuple(text_of(o, "value", None, where=where) or ""
                                       for o in options))
    return read
