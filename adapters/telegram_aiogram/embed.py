"""botkit inside an existing aiogram Dispatcher.

The host keeps its Dispatcher, its polling or webhook, its event loop and its signals;
botkit adds an outer update middleware and a router, ahead of the host's routers::

    dp = Dispatcher()
    adapter = embed(dp, bot, "telegram", settings)      # before dp.include_router(host_router)
    dp.include_router(host_router)

    async def main():
        adapters = {"telegram": adapter}
        core = await App.build(config, base_dir, dispatcher=AdapterDispatcher(adapters))
        botkit_task = asyncio.create_task(serve(core, adapters))
        await dp.start_polling(bot, allowed_updates=allowed_updates(dp))
        await adapter.close()       # serve() then finishes what it accepted
        await botkit_task

`serve` is `botkit.runtime.serve`. The host's Dispatcher confirms updates to Telegram when
it fetched them, before botkit stored them: an embedded botkit cannot promise that nothing
is lost in a crash, as `botkit run` (which polls itself) does.

Group messages reach the host's handlers as before; botkit's own updates (its buttons,
`/setup`, officers' commands in private chats) stop at botkit's middleware. botkit sends
through the host's bot; add `RetryAfterMiddleware` and `RateLimitMiddleware` to
`bot.session` if the host has no flood control of its own.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from adapters.telegram_aiogram.adapter import AiogramAdapter
from adapters.telegram_aiogram.limits import RateLimitMiddleware, RetryAfterMiddleware
from adapters.telegram_aiogram.routing import BotkitUpdateMiddleware, attach, botkit_router
from adapters.telegram_common.common import ALLOWED_UPDATES
from botkit.config import AdapterSettings

__all__ = [
    "BotkitUpdateMiddleware",
    "RateLimitMiddleware",
    "RetryAfterMiddleware",
    "allowed_updates",
    "attach",
    "botkit_router",
    "embed",
]


def embed(
    dispatcher: Dispatcher,
    bot: Bot,
    name: str = "telegram",
    settings: AdapterSettings | None = None,
) -> AiogramAdapter:
    """A botkit adapter that uses the host's bot and sees the host's updates."""
    adapter = AiogramAdapter(name, settings or AdapterSettings(), bot=bot)
    attach(dispatcher, adapter)
    return adapter


def allowed_updates(dispatcher: Dispatcher) -> list[str]:
    """The host's update kinds plus the ones botkit reads."""
    return sorted(set(dispatcher.resolve_used_update_types()) | set(ALLOWED_UPDATES))
