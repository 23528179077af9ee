"""botkit's buttons as Zalo OA template buttons, and their presses back as commands.

An OA message can carry a template with up to five buttons. Those of type `oa.query.show`
and `oa.query.hide` make the officer's Zalo send their `payload` to the OA as an ordinary
user message (`user_send_text`), so a press arrives exactly like a typed line. botkit's
action `ack:12` travels as the payload `#ack 12` and comes back through `parse_payload`.

`oa.query.show` rather than `.hide`: the press then stays in the officer's chat as "#ack 12",
so the officer (or a colleague on the same phone) can see later which alert was taken and
that the press went out even if the answer is slow; a hidden press leaves no trace there.
The `#` form, not `/ack 12`, keeps a press distinguishable from a typed command in the logs,
while both lead to the same `OfficerCommand`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from adapters.kit.commands import Command, parse_button
from botkit.outbound import Button

BUTTON_TYPE: Final = "oa.query.show"
MAX_BUTTONS: Final = 5
MAX_TITLE: Final = 100
MAX_PAYLOAD: Final = 1000

_PAYLOAD = re.compile(r"^#([a-z_]{1,20})(?:\s+(.*))?$", re.DOTALL)


def payload(action: str) -> str:
    """`ack:12` → `#ack 12`."""
    name, _, argument = action.partition(":")
    text = f"#{name} {argument}".strip()
    if parse_payload(text) is None or len(text) > MAX_PAYLOAD:
        raise ValueError(f"button action {action!r} cannot be a Zalo OA payload")
    return text


def parse_payload(text: str | None) -> Command | None:
    """`#ack 12` (a pressed button, or typed) → Command; any other text → None."""
    if not text:
        return None
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    name, argument = match.groups()
    return parse_button(f"{name}:{(argument or '').strip()}")


def template(buttons: tuple[Button, ...]) -> dict[str, Any]:
    """The `attachment` carrying up to `MAX_BUTTONS` buttons."""
    return {
        "type": "template",
        "payload": {
            "buttons": [
                {"title": b.label[:MAX_TITLE], "type": BUTTON_TYPE, "payload": payload(b.action)}
                for b in buttons[:MAX_BUTTONS]
            ]
        },
    }


def command_lines(buttons: tuple[Button, ...]) -> str:
    """Buttons where none can be shown (group messages): what to type to the OA instead."""
    lines = []
    for b in buttons:
        name, _, argument = b.action.partition(":")
        lines.append(f"{b.label} → /{name} {argument}".rstrip())
    return "\n".join(lines)
