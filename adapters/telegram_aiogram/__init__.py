"""Telegram through aiogram 3: the same rules as `adapters.telegram` (they live in
`adapters.telegram_common`); only aiogram's objects, calls and middlewares are here."""

from adapters.telegram_aiogram.adapter import AiogramAdapter

__all__ = ["AiogramAdapter"]
