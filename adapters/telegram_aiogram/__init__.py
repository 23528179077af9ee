"""Telegram through aiogram 3 (same behaviour as `adapters.telegram`)."""

from adapters.telegram_aiogram.adapter import AiogramAdapter

__all__ = ["AiogramAdapter"]
