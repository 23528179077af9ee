"""botkit inside an existing python-telegram-bot Application.

The host keeps its Application, its event loop and its signals; botkit adds one
`TypeHandler` in group -100, ahead of the host's handlers (group 0 and up)::

    application = ApplicationBuilder().token(TOKEN).post_init(start_botkit).build()
    adapter = embed(application, "telegram", settings)

    async def start_botkit(application):
        adapters = {"telegram": adapter}
        core = await App.build(config, base_dir, dispatcher=AdapterDispatcher(adapters))
        application.create_task(serve(core, adapters))

    application.run_polling(allowed_updates=Update.ALL_TYPES)   # the host's call, not botkit's

On shutdown (e.g. in `post_stop`) `await adapter.close()`: `serve` (`botkit.runtime.serve`)
then finishes what it accepted. The host's Updater confirms updates to Telegram when it
fetched them, before botkit stored them: an embedded botkit cannot promise that nothing is
lost in a crash, as `botkit run` (which polls itself) does.

Group messages reach the host's handlers as before. Updates that belong to botkit (its
buttons, `/setup`, officers' commands in private chats) stop at botkit's handler
(`ApplicationHandlerStop`). botkit sends through the host's bot, with the host's rate limiter.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, BaseHandler

from adapters.telegram.adapter import BOTKIT_GROUP, TelegramAdapter
from botkit.config import AdapterSettings

__all__ = ["BOTKIT_GROUP", "attach", "embed"]


def attach(
    application: Application[Any, Any, Any, Any, Any, Any],
    adapter: TelegramAdapter,
    *,
    group: int = BOTKIT_GROUP,
) -> BaseHandler[Any, Any, Any]:
    """Route the Application's updates through `adapter`; returns the handler added."""
    handler = adapter.ptb_handler()
    application.add_handler(handler, group=group)
    return handler


def embed(
    application: Application[Any, Any, Any, Any, Any, Any],
    name: str = "telegram",
    settings: AdapterSettings | None = None,
    *,
    group: int = BOTKIT_GROUP,
) -> TelegramAdapter:
    """A botkit adapter that uses the host's bot and sees the host's updates."""
    adapter = TelegramAdapter(name, settings or AdapterSettings(), bot=application.bot)
    attach(application, adapter, group=group)
    return adapter
