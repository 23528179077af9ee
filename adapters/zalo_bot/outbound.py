"""botkit's outbound text as Zalo Bot messages.

The Bot API has no buttons, no quoting and no edits: an alert's buttons become command lines
the officer can type ("✋ Tiếp nhận → /ack 12"), and a text longer than sendMessage's 2000
characters goes out in pieces cut at line ends, the command lines in the last one.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.kit.commands import parse_button
from adapters.kit.text import split_text
from botkit.outbound import Button

MAX_MESSAGE_CHARS = 2000  # sendMessage: "from 1 to 2000 characters"


def command_line(button: Button) -> str:
    """`Button("✋ Tiếp nhận", "ack:12")` → "✋ Tiếp nhận → /ack 12"; `ValueError` for a
    button that is no typed command."""
    command = parse_button(button.action)
    if command is None:
        raise ValueError(f"button {button.label!r}: {button.action!r} is no botkit command")
    typed = f"/{command.name} {command.argument}" if command.argument else f"/{command.name}"
    return f"{button.label} → {typed}"


def message_pieces(text: str, buttons: Sequence[Button]) -> list[str]:
    """The messages that carry `text` and its buttons, each within Zalo's limit."""
    lines = [command_line(b) for b in buttons]
    full = text.rstrip("\n")
    if lines:
        full = f"{full}\n\n" + "\n".join(lines) if full.strip() else "\n".join(lines)
    if not full.strip():
        raise ValueError("Zalo sends no empty message")
    pieces = split_text(full, MAX_MESSAGE_CHARS)
    # A piece is cut after a line end: the newline that ends it would show as a blank line,
    # and a piece of blank lines alone would be refused as empty.
    return [kept for piece in pieces if (kept := piece.rstrip("\n")).strip()]
