"""botkit outbound primitives → python-telegram-bot calls, and PTB errors → the port's."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.telegram.limits import RetryAfterTooLong, retry_seconds
from adapters.telegram_common.base import Migrated, forbidden_hint
from adapters.telegram_common.common import keyboard_rows
from botkit.adapter import DeliveryError
from botkit.outbound import Button

# Scam links must not be fetched and previewed by Telegram in an officer's alert.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for botkit buttons, two per row; None without buttons."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.action) for b in row]
            for row in keyboard_rows(buttons)
        ]
    )


async def post_text(
    bot: Bot, chat_id: int | str, text: str, buttons: Sequence[Button], reply_to: int | None
) -> int:
    message = await bot.send_message(
        chat_id=chat_id,
        text=text,
        reply_markup=markup(buttons),
        reply_parameters=(
            ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        ),
        link_preview_options=NO_PREVIEW,
    )
    return message.message_id


async def edit_text(
    bot: Bot, chat_id: int | str, message_id: int, text: str, buttons: Sequence[Button]
) -> None:
    try:
        await bot.edit_message_text(
            text=text,
            chat_id=chat_id,
            message_id=message_id,
            # Without reply_markup Telegram removes the keyboard: a closed alert has none.
            reply_markup=markup(buttons),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def delete(bot: Bot, chat_id: int | str, message_id: int) -> None:
    try:
        await bot.delete_message(chat_id, message_id)
    except BadRequest as exc:
        if "not found" not in exc.message.lower():
            raise  # e.g. "message can't be deleted": the bot lacks the right


def translate(exc: Exception) -> Exception | None:
    """PTB's errors as the adapter port's; None for anything else."""
    if isinstance(exc, ChatMigrated):
        return Migrated(str(exc.new_chat_id))
    if isinstance(exc, RetryAfterTooLong):
        return DeliveryError(f"telegram: {exc.message}", retry_after=exc.seconds)
    if isinstance(exc, RetryAfter):
        seconds = retry_seconds(exc)
        return DeliveryError(
            f"telegram: still flood-limited after retries (retry after {seconds:.0f} s)",
            retry_after=seconds,
        )
    if isinstance(exc, Forbidden):
        message = f"telegram: {exc.message}{forbidden_hint(exc.message)}"
        return DeliveryError(message, permanent=True)
    if isinstance(exc, BadRequest):  # the chat is gone or the request can never succeed
        return DeliveryError(f"telegram: {exc.message}", permanent=True)
    if isinstance(exc, TimedOut):
        # A connect timeout never reached Telegram; a read timeout may have been accepted.
        sent = not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
        return DeliveryError(f"telegram: timed out: {exc.message}", ambiguous=sent)
    if isinstance(exc, NetworkError):
        sent = "ConnectError" not in exc.message
        return DeliveryError(f"telegram: network: {exc.message}", ambiguous=sent)
    if isinstance(exc, TelegramError):
        return DeliveryError(f"telegram: {type(exc).__name__}: {exc.message}")
    return None
