"""What the fake Bot API server knows: chats, members, messages, the update queue, files.

Pushed updates are absorbed the way Telegram would have produced them: a message registers
its chat, sender and text; ``my_chat_member`` changes the bot's rights in that chat; a
``migrate_to_chat_id`` service message upgrades the group. Methods then check those rights,
so a moderation bot that forgets to ask for admin rights fails here as it would in production.
"""

from __future__ import annotations

import asyncio
import copy
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.testing.telegram_errors import TelegramAPIError
from adapters.testing.telegram_updates import member_administrator, member_left, member_member

__all__ = [
    "MESSAGE_UPDATE_KINDS",
    "TOKEN_RE",
    "UPDATE_KINDS",
    "WITHHELD_BY_DEFAULT",
    "ChatRecord",
    "Described",
    "EmulatorState",
    "FloodLimits",
    "RecordedCall",
    "StoredFile",
    "WebhookConfig",
    "WebhookDelivery",
]

JSON = dict[str, Any]

TOKEN_RE = re.compile(r"(\d+):[A-Za-z0-9_-]+")

UPDATE_KINDS: tuple[str, ...] = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "managed_bot",
    "guest_message",
    "subscription",
    "stopped_message_generation",
)
WITHHELD_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MESSAGE_UPDATE_KINDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
    }
)
_CHAT_BRIEF_KEYS = (
    "id",
    "type",
    "title",
    "username",
    "first_name",
    "last_name",
    "is_forum",
    "is_direct_messages",
)
_SERVICE_FIELDS = frozenset(
    {
        "new_chat_members",
        "left_chat_member",
        "new_chat_title",
        "new_chat_photo",
        "delete_chat_photo",
        "group_chat_created",
        "supergroup_chat_created",
        "channel_chat_created",
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "pinned_message",
    }
)
_UNDELETABLE_SERVICE = frozenset(
    {
        "group_chat_created",
        "supergroup_chat_created",
        "channel_chat_created",
        "migrate_from_chat_id",
        "forum_topic_created",
    }
)
DELETE_WINDOW_SECONDS = 48 * 3600


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One Bot API call as the server understood it (parameters typed as Telegram types them)."""

    method: str
    params: dict[str, Any] = field(hash=False)
    at: float
    http_method: str = "POST"
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class Described:
    """A method result that also carries the envelope's ``description`` (setWebhook…)."""

    result: Any
    description: str


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    secret_token_sent: bool
    at: float

    @property
    def ok(self) -> bool:
        """True when the webhook answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """Flood-control thresholds (PTB's ``FloodLimit`` constants)."""

    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    overall_per_second: int = 30


@dataclass
class WebhookConfig:
    """The webhook as set by setWebhook."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    has_custom_certificate: bool = False
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class StoredFile:
    """A file the server can hand out through getFile and /file/bot<token>/<path>."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


@dataclass
class ChatRecord:
    """Server-side state of one chat."""

    chat: JSON
    members: dict[int, JSON] = field(default_factory=dict)
    messages: dict[int, JSON] = field(default_factory=dict)
    sent_ids: list[int] = field(default_factory=list)
    deleted: dict[int, JSON] = field(default_factory=dict)
    last_message_id: int = 0
    migrated_to: int | None = None
    bot_blocked: bool = False
    info: JSON = field(default_factory=dict)

    @property
    def chat_id(self) -> int:
        """The chat's id."""
        return int(self.chat["id"])

    @property
    def kind(self) -> str:
        """private, group, supergroup or channel."""
        return str(self.chat["type"])

    def brief(self) -> JSON:
        """The Chat object as embedded in messages."""
        return {key: self.chat[key] for key in _CHAT_BRIEF_KEYS if key in self.chat}


def _bad(description: str, **parameters: Any) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {description}", parameters or None)


class EmulatorState:
    """Chats, users, messages and the update queue of one emulated bot."""

    def __init__(
        self,
        *,
        bot_token: str,
        bot_username: str,
        bot_first_name: str,
        can_read_all_group_messages: bool,
        privacy_mode: bool,
        flood_control: bool,
        flood_limits: FloodLimits,
        first_update_id: int,
        clock: Callable[[], float],
    ) -> None:
        match = TOKEN_RE.fullmatch(bot_token)
        if match is None:
            raise ValueError(
                f"bot_token {bot_token!r} is not of the form '<digits>:<[A-Za-z0-9_-]+>'"
            )
        self.bot_token = bot_token
        self.bot_id = int(match.group(1))
        self.bot_username = bot_username
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.me: JSON = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.privacy_mode = privacy_mode
        self.flood_control = flood_control
        self.flood_limits = flood_limits
        self._clock = clock

        self.users: dict[int, JSON] = {self.bot_id: dict(self.bot_user)}
        self.chats: dict[int, ChatRecord] = {}
        self.pending_updates: list[JSON] = []
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookConfig | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.open_callback_queries: dict[str, JSON] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.files: dict[str, StoredFile] = {}
        self.calls: list[RecordedCall] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.withheld_update_ids: list[int] = []
        self.sent_log: list[tuple[int, int]] = []
        # Each sent message as it first arrived, before any edit: what an officer was told.
        self.first_versions: dict[tuple[int, int], JSON] = {}
        self.logged_out = False
        self.server_errors: list[BaseException] = []
        self._next_update_id = first_update_id
        self._confirmed_ids: set[int] = set()
        self._send_times: dict[int | str, deque[float]] = {}
        self._all_send_times: deque[float] = deque()
        self._file_counter = 0
        self._started_at = clock()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ change notification

    def _notify(self) -> None:
        """Wake every coroutine waiting for the state to change."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ------------------------------------------------------------------ chats and members

    def add_chat(
        self,
        chat: Mapping[str, Any],
        *,
        bot_member: str | Mapping[str, Any] | None = "member",
        members: Iterable[Mapping[str, Any]] = (),
        **info: Any,
    ) -> None:
        """Make ``chat`` known to the server.

        ``bot_member`` is the bot's ChatMember object or just a status: "member",
        "administrator" (moderation rights of ``ADMIN_RIGHTS``), "left" or None (not a member).
        ``members`` are ChatMember objects of other users; ``info`` extra getChat fields.
        """
        record = self._ensure_chat(chat, bot_member=None)
        record.info.update(info)
        if record.kind != "private":
            if isinstance(bot_member, Mapping):
                self.set_chat_member(record.chat_id, bot_member)
            elif bot_member == "administrator":
                self.set_chat_member(record.chat_id, member_administrator(self.bot_user))
            elif bot_member == "member":
                self.set_chat_member(record.chat_id, member_member(self.bot_user))
            elif bot_member == "left":
                self.set_chat_member(record.chat_id, member_left(self.bot_user))
            elif bot_member is not None:
                raise ValueError(
                    f"bot_member must be a ChatMember dict, 'member', 'administrator', 'left' "
                    f"or None, not {bot_member!r}"
                )
        for member in members:
            self.set_chat_member(record.chat_id, member)
        self._notify()

    def set_chat_member(self, chat_id: int, member: Mapping[str, Any]) -> None:
        """Set the ChatMember object of ``member["user"]`` in a known chat."""
        record = self.chat(chat_id)
        if "user" not in member or "status" not in member:
            raise ValueError(f"a ChatMember needs 'user' and 'status', got keys {sorted(member)}")
        self._remember_user(member["user"])
        record.members[int(member["user"]["id"])] = copy.deepcopy(dict(member))
        self._notify()

    def set_bot_admin(self, chat_id: int, **rights: bool) -> None:
        """Make the bot an administrator of ``chat_id`` (rights override ``ADMIN_RIGHTS``)."""
        overrides: dict[str, Any] = dict(rights)  # typed Any: mypy can't tell rights from kwargs
        self.set_chat_member(chat_id, member_administrator(self.bot_user, **overrides))

    def block_bot(self, user_id: int, blocked: bool = True) -> None:
        """Emulate the user of a private chat blocking (or unblocking) the bot."""
        self.chat(user_id).bot_blocked = blocked

    def chat(self, chat_id: int) -> ChatRecord:
        """The server-side record of ``chat_id``; KeyError names unknown chats."""
        try:
            return self.chats[chat_id]
        except KeyError:
            raise KeyError(
                f"chat {chat_id} is unknown to the emulator; add_chat() it or push an update "
                f"from it first (known: {sorted(self.chats)})"
            ) from None

    def chat_member(self, chat_id: int, user_id: int) -> JSON | None:
        """Current ChatMember of ``user_id`` in ``chat_id`` (None when never seen)."""
        member = self._member(self.chat(chat_id), user_id)
        return copy.deepcopy(member) if member else None

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """Upgrade basic group ``old_id`` to supergroup ``new_id``.

        Afterwards every method addressed to ``old_id`` (except getChat) fails with
        ``400 group chat was upgraded to a supergroup chat`` and ``migrate_to_chat_id``.
        An unknown ``old_id`` is registered first as a basic group the bot is a member of.
        """
        if old_id not in self.chats:
            self.add_chat({"id": old_id, "type": "group", "title": ""})
        old = self.chat(old_id)
        if old.kind != "group":
            raise ValueError(f"only basic groups migrate; chat {old_id} is a {old.kind}")
        new = self.chats.get(new_id)
        if new is None:
            chat = {"id": new_id, "type": "supergroup", "title": old.chat.get("title", "")}
            new = self.chats[new_id] = ChatRecord(chat=chat)
        for user_id, member in old.members.items():
            new.members.setdefault(user_id, copy.deepcopy(member))
        old.migrated_to = new_id
        self._notify()

    def _ensure_chat(
        self, chat: Mapping[str, Any], *, bot_member: str | None = "member"
    ) -> ChatRecord:
        if "id" not in chat or "type" not in chat:
            raise ValueError(f"a Chat needs 'id' and 'type', got keys {sorted(chat)}")
        chat_id = int(chat["id"])
        record = self.chats.get(chat_id)
        if record is None:
            record = self.chats[chat_id] = ChatRecord(chat=copy.deepcopy(dict(chat)))
            if record.kind in ("group", "supergroup") and bot_member == "member":
                # the bot received something from this group, so it is in it
                record.members[self.bot_id] = member_member(self.bot_user)
            if record.kind == "private":
                self._remember_user(
                    {"id": chat_id, "is_bot": False, "first_name": chat.get("first_name", "")}
                    | {k: chat[k] for k in ("last_name", "username") if k in chat}
                )
        else:
            record.chat.update({k: v for k, v in chat.items() if k in _CHAT_BRIEF_KEYS})
        return record

    def _remember_user(self, user: Mapping[str, Any]) -> None:
        user_id = int(user["id"])
        self.users[user_id] = {**self.users.get(user_id, {}), **copy.deepcopy(dict(user))}

    def _member(self, record: ChatRecord, user_id: int) -> JSON | None:
        if record.kind == "private":
            if user_id in (self.bot_id, record.chat_id) and user_id in self.users:
                return {"status": "member", "user": dict(self.users[user_id])}
            return None
        return record.members.get(user_id)

    def _bot_status(self, record: ChatRecord) -> str:
        member = self._member(record, self.bot_id)
        return str(member["status"]) if member else "left"

    def _bot_has_right(self, record: ChatRecord, right: str) -> bool:
        member = self._member(record, self.bot_id)
        if member is None:
            return False
        if member["status"] == "creator":
            return True
        if member["status"] != "administrator":
            return False
        # basic-group administrators hold every right
        return record.kind == "group" or bool(member.get(right))

    # ------------------------------------------------------------------ method helpers

    def _resolve_chat(
        self, params: Mapping[str, Any], *, key: str = "chat_id", allow_migrated: bool = False
    ) -> ChatRecord:
        chat_id = params.get(key)
        if chat_id is None or chat_id == "":
            raise _bad(f"{key} is empty")
        record: ChatRecord | None
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            record = next(
                (
                    r
                    for r in self.chats.values()
                    if str(r.chat.get("username", "")).lower() == name and chat_id.startswith("@")
                ),
                None,
            )
        else:
            record = self.chats.get(int(chat_id))
        if record is None:
            raise _bad("chat not found")
        if record.migrated_to is not None and not allow_migrated:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=record.migrated_to,
            )
        return record

    def _require_can_post(self, record: ChatRecord, right: str, what: str) -> None:
        """Raise the error Telegram gives when the bot may not post ``what`` in ``record``."""
        kind = record.kind
        if kind == "private":
            if record.bot_blocked:
                raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
            return
        member = self._member(record, self.bot_id)
        status = member["status"] if member else "left"
        if status == "kicked":
            raise TelegramAPIError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if kind == "channel":
            if status not in ("creator", "administrator"):
                raise TelegramAPIError(403, "Forbidden: bot is not a member of the channel chat")
            if not self._bot_has_right(record, "can_post_messages"):
                raise _bad("need administrator rights in the channel chat")
            return
        if status == "left" or (status == "restricted" and member and not member["is_member"]):
            raise TelegramAPIError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if status == "restricted" and member and not member.get(right, True):
            raise _bad(f"not enough rights to send {what} to the chat")

    def _store_message(self, message: Mapping[str, Any]) -> ChatRecord:
        record = self._ensure_chat(message["chat"])
        stored = copy.deepcopy(dict(message))
        message_id = int(stored["message_id"])
        record.messages[message_id] = stored
        record.last_message_id = max(record.last_message_id, message_id)
        return record

    def _new_bot_message(self, record: ChatRecord, content: Mapping[str, Any]) -> JSON:
        record.last_message_id += 1
        message: JSON = {"message_id": record.last_message_id}
        if record.kind == "channel":
            message["sender_chat"] = record.brief()
        else:
            message["from"] = dict(self.bot_user)
        message["chat"] = record.brief()
        message["date"] = int(self._clock())
        message.update({k: v for k, v in content.items() if v is not None})
        record.messages[record.last_message_id] = message
        record.sent_ids.append(record.last_message_id)
        self.sent_log.append((record.chat_id, record.last_message_id))
        self.first_versions[(record.chat_id, record.last_message_id)] = copy.deepcopy(message)
        return copy.deepcopy(message)

    def _check_flood(self, record: ChatRecord) -> None:
        """429 when the bot exceeds Telegram's flood limits (only when flood_control is on)."""
        if not self.flood_control:
            return
        now = self._clock()
        limits = self.flood_limits
        per_chat = self._send_times.setdefault(record.chat_id, deque())
        while per_chat and per_chat[0] <= now - 60:
            per_chat.popleft()
        while self._all_send_times and self._all_send_times[0] <= now - 1:
            self._all_send_times.popleft()
        last_second = [t for t in per_chat if t > now - 1]
        waits: list[float] = []
        if len(last_second) >= limits.per_chat_per_second:
            waits.append(last_second[-limits.per_chat_per_second] + 1 - now)
        if record.kind in ("group", "supergroup") and len(per_chat) >= limits.per_group_per_minute:
            waits.append(per_chat[-limits.per_group_per_minute] + 60 - now)
        if len(self._all_send_times) >= limits.overall_per_second:
            waits.append(self._all_send_times[-limits.overall_per_second] + 1 - now)
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise TelegramAPIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        per_chat.append(now)
        self._all_send_times.append(now)

    def _check_deletable(self, record: ChatRecord, message: Mapping[str, Any]) -> None:
        if _UNDELETABLE_SERVICE & message.keys():
            raise _bad("message can't be deleted")
        recent = self._clock() - float(message.get("date", 0)) < DELETE_WINDOW_SECONDS
        sender = message.get("from", {}).get("id")
        own = sender == self.bot_id or int(message["message_id"]) in record.sent_ids
        if record.kind == "private":
            allowed = recent
        elif record.kind == "group":
            allowed = recent and (own or self._bot_status(record) in ("administrator", "creator"))
        else:
            allowed = self._bot_has_right(record, "can_delete_messages") or (own and recent)
        if not allowed:
            raise _bad("message can't be deleted")

    # ------------------------------------------------------------------ updates

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue ``update`` (any ``update_id`` in it is replaced); returns the assigned id.

        The update also changes server state (chats, members, stored messages, migrations).
        With ``privacy_mode`` on, group messages the bot may not see are stored but not queued.
        """
        if not isinstance(update, Mapping):
            raise TypeError(f"an update must be a mapping, not {type(update).__name__}")
        kinds = [key for key in update if key != "update_id"]
        if len(kinds) != 1:
            raise ValueError(f"an update carries exactly one payload field, got {kinds}")
        kind = kinds[0]
        if kind not in UPDATE_KINDS:
            raise ValueError(f"unknown update type {kind!r}; known: {', '.join(UPDATE_KINDS)}")
        payload = update[kind]
        if not isinstance(payload, Mapping):
            raise ValueError(f"update field {kind!r} must be an object")
        visible = self._absorb(kind, payload)
        return self._enqueue(kind, payload, visible=visible)

    def _enqueue(self, kind: str, payload: Mapping[str, Any], *, visible: bool = True) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        if visible:
            self.pending_updates.append(
                {"update_id": update_id, kind: copy.deepcopy(dict(payload))}
            )
        else:
            self.withheld_update_ids.append(update_id)
        self._notify()
        return update_id

    def _absorb(self, kind: str, payload: Mapping[str, Any]) -> bool:
        """Apply the side effects of an incoming update; False when the bot cannot see it."""
        if kind in MESSAGE_UPDATE_KINDS:
            return self._absorb_message(payload, edited=kind.startswith("edited_"))
        if kind == "callback_query":
            self._remember_user(payload["from"])
            message = payload.get("message")
            if message and message.get("date"):
                record = self._ensure_chat(message["chat"])
                if int(message["message_id"]) not in record.messages:
                    self._store_message(message)
            self.open_callback_queries[str(payload["id"])] = copy.deepcopy(dict(payload))
            return True
        if kind in ("my_chat_member", "chat_member"):
            record = self._ensure_chat(payload["chat"], bot_member=None)
            self._remember_user(payload["from"])
            new = payload["new_chat_member"]
            if kind == "my_chat_member" and int(new["user"]["id"]) != self.bot_id:
                raise ValueError(
                    f"my_chat_member is about user {new['user']['id']}, but the emulated bot "
                    f"is {self.bot_id}; use chat_member for other users"
                )
            self.set_chat_member(record.chat_id, new)
            if kind == "my_chat_member" and record.kind == "private":
                # a user blocking the bot shows up as the bot being "kicked" from the DM
                record.bot_blocked = new["status"] == "kicked"
            return True
        for key in ("chat", "message_chat"):
            if isinstance(payload.get(key), Mapping):
                self._ensure_chat(payload[key])
        if isinstance(payload.get("from"), Mapping):
            self._remember_user(payload["from"])
        return True

    def _absorb_message(self, message: Mapping[str, Any], *, edited: bool) -> bool:
        record = self._ensure_chat(message["chat"])
        sender = message.get("from")
        if isinstance(sender, Mapping):
            self._remember_user(sender)
            if record.kind in ("group", "supergroup") and int(sender["id"]) not in record.members:
                record.members[int(sender["id"])] = member_member(sender)
        if (
            not edited
            and int(message["message_id"]) in record.messages
            and isinstance(message, dict)
        ):
            # Builders number messages from a counter of their own; the server owns ids, so a
            # pushed message never overwrites another (one the bot sent, or one pushed
            # before): it gets the next free id, as Telegram never reuses one in a chat.
            message["message_id"] = record.last_message_id + 1
        if edited and int(message["message_id"]) in record.messages:
            record.messages[int(message["message_id"])].update(copy.deepcopy(dict(message)))
        else:
            self._store_message(message)
        for joined in message.get("new_chat_members", ()):
            current = record.members.get(int(joined["id"]))
            if current is None or current["status"] in ("left", "kicked"):
                self.set_chat_member(record.chat_id, member_member(joined))
        left = message.get("left_chat_member")
        if left:
            self.set_chat_member(record.chat_id, {"status": "left", "user": dict(left)})
        if "migrate_to_chat_id" in message and record.migrated_to is None:
            self.migrate_chat(record.chat_id, int(message["migrate_to_chat_id"]))
        old_id = message.get("migrate_from_chat_id")
        if old_id is not None and old_id in self.chats and self.chats[old_id].migrated_to is None:
            self.migrate_chat(int(old_id), record.chat_id)
        return self._bot_can_see(record, message)

    def _bot_can_see(self, record: ChatRecord, message: Mapping[str, Any]) -> bool:
        """Privacy mode: non-admin bots see only commands, mentions, replies and service."""
        if not self.privacy_mode or record.kind not in ("group", "supergroup"):
            return True
        if self._bot_status(record) in ("administrator", "creator"):
            return True
        if _SERVICE_FIELDS & message.keys():
            return True
        text = str(message.get("text") or message.get("caption") or "")
        replied = message.get("reply_to_message") or {}
        return (
            text.startswith("/")
            or f"@{self.bot_username}".lower() in text.lower()
            or replied.get("from", {}).get("id") == self.bot_id
        )

    def _update_allowed(self, update: Mapping[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if not self.allowed_updates:
            return kind not in WITHHELD_BY_DEFAULT
        return kind in self.allowed_updates

    def _deliverable(self, limit: int) -> list[JSON]:
        """Drop queued updates the current allowed_updates excludes; the first ``limit``."""
        kept: list[JSON] = []
        for update in self.pending_updates:
            if self._update_allowed(update):
                kept.append(update)
            else:
                self.withheld_update_ids.append(int(update["update_id"]))
        self.pending_updates = kept
        return kept[:limit]

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            confirmed = [u for u in self.pending_updates if u["update_id"] < offset]
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        elif offset < 0:
            cut = max(len(self.pending_updates) + offset, 0)
            confirmed = self.pending_updates[:cut]
            self.pending_updates = self.pending_updates[cut:]
        else:
            return
        if confirmed:
            self._confirmed_ids.update(int(u["update_id"]) for u in confirmed)
            self._notify()

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad("can't parse allowed updates: an array of strings expected")
        self.allowed_updates = list(value)

    # ------------------------------------------------------------------ files

    def add_file(
        self,
        data: bytes,
        *,
        file_id: str | None = None,
        file_path: str | None = None,
    ) -> JSON:
        """Register downloadable content; returns the File object getFile will answer."""
        return self._file_object(self._store_file(data, file_id=file_id, file_path=file_path))

    def _store_file(
        self, data: bytes, *, file_id: str | None = None, file_path: str | None = None
    ) -> StoredFile:
        self._file_counter += 1
        stored = StoredFile(
            file_id=file_id or f"BQACAgUAAxkBAAE{self._file_counter:06d}",
            file_unique_id=f"AgAD{self._file_counter:06d}",
            file_path=file_path or f"documents/file_{self._file_counter}",
            data=bytes(data),
        )
        self.files[stored.file_id] = stored
        return stored

    @staticmethod
    def _file_object(stored: StoredFile) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
