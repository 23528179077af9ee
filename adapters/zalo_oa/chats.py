"""Chat ids as the core sees them: a user's id, or `group:<id>` for a GMF group.

Zalo sends to users and to groups through two endpoints, and both kinds of id are opaque
strings that cannot be told apart; the core only hands back the chat id it was given, so the
kind travels inside the id. Officers' contacts are plain user ids; a GMF group is configured
(`[[groups]] chat = "group:<id>"`) with the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

GROUP_PREFIX: Final = "group:"


@dataclass(frozen=True, slots=True)
class Recipient:
    kind: Literal["user", "group"]
    id: str


def group_chat_id(group_id: str) -> str:
    return GROUP_PREFIX + group_id


def recipient(chat_id: str) -> Recipient:
    if chat_id.startswith(GROUP_PREFIX):
        return Recipient("group", chat_id.removeprefix(GROUP_PREFIX))
    return Recipient("user", chat_id)
