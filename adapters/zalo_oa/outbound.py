"""A `SendText` as the OA API requests carrying it.

Zalo's limit is 2000 characters a message, so longer texts go as several messages, cut at
line ends; the last one carries the buttons (the core keeps its id). A user's message carries
them as template buttons; group messages have none, so there the buttons become lines
telling what to type to the OA. Buttons beyond Zalo's five become such lines as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from adapters.kit.text import split_text
from adapters.zalo_oa.api import SEND_TO_GROUP, SEND_TO_USER
from adapters.zalo_oa.buttons import MAX_BUTTONS, command_lines, template
from adapters.zalo_oa.chats import recipient
from botkit.outbound import Button, SendText

MAX_TEXT: Final = 2000  # characters, as Zalo counts them


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    body: dict[str, Any]


def requests_for(action: SendText) -> list[Request]:
    """The calls for one `SendText`, in order."""
    to = recipient(action.chat_id)
    shown: tuple[Button, ...] = action.buttons
    listed: tuple[Button, ...] = ()
    if to.kind == "group":
        shown, listed = (), action.buttons
    elif len(action.buttons) > MAX_BUTTONS:
        shown, listed = action.buttons[:MAX_BUTTONS], action.buttons[MAX_BUTTONS:]
    text = action.text
    if listed:
        text = f"{text}\n{command_lines(listed)}"
    pieces = split_text(text, MAX_TEXT)
    path, target = (
        (SEND_TO_GROUP, {"group_id": to.id})
        if to.kind == "group"
        else (SEND_TO_USER, {"user_id": to.id})
    )
    requests = []
    for i, piece in enumerate(pieces):
        message: dict[str, Any] = {"text": piece}
        if shown and i == len(pieces) - 1:
            message["attachment"] = template(shown)
        requests.append(Request(path, {"recipient": dict(target), "message": message}))
    return requests
