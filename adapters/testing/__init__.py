"""Test doubles for platform adapters: loopback emulators and update fixtures.

``FakeBotAPI`` emulates the Telegram Bot API server; ``telegram_updates`` builds update
dicts that python-telegram-bot and aiogram both accept. Nothing here imports botkit.
"""

from __future__ import annotations

from adapters.testing import telegram_updates
from adapters.testing.telegram_api import SECRET_TOKEN_HEADER, FakeBotAPI
from adapters.testing.telegram_errors import TelegramAPIError
from adapters.testing.telegram_params import UploadedFile
from adapters.testing.telegram_state import (
    ChatRecord,
    Described,
    FloodLimits,
    RecordedCall,
    WebhookDelivery,
)

__all__ = [
    "SECRET_TOKEN_HEADER",
    "ChatRecord",
    "Described",
    "FakeBotAPI",
    "FloodLimits",
    "RecordedCall",
    "TelegramAPIError",
    "UploadedFile",
    "WebhookDelivery",
    "telegram_updates",
]
