"""A group message as the core sees it, whatever platform it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Message:
    """One message posted in a group, or sent to the bot in a private chat (`private`: the
    chat's id is then the sender's, and the message is a resident's question or report,
    not group chatter to moderate).

    `text` holds the body or, for media, the caption; `is_caption` tells which.
    Times are timezone-aware UTC.
    """

    platform: str
    chat_id: str
    message_id: str
    text: str
    sent_at: datetime
    sender_id: str | None = None
    sender_name: str | None = None
    is_caption: bool = False
    forwarded_from: str | None = None
    reply_to: str | None = None
    edited: bool = False
    chat_title: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())
    private: bool = False

    @property
    def key(self) -> str:
        """Stable identity of the message across retries and redelivery."""
        # Each edit is a new version of the message, identified by its edit time.
        suffix = f":edited@{int(self.sent_at.timestamp())}" if self.edited else ""
        return f"{self.platform}:{self.chat_id}:{self.message_id}{suffix}"

    def extra_value(self, key: str) -> str | None:
        return next((v for k, v in self.extra if k == key), None)

    @property
    def photo_ref(self) -> str | None:
        """The platform's reference to fetch the message's picture with (`Adapter.fetch_photo`),
        if it has one."""
        return self.extra_value(PHOTO)


# `Message.extra` keys the core reads.
PHOTO = "photo"  # the adapter's reference to the picture: a file id, a URL, a path
PHOTO_TEXT = "photo_text"  # "1": text read from the picture follows the caption in `text`
