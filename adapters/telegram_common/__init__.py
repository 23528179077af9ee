"""Telegram's rules, shared by the two Telegram adapters and free of either library.

`common` (settings, limits, buttons, membership), `events` (one conversion of library-
independent views into core events) and `base` (receiving, sending, answering presses).
`adapters.telegram` (python-telegram-bot) and `adapters.telegram_aiogram` (aiogram) each
only turn their library's objects into these views and call their library.
"""
