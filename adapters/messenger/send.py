"""botkit's `SendText` → the `message` objects of Send API calls.

Officers act on an alert with a **button template** of postback buttons, not quick replies:
quick replies vanish as soon as any newer message arrives in the conversation, so an officer
who receives a second alert, a reminder or a command's answer could no longer tap the first
alert's buttons; postback buttons stay under their alert. The core offers at most three
actions at a time (ack/confirm/false, then confirm/false/resolve), exactly a template's limit.

A template's text holds 640 characters, a plain text 2000: a longer alert goes out as plain
pieces with its last ≤ 640 characters in the template, so the buttons sit under its end.
Four to thirteen buttons become quick replies on the last piece; beyond that, they are
written out as command lines ("✋ Tiếp nhận → /ack 12"), which officers can type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.kit.text import split_text, truncate
from botkit.outbound import Button

MAX_TEXT = 2000
MAX_TEMPLATE_TEXT = 640
MAX_TEMPLATE_BUTTONS = 3
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_PAYLOAD = 1000

JSON = dict[str, Any]


def messages(text: str, buttons: Sequence[Button]) -> list[JSON]:
    """The `message` objects to send in order; the last one carries the buttons."""
    for button in buttons:
        if len(button.action) > MAX_PAYLOAD:
            raise ValueError(
                f"button {button.label!r}: payload exceeds Messenger's {MAX_PAYLOAD} characters"
            )
    if len(buttons) > MAX_QUICK_REPLIES:
        text = text + "\n" + "\n".join(command_line(b) for b in buttons)
        buttons = ()
    if not buttons:
        return [{"text": piece} for piece in _pieces(text, MAX_TEXT)]
    if len(buttons) > MAX_TEMPLATE_BUTTONS:
        *head, last = _pieces(text, MAX_TEXT)
        quick = [{"content_type": "text", "title": _title(b), "payload": b.action} for b in buttons]
        return [*({"text": p} for p in head), {"text": last, "quick_replies": quick}]
    *head, last = _tail_pieces(text)
    template = {
        "template_type": "button",
        "text": last,
        "buttons": [{"type": "postback", "title": _title(b), "payload": b.action} for b in buttons],
    }
    return [
        *({"text": p} for p in head),
        {"attachment": {"type": "template", "payload": template}},
    ]


def command_line(button: Button) -> str:
    """A button as the command an officer can type instead."""
    return f"{button.label} → /{button.action.replace(':', ' ', 1)}"


def _title(button: Button) -> str:
    return truncate(button.label, MAX_TITLE)


def _pieces(text: str, limit: int) -> list[str]:
    # Pieces cut at a line end keep it; Messenger would show it as an empty last line.
    return [p.rstrip("\n") or p for p in split_text(text, limit)]


def _tail_pieces(text: str) -> list[str]:
    """Pieces of ≤ 2000 characters whose last one has ≤ 640 (it goes into the template)."""
    pieces = split_text(text, MAX_TEXT)
    tail = split_text(pieces[-1], MAX_TEMPLATE_TEXT)
    # The tail's own pieces rejoin into one plain piece (a piece of ≤ 2000 characters).
    head = [*pieces[:-1], "".join(tail[:-1])] if len(tail) > 1 else pieces[:-1]
    return [p.rstrip("\n") or p for p in [*head, tail[-1]]]
