"""Builders for Telegram Bot API objects and updates, as plain JSON-ready dicts.

Every builder produces a superset of the fields that python-telegram-bot 22.8 (Bot API 10.0)
and aiogram 3.31 (Bot API 10.3) require, because aiogram rejects a whole ``getUpdates`` batch
when one update lacks a field its API version requires, while PTB fails on a missing
argument; both ignore fields they do not know.

Update builders (``*_update``) return ``{"update_id": 0, <kind>: …}``; ``FakeBotAPI.push_update``
assigns the real ``update_id``. Message builders take ``message_id``/``date`` or fall back to a
process-wide counter and the current time (the emulator refuses to delete messages older
than 48 hours, as Telegram does).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from adapters.testing.telegram_formatting import auto_entities

__all__ = [
    "ADMIN_RIGHTS",
    "RESTRICTED_PERMISSIONS",
    "bot_added_update",
    "bot_removed_update",
    "bot_user",
    "callback_query_update",
    "channel_chat",
    "channel_post_update",
    "chat_member_update",
    "edited_message_update",
    "forwarded_message",
    "group_chat",
    "left_chat_member_message",
    "member_administrator",
    "member_kicked",
    "member_left",
    "member_member",
    "member_owner",
    "member_restricted",
    "message_update",
    "migrate_from_chat_message",
    "migrate_to_chat_message",
    "my_chat_member_update",
    "new_chat_members_message",
    "origin_channel",
    "origin_chat",
    "origin_hidden_user",
    "origin_user",
    "photo_message",
    "private_chat",
    "reply_message",
    "supergroup_chat",
    "text_message",
    "user",
]

JSON = dict[str, Any]

# All administrator rights known to either library, with the value a moderation bot gets.
ADMIN_RIGHTS: Mapping[str, bool] = {
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,  # required by aiogram 3.31, unknown to PTB 22.8
    "can_pin_messages": True,
    "can_manage_topics": False,
    "can_manage_direct_messages": False,
    "can_manage_tags": False,
}

# Permission fields of ChatMemberRestricted (and ChatPermissions) in both libraries.
RESTRICTED_PERMISSIONS: Mapping[str, bool] = {
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_react_to_messages": False,
    "can_edit_tag": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_manage_topics": False,
}

_message_ids = itertools.count(1000)
_callback_ids = itertools.count(1)


def _now(date: int | None) -> int:
    return int(time.time()) if date is None else date


def _next_message_id(message_id: int | None) -> int:
    return next(_message_ids) if message_id is None else message_id


def _drop_none(data: JSON) -> JSON:
    return {key: value for key, value in data.items() if value is not None}


# --------------------------------------------------------------------------- users and chats


def user(
    user_id: int = 42,
    first_name: str = "Nguyễn Văn An",
    *,
    last_name: str | None = None,
    username: str | None = None,
    is_bot: bool = False,
    language_code: str | None = "vi",
) -> JSON:
    """A User."""
    return _drop_none(
        {
            "id": user_id,
            "is_bot": is_bot,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": None if is_bot else language_code,
        }
    )


def bot_user(
    user_id: int = 123456, username: str = "botkit_test_bot", first_name: str = "Botkit"
) -> JSON:
    """The User object of a bot (as it appears inside updates, not getMe)."""
    return {"id": user_id, "is_bot": True, "first_name": first_name, "username": username}


def private_chat(of_user: Mapping[str, Any]) -> JSON:
    """The private Chat between the bot and ``of_user``."""
    return _drop_none(
        {
            "id": of_user["id"],
            "type": "private",
            "first_name": of_user["first_name"],
            "last_name": of_user.get("last_name"),
            "username": of_user.get("username"),
        }
    )


def group_chat(chat_id: int = -4012345678, title: str = "Tổ dân phố 5") -> JSON:
    """A basic group Chat (negative id without the -100 prefix)."""
    return {"id": chat_id, "type": "group", "title": title}


def supergroup_chat(
    chat_id: int = -1001234567890,
    title: str = "Khu phố 3 - Phường An Phú",
    *,
    username: str | None = None,
    is_forum: bool = False,
) -> JSON:
    """A supergroup Chat (id starts with -100)."""
    chat: JSON = {"id": chat_id, "type": "supergroup", "title": title}
    if username:
        chat["username"] = username
    if is_forum:
        chat["is_forum"] = True
    return chat


def channel_chat(
    chat_id: int = -1009876543210,
    title: str = "Công an phường An Phú",
    *,
    username: str | None = None,
) -> JSON:
    """A channel Chat."""
    return _drop_none({"id": chat_id, "type": "channel", "title": title, "username": username})


# --------------------------------------------------------------------------- members


def member_member(of_user: Mapping[str, Any]) -> JSON:
    """ChatMemberMember."""
    return {"status": "member", "user": dict(of_user)}


def member_administrator(
    of_user: Mapping[str, Any],
    *,
    can_be_edited: bool = False,
    is_anonymous: bool = False,
    custom_title: str | None = None,
    **rights: bool,
) -> JSON:
    """ChatMemberAdministrator with every right field; ``rights`` override ``ADMIN_RIGHTS``."""
    unknown = set(rights) - set(ADMIN_RIGHTS) - {"can_post_messages", "can_edit_messages"}
    if unknown:
        raise TypeError(f"unknown administrator rights: {sorted(unknown)}")
    member: JSON = {
        "status": "administrator",
        "user": dict(of_user),
        "can_be_edited": can_be_edited,
        "is_anonymous": is_anonymous,
        **ADMIN_RIGHTS,
        **rights,
    }
    if custom_title is not None:
        member["custom_title"] = custom_title
    return member


def member_owner(
    of_user: Mapping[str, Any], *, is_anonymous: bool = False, custom_title: str | None = None
) -> JSON:
    """ChatMemberOwner (status "creator")."""
    return _drop_none(
        {
            "status": "creator",
            "user": dict(of_user),
            "is_anonymous": is_anonymous,
            "custom_title": custom_title,
        }
    )


def member_left(of_user: Mapping[str, Any]) -> JSON:
    """ChatMemberLeft."""
    return {"status": "left", "user": dict(of_user)}


def member_kicked(of_user: Mapping[str, Any], *, until_date: int = 0) -> JSON:
    """ChatMemberBanned (status "kicked"); ``until_date`` 0 means forever."""
    return {"status": "kicked", "user": dict(of_user), "until_date": until_date}


def member_restricted(
    of_user: Mapping[str, Any], *, until_date: int = 0, is_member: bool = True, **permissions: bool
) -> JSON:
    """ChatMemberRestricted; ``permissions`` override ``RESTRICTED_PERMISSIONS`` (all False)."""
    unknown = set(permissions) - set(RESTRICTED_PERMISSIONS)
    if unknown:
        raise TypeError(f"unknown member permissions: {sorted(unknown)}")
    return {
        "status": "restricted",
        "user": dict(of_user),
        "is_member": is_member,
        **RESTRICTED_PERMISSIONS,
        **permissions,
        "until_date": until_date,
    }


# --------------------------------------------------------------------------- messages


def _base_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any] | None,
    message_id: int | None,
    date: int | None,
) -> JSON:
    message: JSON = {"message_id": _next_message_id(message_id), "date": _now(date)}
    if from_user is not None:
        message["from"] = dict(from_user)
    message["chat"] = dict(chat)
    return message


def _without_nested_reply(message: Mapping[str, Any]) -> JSON:
    # Telegram never nests reply_to_message more than one level deep
    inner = copy.deepcopy(dict(message))
    inner.pop("reply_to_message", None)
    return inner


def text_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any] | None,
    text: str,
    *,
    message_id: int | None = None,
    date: int | None = None,
    reply_to: Mapping[str, Any] | None = None,
    entities: Sequence[Mapping[str, Any]] | None = None,
    message_thread_id: int | None = None,
    sender_chat: Mapping[str, Any] | None = None,
) -> JSON:
    """A text Message; entities default to what Telegram auto-detects (commands, mentions…).

    Channel posts and anonymous admins have no ``from_user`` but a ``sender_chat``.
    """
    message = _base_message(chat, from_user, message_id, date)
    if sender_chat is not None:
        message["sender_chat"] = dict(sender_chat)
    if message_thread_id is not None:
        message["message_thread_id"] = message_thread_id
        message["is_topic_message"] = True
    if reply_to is not None:
        message["reply_to_message"] = _without_nested_reply(reply_to)
    message["text"] = text
    found = [dict(e) for e in entities] if entities is not None else auto_entities(text)
    if found:
        message["entities"] = found
    return message


def reply_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    text: str,
    reply_to: Mapping[str, Any],
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> JSON:
    """A text Message replying to ``reply_to``."""
    return text_message(chat, from_user, text, message_id=message_id, date=date, reply_to=reply_to)


def photo_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    caption: str | None = None,
    *,
    message_id: int | None = None,
    date: int | None = None,
    file_id: str = "AgACAgUAAxkBAAIBZ2Vphoto",
    width: int = 1280,
    height: int = 960,
) -> JSON:
    """A photo Message: three PhotoSize entries (thumbnail to full size) and a caption."""
    message = _base_message(chat, from_user, message_id, date)
    sizes = [(90, 68), (320, 240), (width, height)]
    message["photo"] = [
        {
            "file_id": f"{file_id}-{index}",
            "file_unique_id": f"AQAD{index}{file_id[-6:]}",
            "width": w,
            "height": h,
            "file_size": w * h // 8,
        }
        for index, (w, h) in enumerate(sizes)
    ]
    if caption is not None:
        message["caption"] = caption
        found = auto_entities(caption)
        if found:
            message["caption_entities"] = found
    return message


def origin_user(sender: Mapping[str, Any], *, date: int | None = None) -> JSON:
    """MessageOriginUser: forwarded from a user who allows linking to their account."""
    return {"type": "user", "date": _now(date), "sender_user": dict(sender)}


def origin_hidden_user(sender_user_name: str, *, date: int | None = None) -> JSON:
    """MessageOriginHiddenUser: forwarded from a user who hides their account."""
    return {"type": "hidden_user", "date": _now(date), "sender_user_name": sender_user_name}


def origin_chat(
    sender_chat: Mapping[str, Any], *, date: int | None = None, author_signature: str | None = None
) -> JSON:
    """MessageOriginChat: sent on behalf of a group (anonymous admin)."""
    return _drop_none(
        {
            "type": "chat",
            "date": _now(date),
            "sender_chat": dict(sender_chat),
            "author_signature": author_signature,
        }
    )


def origin_channel(
    chat: Mapping[str, Any],
    message_id: int,
    *,
    date: int | None = None,
    author_signature: str | None = None,
) -> JSON:
    """MessageOriginChannel: forwarded from a channel post."""
    return _drop_none(
        {
            "type": "channel",
            "date": _now(date),
            "chat": dict(chat),
            "message_id": message_id,
            "author_signature": author_signature,
        }
    )


def forwarded_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    text: str,
    origin: Mapping[str, Any],
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> JSON:
    """A forwarded text Message; build ``origin`` with one of the ``origin_*`` helpers."""
    message = text_message(chat, from_user, text, message_id=message_id, date=date)
    message["forward_origin"] = dict(origin)
    return message


def new_chat_members_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    members: Sequence[Mapping[str, Any]],
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> JSON:
    """Service Message: ``from_user`` added ``members`` (or joined, when it is themselves)."""
    message = _base_message(chat, from_user, message_id, date)
    message["new_chat_members"] = [dict(m) for m in members]
    return message


def left_chat_member_message(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    member: Mapping[str, Any],
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> JSON:
    """Service Message: ``member`` left or was removed by ``from_user``."""
    message = _base_message(chat, from_user, message_id, date)
    message["left_chat_member"] = dict(member)
    return message


def migrate_to_chat_message(
    old_chat: Mapping[str, Any],
    new_chat_id: int,
    from_user: Mapping[str, Any],
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> JSON:
    """Service Message in a basic group that was upgraded to supergroup ``new_chat_id``."""
    message = _base_message(old_chat, from_user, message_id, date)
    message["migrate_to_chat_id"] = new_chat_id
    return message


def migrate_from_chat_message(
    new_chat: Mapping[str, Any],
    old_chat_id: int,
    from_user: Mapping[str, Any],
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> JSON:
    """First service Message of a supergroup that replaced basic group ``old_chat_id``."""
    message = _base_message(new_chat, from_user, message_id, date)
    message["migrate_from_chat_id"] = old_chat_id
    return message


# --------------------------------------------------------------------------- updates


def message_update(message: Mapping[str, Any]) -> JSON:
    """Update carrying a new ``message``."""
    return {"update_id": 0, "message": dict(message)}


def channel_post_update(message: Mapping[str, Any]) -> JSON:
    """Update carrying a new channel post."""
    return {"update_id": 0, "channel_post": dict(message)}


def edited_message_update(
    message: Mapping[str, Any], new_text: str | None = None, *, edit_date: int | None = None
) -> JSON:
    """Update carrying ``message`` edited to ``new_text`` (caption for media messages)."""
    edited = copy.deepcopy(dict(message))
    if new_text is not None:
        field = "caption" if "caption" in edited or "photo" in edited else "text"
        edited[field] = new_text
        found = auto_entities(new_text)
        entities_field = "caption_entities" if field == "caption" else "entities"
        edited.pop(entities_field, None)
        if found:
            edited[entities_field] = found
    edited["edit_date"] = max(_now(edit_date), int(edited["date"]))
    return {"update_id": 0, "edited_message": edited}


def _chat_member_updated(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    date: int | None,
) -> JSON:
    if old["user"]["id"] != new["user"]["id"]:
        raise ValueError(
            f"old and new chat member describe different users: "
            f"{old['user']['id']} != {new['user']['id']}"
        )
    return {
        "chat": dict(chat),
        "from": dict(from_user),
        "date": _now(date),
        "old_chat_member": dict(old),
        "new_chat_member": dict(new),
    }


def my_chat_member_update(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    date: int | None = None,
) -> JSON:
    """Update: the bot's own membership in ``chat`` changed from ``old`` to ``new``."""
    return {"update_id": 0, "my_chat_member": _chat_member_updated(chat, from_user, old, new, date)}


def chat_member_update(
    chat: Mapping[str, Any],
    from_user: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    date: int | None = None,
) -> JSON:
    """Update: someone's membership changed (sent only when allowed_updates lists it)."""
    return {"update_id": 0, "chat_member": _chat_member_updated(chat, from_user, old, new, date)}


def bot_added_update(
    chat: Mapping[str, Any],
    bot: Mapping[str, Any],
    by_user: Mapping[str, Any],
    *,
    as_admin: bool = True,
    date: int | None = None,
    **rights: bool,
) -> JSON:
    """my_chat_member: ``by_user`` added the bot to ``chat`` (as administrator by default)."""
    overrides: dict[str, Any] = dict(rights)  # typed Any: mypy can't tell rights from kwargs
    new = member_administrator(bot, **overrides) if as_admin else member_member(bot)
    return my_chat_member_update(chat, by_user, member_left(bot), new, date=date)


def bot_removed_update(
    chat: Mapping[str, Any],
    bot: Mapping[str, Any],
    by_user: Mapping[str, Any],
    *,
    how: Literal["kicked", "left"] = "kicked",
    was_admin: bool = False,
    date: int | None = None,
) -> JSON:
    """my_chat_member: the bot was kicked from (or left) ``chat``."""
    old = member_administrator(bot) if was_admin else member_member(bot)
    new = member_kicked(bot) if how == "kicked" else member_left(bot)
    return my_chat_member_update(chat, by_user, old, new, date=date)


def callback_query_update(
    from_user: Mapping[str, Any],
    message: Mapping[str, Any],
    data: str,
    *,
    query_id: str | None = None,
    chat_instance: str | None = None,
) -> JSON:
    """Update: ``from_user`` pressed an inline button carrying ``data`` under ``message``."""
    chat_id = message["chat"]["id"]
    return {
        "update_id": 0,
        "callback_query": {
            "id": query_id or f"cbq-{next(_callback_ids)}",
            "from": dict(from_user),
            "message": copy.deepcopy(dict(message)),
            "chat_instance": chat_instance or f"ci{abs(chat_id)}",
            "data": data,
        },
    }
