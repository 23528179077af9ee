"""botkit in an aiogram Dispatcher: an outer update middleware and a router.

The middleware sees every update first: it hands group messages, membership changes and
button presses to botkit, lets the host's handlers have the update afterwards, and swallows
botkit's own updates (its buttons, `/setup`, officers' commands in private chats).

The router declares the update kinds botkit reads, so that aiogram's automatic
`allowed_updates` asks Telegram for them even when the host has no handler of that kind.
Its handlers pass every update on (`SkipHandler`) to the host's routers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware, Dispatcher, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import TelegramObject, Update

if TYPE_CHECKING:
    from adapters.telegram_aiogram.adapter import AiogramAdapter

ROUTER_NAME = "botkit"


class BotkitUpdateMiddleware(BaseMiddleware):
    """Outer middleware on `dp.update`: botkit reads the update, then the host does."""

    def __init__(self, adapter: AiogramAdapter) -> None:
        self.adapter = adapter

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            converted = await self.adapter.handle_update(event)
            if converted.owned:
                return None  # botkit's command or button: not the host's
        return await handler(event, data)


async def _pass_on(event: TelegramObject) -> None:
    raise SkipHandler


def botkit_router() -> Router:
    """Handlers for the update kinds botkit reads; each passes the update on."""
    router = Router(name=ROUTER_NAME)
    router.message.register(_pass_on)
    router.edited_message.register(_pass_on)
    router.my_chat_member.register(_pass_on)
    router.callback_query.register(_pass_on)
    return router


def attach(dispatcher: Dispatcher, adapter: AiogramAdapter) -> Router:
    """Install botkit's middleware and router; call before including the host's routers."""
    dispatcher.update.outer_middleware(BotkitUpdateMiddleware(adapter))
    router = botkit_router()
    dispatcher.include_router(router)
    return router
