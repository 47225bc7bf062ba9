"""What Slack refuses in Block Kit, in one place: the fake Slack's messages (chat.postMessage,
chat.update, chat.postEphemeral, a response_url post), its App Home and its modals all ask
this module, and tests/presentation's message lint too.

- `message_problems(blocks)`: the blocks of a message (pointers `/blocks/…`);
- `view_problems(view)`: a Home tab or a modal (pointers `/view/…`), the modal's own fields
  included;
- `text_truncated(text)`: the top-level `text`, which Slack cuts rather than refuses.

Each problem reads as Slack words it in `response_metadata.messages` (without the
"[ERROR] " the caller adds): "must be less than 3001 characters
[json-pointer:/blocks/0/text/text]". Each limit below names the reference page it comes
from (docs.slack.dev, the Block Kit reference; api.slack.com for the older changelogs).
Only the block types and elements deploybot could send are known in detail; any other type
is refused as Slack refuses a block it cannot match ("failed to match all allowed schemas").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# https://docs.slack.dev/reference/block-kit/blocks: "You can include up to 50 blocks in each
# message, and 100 blocks in modals or Home tabs."
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
# https://api.slack.com/changelog/2018-04-truncating-really-long-messages: `text` over 40,000
# characters is truncated (a `message_truncated` warning, the message still posted), for
# chat.postMessage, chat.postEphemeral and response URLs alike; Slack asked for 4,000 before.
TEXT_TRUNCATED_AT = 40_000
TEXT_RECOMMENDED = 4_000

Problems = list[str]


def _at(where: str) -> str:
    return f"[json-pointer:{where}]"


def _too_long(value: Any, most: int, where: str) -> Problems:
    if isinstance(value, str) and len(value) > most:
        return [f"must be less than {most + 1} characters {_at(where)}"]
    return []


def _string(node: dict[str, Any], key: str, most: int, where: str, *,
            required: bool = False) -> Problems:
    value = node.get(key)
    if value is None:
        return [f"missing required field: {key} {_at(where)}"] if required else []
    if not isinstance(value, str):
        return [f"expected string {_at(f'{where}/{key}')}"]
    if value == "":
        return [f"must be more than 0 characters {_at(f'{where}/{key}')}"]
    return _too_long(value, most, f"{where}/{key}")


def _allowed(node: dict[str, Any], keys: set[str], where: str) -> Problems:
    return [f"invalid additional property: {k} {_at(where)}" for k in node if k not in keys]


# -- composition objects -----------------------------------------------------------------

def text_object(node: Any, where: str, *, most: int = 3000, plain: bool = False) -> Problems:
    """A text object (https://docs.slack.dev/reference/block-kit/composition-objects/
    text-object): `type` plain_text or mrkdwn, `text` "minimum length is 1 and maximum
    length is 3000 characters", `emoji` only with plain_text, `verbatim` only with mrkdwn.
    `most`: the field's own limit; `plain`: the field takes plain_text only."""
    if not isinstance(node, dict):
        return [f"expected object {_at(where)}"]
    kind = node.get("type")
    if kind not in ("plain_text", "mrkdwn"):
        return [f"must be one of plain_text, mrkdwn {_at(where + '/type')}"]
    out: Problems = []
    if plain and kind != "plain_text":
        out.append(f"must be plain_text, not mrkdwn {_at(where + '/type')}")
    out += _allowed(node, {"type", "text", "emoji"} if kind == "plain_text"
                    else {"type", "text", "verbatim"}, where)
    out += _string(node, "text", min(most, 3000), where, required=True)
    return out


def confirm_object(node: Any, where: str) -> Problems:
    """A confirmation dialog (https://docs.slack.dev/reference/block-kit/composition-objects/
    confirmation-dialog-object): `title` plain_text up to 100, `text` up to 300, `confirm`
    and `deny` plain_text up to 30, `style` primary or danger."""
    if not isinstance(node, dict):
        return [f"expected object {_at(where)}"]
    out = _allowed(node, {"title", "text", "confirm", "deny", "style"}, where)
    for key, most, plain in (("title", 100, True), ("text", 300, False),
                             ("confirm", 30, True), ("deny", 30, True)):
        if key not in node:
            out.append(f"missing required field: {key} {_at(where)}")
        else:
            out += text_object(node[key], f"{where}/{key}", most=most, plain=plain)
    if node.get("style") not in (None, "primary", "danger"):
        out.append(f"must be one of primary, danger {_at(where + '/style')}")
    return out


def option_object(node: Any, where: str, *, plain: bool = True) -> Problems:
    """An option (https://docs.slack.dev/reference/block-kit/composition-objects/
    option-object): `text` up to 75 (plain_text in select and overflow menus, mrkdwn allowed
    in checkboxes and radio buttons), `value` up to 150, `description` up to 75, `url` up to
    3000."""
    if not isinstance(node, dict):
        return [f"expected object {_at(where)}"]
    out = _allowed(node, {"text", "value", "description", "url"}, where)
    if "text" not in node:
        out.append(f"missing required field: text {_at(where)}")
    else:
        out += text_object(node["text"], f"{where}/text", most=75, plain=plain)
    out += _string(node, "value", 150, where, required=True)
    if "description" in node:
        out += text_object(node["description"], f"{where}/description", most=75, plain=plain)
    out += _string(node, "url", 3000, where)
    return out


def _options(node: dict[str, Any], key: str, most: int, where: str, *,
             plain: bool = True) -> Problems:
    options = node.get(key)
    if options is None:
        return []
    if not isinstance(options, list) or not options:
        return [f"must provide at least 1 item {_at(f'{where}/{key}')}"]
    out = [f"no more than {most} items allowed {_at(f'{where}/{key}')}"] \
        if len(options) > most else []
    for i, option in enumerate(options):
        out += option_object(option, f"{where}/{key}/{i}", plain=plain)
    return out


# -- block elements ----------------------------------------------------------------------

def _button(node: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/block-elements/button-element: `text`
    plain_text only, up to 75; `action_id` 255; `url` 3000; `value` 2000; `style` primary or
    danger; `accessibility_label` 75."""
    out = _allowed(node, {"type", "text", "action_id", "url", "value", "style", "confirm",
                          "accessibility_label"}, where)
    out += text_object(node.get("text"), where + "/text", most=75, plain=True)
    out += _string(node, "url", 3000, where) + _string(node, "value", 2000, where)
    out += _string(node, "accessibility_label", 75, where)
    if node.get("style") not in (None, "primary", "danger"):
        out.append(f"must be one of primary, danger {_at(where + '/style')}")
    return out


def _static_select(node: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element:
    `options` or `option_groups` (not both), at most 100 each; `placeholder` plain_text up
    to 150; an option group's `label` plain_text up to 75."""
    out = _allowed(node, {"type", "action_id", "options", "option_groups", "initial_option",
                          "confirm", "focus_on_load", "placeholder"}, where)
    if ("options" in node) == ("option_groups" in node):
        out.append(f"must provide either options or option_groups {_at(where)}")
    out += _options(node, "options", 100, where)
    groups = node.get("option_groups") or []
    if len(groups) > 100:
        out.append(f"no more than 100 items allowed {_at(where + '/option_groups')}")
    for i, group in enumerate(groups):
        at = f"{where}/option_groups/{i}"
        if not isinstance(group, dict):
            out.append(f"expected object {_at(at)}")
            continue
        out += text_object(group.get("label"), at + "/label", most=75, plain=True)
        out += _options(group, "options", 100, at)
    if "initial_option" in node:
        out += option_object(node["initial_option"], where + "/initial_option")
    return out


def _checkboxes(node: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/block-elements/checkboxes-element: at most
    10 `options` (their text may be mrkdwn)."""
    out = _allowed(node, {"type", "action_id", "options", "initial_options", "confirm",
                          "focus_on_load"}, where)
    if "options" not in node:
        out.append(f"missing required field: options {_at(where)}")
    out += _options(node, "options", 10, where, plain=False)
    out += _options(node, "initial_options", 10, where, plain=False)
    return out


def _plain_text_input(node: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element:
    `min_length` 0 to 3000, `max_length` 1 to 3000, `placeholder` plain_text up to 150."""
    out = _allowed(node, {"type", "action_id", "initial_value", "multiline", "min_length",
                          "max_length", "dispatch_action_config", "focus_on_load",
                          "placeholder"}, where)
    for key, least in (("min_length", 0), ("max_length", 1)):
        value = node.get(key)
        if value is not None and not (isinstance(value, int) and least <= value <= 3000):
            out.append(f"must be between {least} and 3000 {_at(f'{where}/{key}')}")
    return out


def _image_element(node: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/block-elements/image-element: `alt_text`
    required; `image_url` up to 3000 (or a `slack_file`)."""
    out = _allowed(node, {"type", "image_url", "alt_text", "slack_file"}, where)
    out += _string(node, "alt_text", 2000, where, required=True)
    return out + _string(node, "image_url", 3000, where, required="slack_file" not in node)


_ELEMENTS: dict[str, Callable[[dict[str, Any], str], Problems]] = {
    "button": _button, "static_select": _static_select, "checkboxes": _checkboxes,
    "plain_text_input": _plain_text_input, "image": _image_element,
}


def element(node: Any, where: str) -> Problems:
    """One interactive element: its own fields, the `action_id` (up to 255, "Maximum length
    is 255 characters" on every element's page), a `placeholder` (150) and a `confirm`."""
    if not isinstance(node, dict):
        return [f"expected object {_at(where)}"]
    check = _ELEMENTS.get(str(node.get("type")))
    if check is None:
        return [f"failed to match all allowed schemas {_at(where)}"]
    out = check(node, where) + _string(node, "action_id", 255, where)
    if "placeholder" in node:
        out += text_object(node["placeholder"], where + "/placeholder", most=150, plain=True)
    if "confirm" in node:
        out += confirm_object(node["confirm"], where + "/confirm")
    return out


# -- blocks ------------------------------------------------------------------------------

def _section(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/section-block: `text` up to 3000,
    required unless `fields` are given; `fields` at most 10 items of up to 2000 each."""
    out = _allowed(block, {"type", "block_id", "text", "fields", "accessory", "expand"}, where)
    if "text" not in block and "fields" not in block:
        out.append(f"must provide either text or fields {_at(where)}")
    if "text" in block:
        out += text_object(block["text"], where + "/text")
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not fields:
            out.append(f"must provide at least 1 item {_at(where + '/fields')}")
        else:
            if len(fields) > 10:
                out.append(f"no more than 10 items allowed {_at(where + '/fields')}")
            for i, f in enumerate(fields):
                out += text_object(f, f"{where}/fields/{i}", most=2000)
    if "accessory" in block:
        out += element(block["accessory"], where + "/accessory")
    return out


def _header(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/header-block: `text` plain_text,
    "Maximum length for the text in this field is 150 characters"."""
    return _allowed(block, {"type", "block_id", "text"}, where) + \
        text_object(block.get("text"), where + "/text", most=150, plain=True)


def _context(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/context-block: `elements`, image
    elements and text objects, "Maximum number of items is 10"."""
    out = _allowed(block, {"type", "block_id", "elements"}, where)
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [*out, f"must provide at least 1 item {_at(where + '/elements')}"]
    if len(elements) > 10:
        out.append(f"no more than 10 items allowed {_at(where + '/elements')}")
    for i, e in enumerate(elements):
        at = f"{where}/elements/{i}"
        out += element(e, at) if isinstance(e, dict) and e.get("type") == "image" \
            else text_object(e, at)
    return out


def _actions(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/actions-block: "There is a maximum
    of 25 elements in each action block"; each element's `action_id` "Should be unique among
    all other action_ids in the containing block" (button element)."""
    out = _allowed(block, {"type", "block_id", "elements"}, where)
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [*out, f"must provide at least 1 item {_at(where + '/elements')}"]
    if len(elements) > 25:
        out.append(f"no more than 25 items allowed {_at(where + '/elements')}")
    seen: set[str] = set()
    for i, e in enumerate(elements):
        at = f"{where}/elements/{i}"
        out += element(e, at)
        action_id = e.get("action_id") if isinstance(e, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                out.append(f"duplicate action_id {action_id!r} {_at(at + '/action_id')}")
            seen.add(action_id)
    return out


def _divider(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/divider-block: `type` and
    `block_id`, nothing else."""
    return _allowed(block, {"type", "block_id"}, where)


def _image(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/image-block: `alt_text` required,
    up to 2000; `image_url` up to 3000 or a `slack_file`; `title` plain_text up to 2000."""
    out = _allowed(block, {"type", "block_id", "image_url", "slack_file", "alt_text",
                           "title"}, where)
    out += _string(block, "alt_text", 2000, where, required=True)
    out += _string(block, "image_url", 3000, where, required="slack_file" not in block)
    if "title" in block:
        out += text_object(block["title"], where + "/title", most=2000, plain=True)
    return out


def _input(block: dict[str, Any], where: str) -> Problems:
    """https://docs.slack.dev/reference/block-kit/blocks/input-block: `label` plain_text up
    to 2000, `element` required, `hint` plain_text up to 2000."""
    out = _allowed(block, {"type", "block_id", "label", "element", "dispatch_action", "hint",
                           "optional"}, where)
    out += text_object(block.get("label"), where + "/label", most=2000, plain=True)
    if "element" not in block:
        out.append(f"missing required field: element {_at(where)}")
    else:
        out += element(block["element"], where + "/element")
    if "hint" in block:
        out += text_object(block["hint"], where + "/hint", most=2000, plain=True)
    return out


_BLOCKS: dict[str, Callable[[dict[str, Any], str], Problems]] = {
    "section": _section, "header": _header, "context": _context, "actions": _actions,
    "divider": _divider, "image": _image, "input": _input,
}


def blocks_problems(blocks: Any, where: str, *, most: int) -> Problems:
    """A blocks array: at most `most` blocks, each of a known type and valid, each
    `block_id` up to 255 and used once ("block_id should be unique for each message",
    every block's reference page)."""
    if not isinstance(blocks, list):
        return [f"expected array {_at(where)}"]
    out = [f"no more than {most} items allowed {_at(where)}"] if len(blocks) > most else []
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{where}/{i}"
        if not isinstance(block, dict):
            out.append(f"expected object {_at(at)}")
            continue
        check = _BLOCKS.get(str(block.get("type")))
        if check is None:
            out.append(f"failed to match all allowed schemas {_at(at)}")
            continue
        out += check(block, at) + _string(block, "block_id", 255, at)
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen:
                out.append(f"duplicate block_id {block_id!r} {_at(at + '/block_id')}")
            seen.add(block_id)
    return out


def message_problems(blocks: Any) -> Problems:
    """What Slack refuses in a message's `blocks` (chat.postMessage, chat.update,
    chat.postEphemeral, a response_url post): `invalid_blocks`."""
    return blocks_problems(blocks, "/blocks", most=MESSAGE_BLOCKS)


def view_problems(view: Any) -> Problems:
    """What Slack refuses in a view (views.publish, views.open, views.update):
    `invalid_arguments`. Any view: `type` home or modal, at most 100 valid blocks. A modal
    (https://docs.slack.dev/reference/views/modal-views): `title` plain_text up to 24
    (required), `close` and `submit` plain_text up to 24, `submit` required with an input
    block; `private_metadata` up to 3000 and `callback_id` up to 255 (Home tabs too,
    https://docs.slack.dev/reference/views/home-tab-views)."""
    if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
        return ["view must be an object with a type of home or modal"]
    out = blocks_problems(view.get("blocks"), "/view/blocks", most=VIEW_BLOCKS)
    out += _too_long(view.get("private_metadata"), 3000, "/view/private_metadata")
    out += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    if view["type"] != "modal":
        return out
    if "title" not in view:
        out.append(f"missing required field: title {_at('/view')}")
    for key in ("title", "close", "submit"):
        if key in view:
            out += text_object(view[key], f"/view/{key}", most=24, plain=True)
    inputs = any(isinstance(b, dict) and b.get("type") == "input"
                 for b in view.get("blocks") or [])
    if inputs and "submit" not in view:
        out.append(f"submit is required when an input block is present {_at('/view/submit')}")
    return out


def text_truncated(text: Any) -> bool:
    """Whether Slack truncates this top-level `text` (over 40,000 characters): the message
    is posted cut, with the warning `message_truncated`."""
    return isinstance(text, str) and len(text) > TEXT_TRUNCATED_AT
