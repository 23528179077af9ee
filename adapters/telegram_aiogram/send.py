"""botkit outbound primitives → aiogram calls, and aiogram errors → the port's."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)

from adapters.telegram_aiogram.limits import RetryAfterTooLong
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
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.action) for b in row]
            for row in keyboard_rows(buttons)
        ]
    )


async def post_text(
    bot: Bot, chat_id: int | str, text: str, buttons: Sequence[Button], reply_to: int | None
) -> int:
    message = await bot.send_message(
        chat_id=chat_id,
        text=text,
        parse_mode=None,
        reply_markup=markup(buttons),
        reply_parameters=(
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
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
            parse_mode=None,
            # Without reply_markup Telegram removes the keyboard: a closed alert has none.
            reply_markup=markup(buttons),
            link_preview_options=NO_PREVIEW,
        )
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def delete(bot: Bot, chat_id: int | str, message_id: int) -> None:
    try:
        await bot.delete_message(chat_id=chat_id, message_id=message_id)
    except (TelegramBadRequest, TelegramNotFound) as exc:
        if "not found" not in exc.message.lower():
            raise  # e.g. "message can't be deleted": the bot lacks the right


def translate(exc: Exception) -> Exception | None:
    """aiogram's errors as the adapter port's; None for anything else."""
    if isinstance(exc, TelegramMigrateToChat):
        return Migrated(str(exc.migrate_to_chat_id))
    if isinstance(exc, RetryAfterTooLong):
        return DeliveryError(f"telegram: {exc}", retry_after=exc.seconds)
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError(
            f"telegram: still flood-limited after retries (retry after {exc.retry_after} s)",
            retry_after=float(exc.retry_after),
        )
    if isinstance(exc, TelegramForbiddenError):
        message = f"telegram: {exc.message}{forbidden_hint(exc.message)}"
        return DeliveryError(message, permanent=True)
    if isinstance(exc, TelegramBadRequest | TelegramNotFound):
        return DeliveryError(f"telegram: {exc.message}", permanent=True)
    if isinstance(exc, TelegramNetworkError):
        # aiogram names aiohttp's error: a refused connection never reached Telegram.
        sent = "ClientConnectorError" not in exc.message
        return DeliveryError(f"telegram: network: {exc.message}", ambiguous=sent)
    if isinstance(exc, TelegramServerError):
        return DeliveryError(f"telegram: server error: {exc.message}", ambiguous=True)
    if isinstance(exc, TelegramAPIError):
        return DeliveryError(f"telegram: {type(exc).__name__}: {exc.message}")
    return None
