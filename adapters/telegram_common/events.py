"""Telegram updates → botkit core events, independent of the client library.

Each adapter copies what it needs out of its library's objects into the small views below;
the rules that turn them into core events live here once, so both adapters behave alike.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from adapters.telegram_common.common import (
    OFFICER_COMMANDS,
    SETUP_ADMIN_ONLY,
    SETUP_COMMAND,
    Command,
    callback_ref,
    clip,
    membership_change,
    parse_button,
    parse_command,
)
from botkit.adapter import GroupJoined, GroupLeft, GroupMigrated, GroupSetup, InboundEvent
from botkit.domain import Message, OfficerCommand
from botkit.domain.message import PHOTO
from botkit.outbound import SendText

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup"})
MEDIA_KINDS = ("photo", "video", "animation", "document", "audio", "voice", "video_note")

AdminCheck = Callable[[int, int], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ConvertContext:
    """What conversion needs besides the update."""

    name: str  # the adapter's config name: Message.platform
    bot_username: str | None
    is_admin: AdminCheck
    max_text_chars: int = 16_384


@dataclass(frozen=True, slots=True)
class Converted:
    """The core events an update yields, and how the adapter should treat the update."""

    events: tuple[InboundEvent, ...] = ()
    owned: bool = False  # botkit's command or button: hidden from a host's handlers
    notice: SendText | None = None  # an answer the adapter gives itself
    callback_id: str | None = None  # a button press whose answer is the core's reply
    foreign_callback_id: str | None = None  # a button press to answer at once (with `answer`)
    answer: str | None = None


NOTHING = Converted()


@dataclass(frozen=True, slots=True)
class MessageView:
    """The parts of a Telegram Message botkit reads."""

    chat_id: int
    chat_type: str
    chat_title: str | None
    message_id: int
    date: datetime
    text: str | None = None
    caption: str | None = None
    media: str | None = None
    sender_id: int | None = None
    sender_name: str | None = None
    sender_chat_id: int | None = None
    sender_chat_title: str | None = None
    edit_date: datetime | None = None
    forwarded_from: str | None = None
    reply_to_id: int | None = None
    migrate_to_chat_id: int | None = None
    picture: str | None = None  # file id of a picture to read (a photo, an image document)


@dataclass(frozen=True, slots=True)
class MemberChangeView:
    """A my_chat_member update: the bot's own membership changed."""

    chat_id: int
    chat_type: str
    chat_title: str | None
    by: int | None
    old_status: str
    new_status: str
    old_is_member: bool | None = None
    new_is_member: bool | None = None


@dataclass(frozen=True, slots=True)
class ButtonView:
    """A callback query: someone pressed an inline button."""

    query_id: str
    sender_id: int
    data: str | None
    chat_id: int | None
    message_id: int | None
    chat_type: str | None = None


def picture_of(msg: Any) -> str | None:
    """The file id of a message's picture: its largest photo size, or a document that is an
    image (a picture sent "as a file" keeps its full resolution). Both libraries' objects."""
    sizes = getattr(msg, "photo", None)
    if sizes:
        return str(sizes[-1].file_id)  # Telegram lists sizes smallest first
    document = getattr(msg, "document", None)
    if document is not None and str(document.mime_type or "").startswith("image/"):
        return str(document.file_id)
    return None


def origin_label(
    kind: str, *, username: str | None = None, title: str | None = None, chat_id: int | None = None
) -> str:
    """Where a forward came from: public chats by name, people only by kind (privacy)."""
    if kind in ("channel", "chat"):
        name = f"@{username}" if username else title or str(chat_id)
        return f"{kind}:{name}"
    return kind


async def convert_message(view: MessageView, ctx: ConvertContext, *, edited: bool) -> Converted:
    if view.migrate_to_chat_id is not None:
        return Converted(
            (GroupMigrated(ctx.name, str(view.chat_id), str(view.migrate_to_chat_id)),)
        )
    text = view.text if view.text is not None else view.caption
    if not text:
        if view.picture is None or edited:
            return NOTHING  # stickers, service messages, other media without a caption
        # A picture without a caption: the core reads the text in it. In private, it may be
        # the photo of a tip being told (`/togiac`), which the core copies to the officers.
        if view.chat_type == "private" and view.sender_id is not None:
            return Converted((_core_message(view, "", ctx, edited=False, private=True),))
        if view.chat_type in GROUP_TYPES:
            return Converted((_core_message(view, "", ctx, edited=False),))
        return NOTHING
    command = parse_command(text, ctx.bot_username)
    if command is not None and (edited or not command.name):
        return NOTHING  # commands act once, when sent; other bots' commands are theirs
    if view.chat_type == "private":
        if view.sender_id is None:
            return NOTHING
        if command is None:
            if edited:
                return NOTHING  # a resident's question is answered once, as first sent
            # A resident's question or report, for the core to answer or route.
            return Converted((_core_message(view, text, ctx, edited=False, private=True),))
        return Converted((_officer_command(view, command, ctx),), owned=True)
    if view.chat_type not in GROUP_TYPES:
        return NOTHING
    if command is not None:
        return await _group_command(view, command, ctx)
    return Converted((_core_message(view, text, ctx, edited=edited),))


async def _group_command(view: MessageView, command: Command, ctx: ConvertContext) -> Converted:
    if command.name == SETUP_COMMAND:
        if not await _sender_is_admin(view, ctx):
            notice = SendText(str(view.chat_id), SETUP_ADMIN_ONLY, reply_to=str(view.message_id))
            return Converted(owned=True, notice=notice)
        by = str(view.sender_id) if view.sender_id is not None else None
        setup = GroupSetup(ctx.name, str(view.chat_id), command.argument or "", by)
        return Converted((setup,), owned=True)
    if command.name in OFFICER_COMMANDS and command.addressed and view.sender_id is not None:
        # An officer acting from a unit's group chat: /ack@this_bot 12.
        return Converted((_officer_command(view, command, ctx),), owned=True)
    return NOTHING  # a command, not a resident's message


async def _sender_is_admin(view: MessageView, ctx: ConvertContext) -> bool:
    if view.sender_chat_id is not None and view.sender_chat_id == view.chat_id:
        return True  # an anonymous admin posts as the group itself
    if view.sender_id is None:
        return False
    try:
        return await ctx.is_admin(view.chat_id, view.sender_id)
    except Exception as exc:
        log.warning("could not check the rights of %s in %s: %s", view.sender_id, view.chat_id, exc)
        return False


def _officer_command(view: MessageView, command: Command, ctx: ConvertContext) -> OfficerCommand:
    return OfficerCommand(
        platform=ctx.name,
        sender_id=str(view.sender_id),
        command=command.name,
        argument=command.argument,
        at=utc(view.date),
        chat_id=str(view.chat_id),
        reply_ref=str(view.message_id),
    )


def _core_message(
    view: MessageView, text: str, ctx: ConvertContext, *, edited: bool, private: bool = False
) -> Message:
    text, cut = clip(text, ctx.max_text_chars)
    extra: list[tuple[str, str]] = []
    if view.text is None:
        extra.append(("media", view.media or "media"))
    if view.picture is not None:
        extra.append((PHOTO, view.picture))
    if cut:
        extra.append(("truncated", "1"))
    if view.sender_chat_id is not None:  # posted on behalf of a chat or channel
        sender_id: str | None = str(view.sender_chat_id)
        sender_name = view.sender_chat_title
    else:
        sender_id = str(view.sender_id) if view.sender_id is not None else None
        sender_name = view.sender_name
    when = view.edit_date if edited and view.edit_date is not None else view.date
    return Message(
        platform=ctx.name,
        chat_id=str(view.chat_id),
        message_id=str(view.message_id),
        text=text,
        sent_at=utc(when),
        sender_id=sender_id,
        sender_name=sender_name,
        is_caption=view.text is None,
        forwarded_from=view.forwarded_from,
        reply_to=str(view.reply_to_id) if view.reply_to_id is not None else None,
        edited=edited,
        chat_title=view.chat_title,
        extra=tuple(extra),
        private=private,
    )


def convert_membership(view: MemberChangeView, ctx: ConvertContext) -> Converted:
    if view.chat_type not in GROUP_TYPES:
        return NOTHING  # a private chat: a user blocked or unblocked the bot
    change = membership_change(
        view.old_status,
        view.new_status,
        old_is_member=view.old_is_member,
        new_is_member=view.new_is_member,
    )
    if change == "joined":
        by = str(view.by) if view.by is not None else None
        return Converted((GroupJoined(ctx.name, str(view.chat_id), view.chat_title, by),))
    if change == "left":
        return Converted((GroupLeft(ctx.name, str(view.chat_id)),))
    return NOTHING  # rights changed, membership did not


async def convert_button(
    view: ButtonView, ctx: ConvertContext, now: datetime | None = None
) -> Converted:
    command = parse_button(view.data)
    if command is None:
        return Converted(foreign_callback_id=view.query_id)
    if command.name == SETUP_COMMAND:
        return await _setup_button(view, command, ctx)
    chat_id = view.chat_id if view.chat_id is not None else view.sender_id
    event = OfficerCommand(
        platform=ctx.name,
        sender_id=str(view.sender_id),
        command=command.name,
        argument=command.argument,
        at=now or datetime.now(UTC),
        chat_id=str(chat_id),
        reply_ref=callback_ref(view.query_id, view.message_id),
    )
    return Converted((event,), owned=True, callback_id=view.query_id)


async def _setup_button(view: ButtonView, command: Command, ctx: ConvertContext) -> Converted:
    """A commune picked from buttons under the welcome message: `setup:<commune>`."""
    if view.chat_id is None or view.chat_type not in GROUP_TYPES:
        return Converted(owned=True, foreign_callback_id=view.query_id)
    try:
        allowed = await ctx.is_admin(view.chat_id, view.sender_id)
    except Exception as exc:
        log.warning("could not check the rights of %s in %s: %s", view.sender_id, view.chat_id, exc)
        allowed = False
    if not allowed:
        return Converted(owned=True, answer=SETUP_ADMIN_ONLY, foreign_callback_id=view.query_id)
    setup = GroupSetup(ctx.name, str(view.chat_id), command.argument or "", str(view.sender_id))
    return Converted((setup,), owned=True, foreign_callback_id=view.query_id)


def enum_text(value: object) -> str:
    """An enum member's value (`ChatType.GROUP` → "group"); other values as text."""
    return str(value.value) if isinstance(value, Enum) else str(value)


def utc(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
