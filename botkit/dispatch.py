"""Sends outbound actions to the adapter that owns a platform contact."""

from __future__ import annotations

import itertools
from typing import Protocol

from botkit.adapter import Adapter, Unsupported
from botkit.outbound import DeleteMessage, Outbound


class Dispatcher(Protocol):
    def has(self, adapter_name: str) -> bool: ...
    def can_delete(self, adapter_name: str) -> bool: ...
    async def send(self, adapter_name: str, action: Outbound) -> str | None: ...


class AdapterDispatcher:
    def __init__(self, adapters: dict[str, Adapter]) -> None:
        self.adapters = adapters

    def has(self, adapter_name: str) -> bool:
        return adapter_name in self.adapters

    def can_delete(self, adapter_name: str) -> bool:
        adapter = self.adapters.get(adapter_name)
        return adapter is not None and "delete" in adapter.capabilities

    async def send(self, adapter_name: str, action: Outbound) -> str | None:
        adapter = self.adapters.get(adapter_name)
        if adapter is None:
            raise Unsupported(f"adapter {adapter_name!r} is not running")
        if isinstance(action, DeleteMessage) and "delete" not in adapter.capabilities:
            raise Unsupported(f"adapter {adapter_name!r} cannot delete messages")
        return await adapter.send(action)


class DryRunDispatcher:
    """Sends nothing anywhere; remembers what it would have sent."""

    def __init__(self, names: list[str]) -> None:
        self.names = set(names)
        self.sent: list[tuple[str, Outbound]] = []
        self._ids = itertools.count(1)

    def has(self, adapter_name: str) -> bool:
        return adapter_name in self.names

    def can_delete(self, adapter_name: str) -> bool:
        return False

    async def send(self, adapter_name: str, action: Outbound) -> str | None:
        self.sent.append((adapter_name, action))
        return f"dry-{next(self._ids)}"
