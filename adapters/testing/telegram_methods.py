"""Bot API method implementations of the fake server (everything except polling/webhooks).

Each handler takes the typed parameter dict and returns the ``result`` value or raises
``TelegramAPIError`` with the description the real server uses.
"""

from __future__ import annotations

import copy
import json
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

from adapters.testing.telegram_errors import TelegramAPIError
from adapters.testing.telegram_formatting import (
    EntityParseError,
    auto_entities,
    parse_text,
    strip_text,
)
from adapters.testing.telegram_params import UploadedFile
from adapters.testing.telegram_state import ChatRecord, EmulatorState, StoredFile
from adapters.testing.telegram_updates import (
    RESTRICTED_PERMISSIONS,
    member_kicked,
    member_left,
    member_member,
    member_restricted,
)

__all__ = ["BotAPIMethods", "MethodHandler"]

JSON = dict[str, Any]
MethodHandler = Callable[[dict[str, Any]], Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def _bad(description: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {description}")


def _int_param(params: Mapping[str, Any], name: str, missing: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise _bad(missing)
    return int(value)


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG or JPEG header; (0, 0) when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    pos = 2
    while data.startswith(b"\xff\xd8") and pos + 9 < len(data):
        if data[pos] != 0xFF:
            break
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return 0, 0


class BotAPIMethods(EmulatorState):
    """The Bot API methods; ``method_table`` maps canonical names to handlers."""

    def method_table(self) -> dict[str, MethodHandler]:
        """Canonical method name -> handler, for the request router."""
        return {
            "getMe": self._get_me,
            "logOut": self._log_out,
            "close": self._close_instance,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "copyMessage": self._copy_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "banChatMember": self._ban_chat_member,
            "unbanChatMember": self._unban_chat_member,
            "restrictChatMember": self._restrict_chat_member,
            "leaveChat": self._leave_chat,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
        }

    # ------------------------------------------------------------------ account

    def _get_me(self, params: dict[str, Any]) -> JSON:
        return copy.deepcopy(self.me)

    def _log_out(self, params: dict[str, Any]) -> bool:
        # afterwards the cloud server answers every call with 400 "Logged out"
        self.logged_out = True
        return True

    def _close_instance(self, params: dict[str, Any]) -> bool:
        uptime = self._clock() - self._started_at
        if uptime < 600:
            retry_after = int(600 - uptime) + 1
            raise TelegramAPIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        return True

    # ------------------------------------------------------------------ formatting helpers

    def _formatted(
        self,
        params: Mapping[str, Any],
        *,
        text_key: str,
        entities_key: str,
        limit: int,
        too_long: str,
    ) -> tuple[str, list[JSON]]:
        text = params.get(text_key)
        text = "" if text is None else str(text)
        explicit = params.get(entities_key)
        if explicit is not None:
            if not isinstance(explicit, list):
                raise _bad(f"can't parse {entities_key} JSON object")
            entities = [dict(e) for e in explicit]
        else:
            try:
                text, entities = parse_text(text, params.get("parse_mode"))
            except KeyError:
                raise _bad(f"unsupported parse_mode {params.get('parse_mode')!r}") from None
            except EntityParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        text, entities = strip_text(text, entities)
        if len(text) > limit:
            raise _bad(too_long)
        entities = sorted(
            entities + auto_entities(text, entities), key=lambda e: (e["offset"], -e["length"])
        )
        return text, entities

    def _message_text(self, params: Mapping[str, Any]) -> tuple[str, list[JSON]]:
        text, entities = self._formatted(
            params,
            text_key="text",
            entities_key="entities",
            limit=MAX_TEXT_LENGTH,
            too_long="message is too long",
        )
        if not text:
            raise _bad("message text is empty")
        return text, entities

    def _inline_markup(self, params: Mapping[str, Any]) -> JSON | None:
        """The inline keyboard to store on the message (reply keyboards are not echoed)."""
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
                raise _bad("can't parse reply keyboard markup JSON object")
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad(
                'can\'t parse inline keyboard markup: field "inline_keyboard" of type '
                "Array of Array expected"
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if not _BUTTON_ACTIONS & button.keys():
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not (
                    0 < len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise _bad("BUTTON_DATA_INVALID")
        if not any(rows):
            return None
        return {"inline_keyboard": copy.deepcopy(rows)}

    def _reply_target(self, record: ChatRecord, params: Mapping[str, Any]) -> JSON | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", False))
        else:
            message_id = params.get("reply_to_message_id")
            allow_missing = bool(params.get("allow_sending_without_reply", False))
        if message_id is None:
            return None
        target = record.messages.get(int(message_id))
        if target is None:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        target = copy.deepcopy(target)
        target.pop("reply_to_message", None)
        return target

    def _outgoing(
        self, record: ChatRecord, params: Mapping[str, Any], content: Mapping[str, Any]
    ) -> JSON:
        """Common tail of every send method: reply, keyboard, flood control, store."""
        reply_to = self._reply_target(record, params)
        markup = self._inline_markup(params)
        self._check_flood(record)
        body: JSON = {}
        if params.get("message_thread_id") is not None and record.chat.get("is_forum"):
            body["message_thread_id"] = params["message_thread_id"]
            body["is_topic_message"] = True
        body["reply_to_message"] = reply_to
        body.update(content)
        body["reply_markup"] = markup
        if params.get("has_protected_content") or params.get("protect_content"):
            body["has_protected_content"] = True
        message = self._new_bot_message(record, body)
        self._notify()
        return message

    # ------------------------------------------------------------------ sending

    def _send_message(self, params: dict[str, Any]) -> JSON:
        record = self._resolve_chat(params)
        self._require_can_post(record, "can_send_messages", "text messages")
        text, entities = self._message_text(params)
        return self._outgoing(record, params, {"text": text, "entities": entities or None})

    def _caption(self, params: Mapping[str, Any]) -> JSON:
        caption, entities = self._formatted(
            params,
            text_key="caption",
            entities_key="caption_entities",
            limit=MAX_CAPTION_LENGTH,
            too_long="message caption is too long",
        )
        if not caption:
            return {}
        return {"caption": caption, "caption_entities": entities or None}

    def _input_file(self, params: Mapping[str, Any], field_name: str) -> StoredFile:
        value = params.get(field_name)
        if value is None or value == "":
            raise _bad(f"there is no {field_name} in the request")
        if isinstance(value, UploadedFile):
            name = value.filename or "file"
            path = f"{field_name}s/{len(self.files) + 1}_{name}"
            return self._store_file(value.data, file_path=path)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and re.match(r"https?://", value):
            # never fetched: the emulator must not leave loopback
            return self._store_file(b"")
        raise _bad("wrong file identifier/HTTP URL specified")

    def _send_photo(self, params: dict[str, Any]) -> JSON:
        record = self._resolve_chat(params)
        self._require_can_post(record, "can_send_photos", "photos")
        stored = self._input_file(params, "photo")
        caption = self._caption(params)
        width, height = _image_size(stored.data)
        photo = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": width,
                "height": height,
            }
        ]
        return self._outgoing(record, params, {"photo": photo, **caption})

    def _copy_message(self, params: dict[str, Any]) -> JSON:
        """The content of a message the bot can see, sent anew: no forward header, so the
        reader does not learn whom it came from. Returns a MessageId, not a Message."""
        record = self._resolve_chat(params)
        source = self._resolve_chat(params, key="from_chat_id")
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        original = source.messages.get(message_id)
        if original is None:
            raise _bad("message to copy not found")
        self._require_can_post(record, "can_send_messages", "messages")
        kept = ("text", "entities", "photo", "caption", "caption_entities", "document")
        content = {k: copy.deepcopy(original[k]) for k in kept if original.get(k) is not None}
        message = self._outgoing(record, params, content)
        return {"message_id": message["message_id"]}

    def _send_document(self, params: dict[str, Any]) -> JSON:
        record = self._resolve_chat(params)
        self._require_can_post(record, "can_send_documents", "documents")
        value = params.get("document")
        stored = self._input_file(params, "document")
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if isinstance(value, UploadedFile):
            document["file_name"] = value.filename
            document["mime_type"] = value.content_type
        return self._outgoing(record, params, {"document": document, **self._caption(params)})

    # ------------------------------------------------------------------ editing and deleting

    def _editable(self, params: Mapping[str, Any]) -> tuple[ChatRecord, JSON]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        record = self._resolve_chat(params)
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        message = record.messages.get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id and message_id not in record.sent_ids:
            raise _bad("message can't be edited")
        return record, message

    @staticmethod
    def _not_modified() -> TelegramAPIError:
        return _bad(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    def _finish_edit(self, message: JSON, changes: Mapping[str, Any]) -> JSON:
        if all(message.get(key) == value for key, value in changes.items()):
            raise self._not_modified()
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = copy.deepcopy(value)
        message["edit_date"] = max(int(self._clock()), int(message["date"]))
        self._notify()
        return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> JSON:
        _, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._message_text(params)
        # omitting reply_markup removes the inline keyboard, as on the real server
        return self._finish_edit(
            message,
            {
                "text": text,
                "entities": entities or None,
                "reply_markup": self._inline_markup(params),
            },
        )

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> JSON:
        _, message = self._editable(params)
        return self._finish_edit(message, {"reply_markup": self._inline_markup(params)})

    def _delete_one(self, record: ChatRecord, message_id: int) -> None:
        message = record.messages.get(message_id)
        if message is None:
            raise _bad("message to delete not found")
        self._check_deletable(record, message)
        record.deleted[message_id] = record.messages.pop(message_id)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params)
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        self._delete_one(record, message_id)
        self._notify()
        return True

    def _delete_messages(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be an array of 1-100 message identifiers")
        deleted = 0
        for message_id in ids:
            try:
                self._delete_one(record, int(message_id))
                deleted += 1
            except TelegramAPIError:
                continue  # the server silently skips messages it cannot delete
        if not deleted:
            raise _bad("message to delete not found")
        self._notify()
        return True

    # ------------------------------------------------------------------ callbacks

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self.open_callback_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        del self.open_callback_queries[query_id]
        self.callback_answers[query_id] = dict(params)
        self._notify()
        return True

    # ------------------------------------------------------------------ chats and members

    def _get_chat(self, params: dict[str, Any]) -> JSON:
        record = self._resolve_chat(params, allow_migrated=True)
        info: JSON = {
            **record.brief(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if record.kind in ("group", "supergroup"):
            info["permissions"] = {key: True for key in RESTRICTED_PERMISSIONS}
        if record.migrated_to is not None:
            info["migrate_to_chat_id"] = record.migrated_to  # not a Bot API field; harmless
        info.update(copy.deepcopy(record.info))
        return info

    def _user_param(self, params: Mapping[str, Any]) -> int:
        return _int_param(params, "user_id", "user_id is empty")

    def _get_chat_member(self, params: dict[str, Any]) -> JSON:
        record = self._resolve_chat(params, allow_migrated=True)
        user_id = self._user_param(params)
        member = self._member(record, user_id)
        if member is not None:
            return copy.deepcopy(member)
        if user_id in self.users:
            return member_left(self.users[user_id])
        raise _bad("user not found")

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[JSON]:
        record = self._resolve_chat(params, allow_migrated=True)
        if record.kind == "private":
            raise _bad("there are no administrators in the private chat")
        return_bots = bool(params.get("return_bots", False))
        admins = [
            copy.deepcopy(m)
            for user_id, m in record.members.items()
            if m["status"] in ("creator", "administrator")
            and (return_bots or user_id == self.bot_id or not m["user"].get("is_bot"))
        ]
        admins.sort(key=lambda m: m["status"] != "creator")
        return admins

    def _get_chat_member_count(self, params: dict[str, Any]) -> int:
        record = self._resolve_chat(params, allow_migrated=True)
        if record.kind == "private":
            return 2
        return sum(
            1
            for m in record.members.values()
            if m["status"] in ("creator", "administrator", "member")
            or (m["status"] == "restricted" and m.get("is_member"))
        )

    def _restrictable_target(self, record: ChatRecord, user_id: int, action: str) -> JSON:
        if record.kind == "private":
            raise _bad("chat member status can't be changed in private chats")
        if not self._bot_has_right(record, "can_restrict_members"):
            raise _bad("not enough rights to restrict/unrestrict chat member")
        target = self._member(record, user_id)
        if target is None:
            if user_id not in self.users:
                raise _bad("user not found")
            target = member_left(self.users[user_id])
        if user_id == self.bot_id:
            raise _bad(f"can't {action} self")
        if target["status"] == "creator":
            raise _bad("can't remove chat owner")
        if target["status"] == "administrator":
            raise _bad("user is an administrator of the chat")
        return target

    def _change_member(self, record: ChatRecord, old: JSON, new: JSON) -> None:
        """Store ``new`` and emit the chat_member update Telegram sends to admin bots."""
        self.set_chat_member(record.chat_id, new)
        self._enqueue(
            "chat_member",
            {
                "chat": record.brief(),
                "from": dict(self.bot_user),
                "date": int(self._clock()),
                "old_chat_member": old,
                "new_chat_member": copy.deepcopy(new),
            },
        )

    def _ban_chat_member(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params)
        user_id = self._user_param(params)
        target = self._restrictable_target(record, user_id, "ban")
        until = int(params.get("until_date") or 0)
        self._change_member(record, target, member_kicked(target["user"], until_date=until))
        return True

    def _unban_chat_member(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params)
        user_id = self._user_param(params)
        target = self._restrictable_target(record, user_id, "unban")
        if target["status"] != "kicked" and params.get("only_if_banned"):
            return True
        if target["status"] in ("kicked", "member", "restricted"):
            self._change_member(record, target, member_left(target["user"]))
        return True

    def _restrict_chat_member(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params)
        if record.kind != "supergroup":
            raise _bad("method is available only for supergroups")
        user_id = self._user_param(params)
        target = self._restrictable_target(record, user_id, "restrict")
        permissions = params.get("permissions")
        if not isinstance(permissions, dict):
            raise _bad("can't parse permissions JSON object")
        granted = {key: bool(permissions.get(key, False)) for key in RESTRICTED_PERMISSIONS}
        if all(granted.values()):
            new = member_member(target["user"])
        else:
            new = member_restricted(
                target["user"],
                until_date=int(params.get("until_date") or 0),
                is_member=target["status"] in ("member", "restricted"),
                **granted,
            )
        self._change_member(record, target, new)
        return True

    def _leave_chat(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params, allow_migrated=True)
        if record.kind == "private":
            raise _bad("chat member status can't be changed in private chats")
        old = self._member(record, self.bot_id)
        if old is None or old["status"] in ("left", "kicked"):
            raise TelegramAPIError(403, f"Forbidden: bot is not a member of the {record.kind} chat")
        new = member_left(self.bot_user)
        self.set_chat_member(record.chat_id, new)
        self._enqueue(
            "my_chat_member",
            {
                "chat": record.brief(),
                "from": dict(self.bot_user),
                "date": int(self._clock()),
                "old_chat_member": copy.deepcopy(old),
                "new_chat_member": new,
            },
        )
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        record = self._resolve_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._require_can_post(record, "can_send_messages", "text messages")
        return True

    # ------------------------------------------------------------------ commands

    def _command_key(self, params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise _bad("can't parse BotCommandScope JSON object")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        cleaned: list[JSON] = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be non-empty")
            cleaned.append({"command": name, "description": description})
        key = self._command_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._command_key(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._command_key(params), None)
        return True

    # ------------------------------------------------------------------ files

    def _get_file(self, params: dict[str, Any]) -> JSON:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return self._file_object(stored)
