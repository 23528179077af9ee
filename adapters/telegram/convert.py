"""python-telegram-bot objects → the library-free views of `events`, → core events."""

from __future__ import annotations

from telegram import (
    CallbackQuery,
    ChatMember,
    ChatMemberUpdated,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    Update,
)
from telegram import Message as TgMessage

from adapters.telegram_common.events import (
    MEDIA_KINDS,
    NOTHING,
    ButtonView,
    ConvertContext,
    Converted,
    MemberChangeView,
    MessageView,
    convert_button,
    convert_membership,
    convert_message,
    enum_text,
    origin_label,
    picture_of,
)

__all__ = ["ConvertContext", "Converted", "convert", "message_view"]


async def convert(update: Update, ctx: ConvertContext) -> Converted:
    """Convert one update; an update botkit does not use yields `NOTHING`."""
    if update.message is not None:
        return await convert_message(message_view(update.message), ctx, edited=False)
    if update.edited_message is not None:
        return await convert_message(message_view(update.edited_message), ctx, edited=True)
    if update.my_chat_member is not None:
        return convert_membership(member_change_view(update.my_chat_member), ctx)
    if update.callback_query is not None:
        return await convert_button(button_view(update.callback_query), ctx)
    return NOTHING


def message_view(msg: TgMessage) -> MessageView:
    sender, sender_chat = msg.from_user, msg.sender_chat
    return MessageView(
        chat_id=msg.chat.id,
        chat_type=enum_text(msg.chat.type),
        chat_title=msg.chat.title,
        message_id=msg.message_id,
        date=msg.date,
        text=msg.text,
        caption=msg.caption,
        media=next((kind for kind in MEDIA_KINDS if getattr(msg, kind, None)), None),
        sender_id=sender.id if sender else None,
        sender_name=sender.full_name if sender else None,
        sender_chat_id=sender_chat.id if sender_chat else None,
        sender_chat_title=sender_chat.title if sender_chat else None,
        edit_date=msg.edit_date,
        forwarded_from=_origin(msg.forward_origin),
        reply_to_id=msg.reply_to_message.message_id if msg.reply_to_message else None,
        migrate_to_chat_id=msg.migrate_to_chat_id,
        picture=picture_of(msg),
    )


def _origin(origin: MessageOrigin | None) -> str | None:
    if origin is None:
        return None
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        return origin_label("channel", username=chat.username, title=chat.title, chat_id=chat.id)
    if isinstance(origin, MessageOriginChat):
        chat = origin.sender_chat
        return origin_label("chat", username=chat.username, title=chat.title, chat_id=chat.id)
    return origin_label(enum_text(origin.type))


def member_change_view(change: ChatMemberUpdated) -> MemberChangeView:
    return MemberChangeView(
        chat_id=change.chat.id,
        chat_type=enum_text(change.chat.type),
        chat_title=change.chat.title,
        by=change.from_user.id if change.from_user else None,
        old_status=enum_text(change.old_chat_member.status),
        new_status=enum_text(change.new_chat_member.status),
        old_is_member=_is_member(change.old_chat_member),
        new_is_member=_is_member(change.new_chat_member),
    )


def _is_member(member: ChatMember) -> bool | None:
    value = getattr(member, "is_member", None)
    return bool(value) if value is not None else None


def button_view(query: CallbackQuery) -> ButtonView:
    message = query.message
    return ButtonView(
        query_id=query.id,
        sender_id=query.from_user.id,
        data=query.data,
        chat_id=message.chat.id if message is not None else None,
        message_id=message.message_id if message is not None else None,
        chat_type=enum_text(message.chat.type) if message is not None else None,
    )
