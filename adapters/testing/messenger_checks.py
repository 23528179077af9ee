"""What the emulated Send API accepts: the body's two encodings, and Messenger's limits on a
message (text, quick replies, button templates), answered with Graph's error 100 as Meta does."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from adapters.testing.messenger_state import bad_param

JSON = dict[str, Any]

MAX_TEXT = 2000
MAX_TEMPLATE_TEXT = 640
MAX_TEMPLATE_BUTTONS = 3
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_PAYLOAD = 1000


async def read_body(request: web.Request) -> Any:
    """JSON, or a form whose nested values are JSON strings (both work with Graph)."""
    if request.content_type == "application/json":
        try:
            return json.loads(await request.read() or b"null")
        except ValueError:
            raise bad_param("Invalid JSON in the request body") from None
    form = await request.post()
    fields: JSON = {}
    for key, value in form.items():
        text = value if isinstance(value, str) else ""
        try:
            fields[key] = json.loads(text) if text[:1] in "{[" else text
        except ValueError:
            fields[key] = text
    return fields


def check_message(message: JSON) -> None:
    text = message.get("text")
    attachment = message.get("attachment")
    if (text is None) == (attachment is None):
        raise bad_param("Must send either message text or an attachment")
    if text is not None:
        if not isinstance(text, str) or not text:
            raise bad_param("param message[text] must be a non-empty UTF-8 encoded string")
        if len(text) > MAX_TEXT:
            raise bad_param(
                f"Length of param message[text] must be less than or equal to {MAX_TEXT}"
            )
    quick = message.get("quick_replies")
    if quick is not None:
        if not isinstance(quick, list) or not 1 <= len(quick) <= MAX_QUICK_REPLIES:
            raise bad_param(f"param message[quick_replies] must have 1 to {MAX_QUICK_REPLIES}")
        for q in quick:
            _check_button(q, "quick_replies", kind_key="content_type", kind="text")
    if attachment is not None:
        _check_template(attachment)


def _check_template(attachment: Any) -> None:
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not isinstance(payload, dict) or attachment.get("type") != "template":
        raise bad_param("param message[attachment] must be a template here")
    if payload.get("template_type") != "button":
        raise bad_param("the emulator knows the button template only")
    text = payload.get("text")
    if not isinstance(text, str) or not text or len(text) > MAX_TEMPLATE_TEXT:
        raise bad_param(
            f"param message[attachment][payload][text] must be 1 to {MAX_TEMPLATE_TEXT} chars"
        )
    buttons = payload.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_TEMPLATE_BUTTONS:
        raise bad_param("param message[attachment][payload][buttons] must have 1 to 3 buttons")
    for button in buttons:
        _check_button(button, "buttons", kind_key="type", kind="postback")


def _check_button(button: Any, where: str, *, kind_key: str, kind: str) -> None:
    if not isinstance(button, dict) or button.get(kind_key) != kind:
        raise bad_param(f"param {where}: {kind_key} must be {kind!r} here")
    title = button.get("title")
    if not isinstance(title, str) or not title or len(title) > MAX_TITLE:
        raise bad_param(f"param {where}[title] must be 1 to {MAX_TITLE} characters")
    payload = button.get("payload")
    if not isinstance(payload, str | int) or len(str(payload)) > MAX_PAYLOAD:
        raise bad_param(f"param {where}[payload] must be at most {MAX_PAYLOAD} characters")
