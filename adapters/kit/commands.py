"""Officers' commands as typed (`/ack 12`, `/ack@this_bot 12`) and as pressed (`ack:12`).

Every platform carries them as text or as a button's payload, so they are parsed once here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from botkit.domain.commands import COMMANDS, PRIVATE_COMMANDS

OFFICER_COMMANDS: Final = frozenset(COMMANDS)
# What a private chat may carry: officers' commands, help, and residents' commands.
DIRECT_COMMANDS: Final = PRIVATE_COMMANDS
SETUP_COMMAND: Final = "setup"
# Buttons botkit puts under messages: the alert lifecycle, picking a group's commune, and a
# resident's "how is my case" (`status:17-K3F9Q`).
BUTTON_ACTIONS: Final = frozenset({"ack", "confirm", "false", "resolve", SETUP_COMMAND, "status"})

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_.]+))?(?:\s+(.*))?$", re.DOTALL)
_BUTTON = re.compile(r"^([a-z_]{1,20}):(.{0,40})$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    argument: str | None
    addressed: bool = False  # `/cmd@this_bot`: meant for this bot among several


def parse_command(text: str | None, bot_username: str | None) -> Command | None:
    """`/ack 12` or `/ack@this_bot 12` → Command; not a command → None.

    A command addressed to another bot (`/start@other_bot`) comes back with `name` "" so that
    callers skip it without taking it for a resident's message.
    """
    if not text or not text.startswith("/"):
        return None
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, target, argument = match.groups()
    argument = (argument or "").strip() or None
    if target:
        if bot_username is None or target.lower() != bot_username.lower():
            return Command("", argument)
        return Command(name.lower(), argument, addressed=True)
    return Command(name.lower(), argument)


def parse_button(data: str | None) -> Command | None:
    """A botkit button's payload `ack:12` → Command; anything else → None."""
    if not data:
        return None
    match = _BUTTON.match(data)
    if match is None or match.group(1) not in BUTTON_ACTIONS:
        return None
    return Command(match.group(1), match.group(2).strip() or None)
