"""What both Telegram adapters share: the update loop, the core hand-off and outbound rules.

A subclass supplies the library: making the bot, fetching raw updates, converting one
update, and the four primitive calls (post, edit, delete, answer a button press). Everything
else — offsets and back-off, skipping bad updates, handing events over durably before they
are confirmed, answering button presses with the core's reply, splitting long texts,
following a migrated group, mapping errors to the port's `DeliveryError`/`Unsupported` —
lives here once.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from adapters.kit.callbacks import PendingCallbacks
from adapters.kit.loop import AdapterStats, Backoff
from adapters.telegram_common.common import (
    ALLOWED_UPDATES,
    MAX_CALLBACK_ANSWER,
    MAX_MESSAGE_UTF16,
    TelegramSettings,
    chat_id_param,
    keyboard_rows,
    message_id_param,
    parse_callback_ref,
    split_text,
    truncate_utf16,
)
from adapters.telegram_common.events import NOTHING, ConvertContext, Converted
from botkit.adapter import (
    Adapter,
    DeliveryError,
    GroupMigrated,
    InboundEvent,
    Inbox,
    IntakeUnavailable,
    PhotoUnavailable,
    Unsupported,
)
from botkit.config import AdapterSettings
from botkit.domain import Message
from botkit.outbound import Button, CopyMessage, DeleteMessage, EditText, Outbound, SendText
from botkit.pacing import Rate
from botkit.waiting import event_within

log = logging.getLogger(__name__)

U = TypeVar("U")
R = TypeVar("R")

INBOX_WAIT_SECONDS = 10.0

# Events converted from the update being read, when its hand-over is the caller's (the
# polling loop, the webhook): a context variable, since webhook posts run concurrently.
_collector: contextvars.ContextVar[list[InboundEvent] | None] = contextvars.ContextVar(
    "botkit_telegram_collector", default=None
)


class Migrated(Exception):
    """A library's "group was upgraded to a supergroup" error, normalised."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"group migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class TelegramAdapterBase(Adapter, Generic[U]):
    """Library-independent half of a Telegram adapter; `U` is the library's Update type."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"send", "edit", "delete", "photos"})

    def __init__(
        self,
        name: str,
        settings: AdapterSettings,
        *,
        embedded: bool,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, settings)
        self.config = TelegramSettings.from_adapter(
            name, settings, environ, require_token=not embedded
        )
        self.embedded = embedded
        self.stats = AdapterStats()
        self.migrated: dict[str, str] = {}
        self._inbox: Inbox | None = None
        self._inbox_ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._callbacks = PendingCallbacks(self._safe_answer, self.config.callback_answer_seconds)

    # ------------------------------------------------------------------ library hooks

    def send_limits(self, action: Outbound) -> tuple[Rate, ...]:
        """Telegram's published limits: 30 messages/s per bot, 1/s per chat, 20/min per
        group (group ids are negative)."""
        if not isinstance(action, SendText | EditText | CopyMessage):
            return ()
        bot = f"telegram:{self.config.token_id or self.name}"
        chat = str(self.migrated.get(action.chat_id, action.chat_id))
        rates = [Rate(bot, 30, 1.0), Rate(f"{bot}:chat:{chat}", 1, 1.0)]
        if chat.startswith("-"):
            rates.append(Rate(f"{bot}:group:{chat}", 20, 60.0))
        return tuple(rates)

    def exclusive_source(self) -> str | None:
        if self.config.mode != "polling" or not self.config.token:
            return None
        return f"telegram-bot:{self.config.token_id}"

    @abstractmethod
    def _username(self) -> str | None:
        """The bot's @username once known (commands may be addressed to it)."""

    @abstractmethod
    async def _convert(self, update: U, ctx: ConvertContext) -> Converted: ...

    @abstractmethod
    def _update_id(self, update: U) -> int: ...

    @abstractmethod
    async def _is_admin(self, chat_id: int, user_id: int) -> bool: ...

    @abstractmethod
    async def _post_text(
        self, chat_id: int | str, text: str, buttons: Sequence[Button], reply_to: int | None
    ) -> int:
        """Send one message (≤ 4096 UTF-16 units); returns its message id."""

    @abstractmethod
    async def _edit_text(
        self, chat_id: int | str, message_id: int, text: str, buttons: Sequence[Button]
    ) -> None:
        """Edit a message; "message is not modified" is success."""

    @abstractmethod
    async def _delete(self, chat_id: int | str, message_id: int) -> None:
        """Delete a message; one already gone is success."""

    @abstractmethod
    async def _copy(self, chat_id: int | str, from_chat_id: int | str, message_id: int) -> int:
        """copyMessage: the content without its origin; returns the new message's id."""

    @abstractmethod
    async def _answer(self, query_id: str, text: str | None) -> None:
        """Answer a button press (stops the spinner; `text` shows as a toast)."""

    @abstractmethod
    async def _fetch_file(self, file_id: str, max_bytes: int) -> bytes:
        """getFile, `refuse_size` on the size it says, then the download (the Bot API serves
        files of at most 20 MB)."""

    @abstractmethod
    def _translate(self, exc: Exception) -> Exception | None:
        """The library's error as `Migrated`, `DeliveryError` or `Unsupported`; None: not ours."""

    # ------------------------------------------------------------------ receiving

    async def run(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._inbox_ready.set()
        if self.embedded:
            await self._stop.wait()  # the host's application delivers the updates
            return
        await self._receive()

    @abstractmethod
    async def _receive(self) -> None:
        """Poll or serve the webhook until `_stop` is set."""

    async def close(self) -> None:
        self._stop.set()
        await self._callbacks.close()

    async def _poll_loop(
        self,
        fetch: Callable[[int, int, Sequence[str]], Awaitable[list[Any]]],
        handle_raw: Callable[[Any], Awaitable[None]],
        fatal: tuple[type[BaseException], ...],
    ) -> None:
        """getUpdates until stopped.

        A batch's events are handed over (stored durably, in one commit) before the batch is
        confirmed: the offset of the next getUpdates moves past the batch only then. When
        botkit cannot take them (storage failing, intake full), the same batch is fetched
        again later; Telegram keeps it meanwhile.
        """
        offset = 0
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                batch = await fetch(offset, self.config.poll_timeout, ALLOWED_UPDATES)
            except fatal:
                raise
            except Exception as exc:  # network, 5xx, 409 conflict: wait and try again
                if self._stop.is_set():
                    return  # the session was closed under a pending long poll
                delay = backoff.next()
                log.warning(
                    "telegram %s: getUpdates failed (%s: %s); retrying in %.1f s",
                    self.name,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            events: list[InboundEvent] = []
            last: int | None = None
            for raw in batch:
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if isinstance(update_id, int) and not isinstance(update_id, bool):
                    last = max(last or 0, update_id)
                else:
                    log.warning("telegram %s: an update without update_id", self.name)
                self.stats.updates += 1
                events += await self.collect(handle_raw, raw)
            try:
                await self.hand_over(events)
            except IntakeUnavailable as exc:
                if self._stop.is_set():
                    return
                delay = backoff.next()
                log.warning(
                    "telegram %s: %d update(s) not taken yet (%s); asking again in %.1f s",
                    self.name,
                    len(batch),
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue  # the offset stays: Telegram delivers the batch again
            backoff.reset()
            if last is not None:
                offset = max(offset, last + 1)

    async def collect(
        self, handle_raw: Callable[[Any], Awaitable[None]], raw: Any
    ) -> list[InboundEvent]:
        """Convert one raw update; its events are returned, not yet handed over."""
        collected: list[InboundEvent] = []
        token = _collector.set(collected)
        try:
            await handle_raw(raw)
        except Exception:
            self.stats.failed += 1
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.exception("telegram %s: update %s failed; skipped", self.name, update_id)
        finally:
            _collector.reset(token)
        return collected

    async def hand_over(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        """Store the events durably; raises `IntakeUnavailable` if botkit cannot take them."""
        if not events:
            return
        inbox = await self._ready_inbox()
        await inbox.submit_many(events, wait=wait)
        self.stats.events += len(events)

    async def handle_posted(self, raw: Any, handle_raw: Callable[[Any], Awaitable[None]]) -> None:
        """A webhook post: converted and stored before the 200; `IntakeFull` otherwise."""
        self.stats.updates += 1
        await self.hand_over(await self.collect(handle_raw, raw), wait=False)

    async def _ready_inbox(self) -> Inbox:
        # An embedding host may deliver updates before botkit's serve() has started.
        if self._inbox is None and not await event_within(self._inbox_ready, INBOX_WAIT_SECONDS):
            raise IntakeUnavailable("botkit is not running yet")
        assert self._inbox is not None
        return self._inbox

    def skip_malformed(self, raw: Any, exc: BaseException) -> None:
        self.stats.skipped += 1
        update_id = raw.get("update_id", "?") if isinstance(raw, dict) else "?"
        detail = str(exc).splitlines()[0] if str(exc) else ""
        log.warning(
            "telegram %s: skipping malformed update %s: %s: %s",
            self.name,
            update_id,
            type(exc).__name__,
            detail[:300],
        )

    async def handle_update(self, update: U) -> Converted:
        """Convert an update, hand its events to the core, give the adapter's own answers."""
        try:
            converted = await self._convert(update, self._context())
        except Exception:
            self.stats.failed += 1
            log.exception(
                "telegram %s: update %s could not be converted; skipped",
                self.name,
                self._update_id(update),
            )
            return NOTHING
        if converted.callback_id is not None:
            self._callbacks.add(converted.callback_id)
        if converted.foreign_callback_id is not None and (converted.owned or not self.embedded):
            # Nobody else answers this press: botkit's own (setup) or, without a host, anyone's.
            await self._safe_answer(converted.foreign_callback_id, converted.answer)
        update_id = self._update_id(update)
        for i, event in enumerate(converted.events):
            if isinstance(event, GroupMigrated):
                # Later sends to the old id go straight to the supergroup.
                self.migrated[event.old_chat_id] = event.new_chat_id
            if not isinstance(event, Message) and event.event_id is None:
                # The update identifies the event: redelivered, it is recognised.
                event = dataclasses.replace(event, event_id=f"{update_id}.{i}")
            await self._submit(event)
        if converted.notice is not None:
            try:
                await self.send(converted.notice)
            except Exception as exc:
                log.warning(
                    "telegram %s: notice to %s failed: %s", self.name, converted.notice.chat_id, exc
                )
        return converted

    def _context(self) -> ConvertContext:
        return ConvertContext(
            name=self.name,
            bot_username=self._username(),
            is_admin=self._is_admin,
            max_text_chars=self.config.max_text_chars,
        )

    async def _submit(self, event: InboundEvent) -> None:
        collected = _collector.get()
        if collected is not None:
            collected.append(event)  # handed over with its batch, before it is confirmed
            return
        # Embedded: the host's library fetched the update; hand it over at once.
        await self.hand_over([event])

    async def _safe_answer(self, query_id: str, text: str | None) -> None:
        try:
            await self._answer(query_id, text)
        except Exception as exc:  # an unanswered press only leaves a spinner
            log.warning(
                "telegram %s: answering button press %s failed: %s", self.name, query_id, exc
            )

    # ------------------------------------------------------------------ sending

    async def send(self, action: Outbound) -> str | None:
        try:
            if isinstance(action, SendText):
                return await self._following(action.chat_id, lambda c: self._send_text(c, action))
            if isinstance(action, EditText):
                return await self._following(action.chat_id, lambda c: self._edit(c, action))
            if isinstance(action, DeleteMessage):
                return await self._following(action.chat_id, lambda c: self._remove(c, action))
            if isinstance(action, CopyMessage):
                return await self._following(action.chat_id, lambda c: self._copied(c, action))
        except (DeliveryError, Unsupported):
            raise
        except ValueError as exc:  # not representable on Telegram, e.g. button data too long
            raise Unsupported(f"telegram: {exc}") from exc
        except Exception as exc:
            mapped = self._translate(exc)
            if mapped is None or isinstance(mapped, Migrated):
                raise
            raise mapped from exc
        raise Unsupported(f"telegram: unknown action {type(action).__name__}")

    async def _following(self, chat_id: str, call: Callable[[str], Awaitable[R]]) -> R:
        """Run `call` on the chat, or on the supergroup it became (once)."""
        chat_id = self.migrated.get(chat_id, chat_id)
        try:
            return await call(chat_id)
        except Exception as exc:
            moved = self._translate(exc)
            if not isinstance(moved, Migrated):
                raise
        log.info(
            "telegram %s: group %s became supergroup %s; resending there",
            self.name,
            chat_id,
            moved.new_chat_id,
        )
        self.migrated[chat_id] = moved.new_chat_id
        try:
            await self.hand_over([GroupMigrated(self.name, chat_id, moved.new_chat_id)])
        except IntakeUnavailable as exc:  # sends follow the move anyway; noted for later
            log.warning(
                "telegram %s: migration of %s not recorded yet: %s", self.name, chat_id, exc
            )
        return await call(moved.new_chat_id)

    async def _send_text(self, chat_id: str, action: SendText) -> str:
        keyboard_rows(action.buttons)  # checks callback data before anything is sent
        reply_to = action.reply_to
        pressed = parse_callback_ref(reply_to)
        if pressed is not None:
            query_id, message_id = pressed
            if self._callbacks.take(query_id):  # Telegram accepts one answer per press
                await self._safe_answer(query_id, truncate_utf16(action.text, MAX_CALLBACK_ANSWER))
            reply_to = str(message_id) if message_id else None
        pieces = split_text(action.text, MAX_MESSAGE_UTF16)
        sent = 0
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            sent = await self._post_text(
                chat_id_param(chat_id),
                piece,
                action.buttons if last else (),
                message_id_param(reply_to) if reply_to and i == 0 else None,
            )
        # The last piece carries the buttons, so it is the one the core edits later.
        return str(sent)

    async def _edit(self, chat_id: str, action: EditText) -> str:
        await self._edit_text(
            chat_id_param(chat_id),
            message_id_param(action.ref),
            truncate_utf16(action.text, MAX_MESSAGE_UTF16),
            action.buttons,
        )
        return action.ref

    async def _remove(self, chat_id: str, action: DeleteMessage) -> None:
        await self._delete(chat_id_param(chat_id), message_id_param(action.message_id))

    async def _copied(self, chat_id: str, action: CopyMessage) -> str:
        sent = await self._copy(
            chat_id_param(chat_id),
            chat_id_param(action.from_chat_id),
            message_id_param(action.message_id),
        )
        return str(sent)

    # ------------------------------------------------------------------ pictures

    async def fetch_photo(self, ref: str, max_bytes: int) -> bytes:
        try:
            data = await self._fetch_file(ref, max_bytes)
        except PhotoUnavailable:
            raise
        except Exception as exc:
            said = self._translate(exc) or exc
            raise PhotoUnavailable(f"telegram getFile: {said}") from None
        refuse_size(len(data), max_bytes)  # Telegram said nothing of its size, or said wrong
        return data


def refuse_size(size: int | None, max_bytes: int) -> None:
    if size is not None and size > max_bytes:
        raise PhotoUnavailable(f"{size:,} bytes, over the limit of {max_bytes:,}")


def forbidden_hint(message: str) -> str:
    """What an officer or admin must do about a 403, in a few words."""
    lowered = message.lower()
    if "initiate conversation" in lowered or "blocked" in lowered:
        return " (the officer must open a chat with the bot and press Start)"
    if "kicked" in lowered or "not a member" in lowered:
        return " (the bot is no longer in that group)"
    return ""
