"""The console's sandbox group chat (`botkit.web.sandbox`): one made-up group per commune,
where a console user posts as a resident to watch what the bot does.

Its messages carry the platform name `sandbox`, so they are never taken for residents'
messages: they are not listed for review nor exported as training data, the console marks
their occurrences, and no adapter runs under that name, so nothing is ever sent into it. A
sandbox group's commune is in its chat id; nothing is registered, so bulletins never go to
it either.
"""

from __future__ import annotations

SANDBOX = "sandbox"
_PREFIX = "commune-"


def sandbox_chat(commune: int) -> str:
    return f"{_PREFIX}{commune}"


def sandbox_commune(chat_id: str) -> int | None:
    """The commune of a sandbox group's chat id; None for any other id."""
    number = chat_id.removeprefix(_PREFIX)
    if number == chat_id or not number.isdigit():
        return None
    return int(number)
