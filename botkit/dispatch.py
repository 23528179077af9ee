"""Sends outbound actions to the adapter that owns a platform contact."""

from __future__ import annotations

import itertools
import logging
from typing import Protocol

from botkit.adapter import Adapter, DeliveryError, Unsupported
from botkit.outbound import DeleteMessage, EditText, Outbound
from botkit.pacing import LocalRateGate, RateGate, RateLimited, paced

log = logging.getLogger(__name__)

# The longest a send waits for room under a platform's rate limits before it is retried
# later instead (well inside the sender's lease on the work).
PACE_MAX_SECONDS = 10.0


class Dispatcher(Protocol):
    def has(self, adapter_name: str) -> bool: ...
    def can_delete(self, adapter_name: str) -> bool: ...
    def can_edit(self, adapter_name: str) -> bool: ...
    async def ready(self, adapter_name: str, action: Outbound) -> None:
        """Wait for room under the platform's rate limits (`DeliveryError` with
        `retry_after` if there is none soon)."""
        ...

    async def send(self, adapter_name: str, action: Outbound) -> str | None: ...
    async def prepare(self) -> None: ...


class AdapterDispatcher:
    def __init__(self, adapters: dict[str, Adapter], gate: RateGate | None = None) -> None:
        self.adapters = adapters
        # The store's gate (set when the app opens its store): shared by a whole fleet.
        self.gate: RateGate = gate or LocalRateGate()

    def has(self, adapter_name: str) -> bool:
        return adapter_name in self.adapters

    async def prepare(self) -> None:
        """Every adapter's send side made ready; one that cannot be is left for its first
        send to report (the platform may be back by then)."""
        for name, adapter in self.adapters.items():
            try:
                await adapter.prepare_sending()
            except Exception as exc:
                log.warning("adapters.%s: not ready to send yet: %s", name, exc)

    def can_delete(self, adapter_name: str) -> bool:
        adapter = self.adapters.get(adapter_name)
        return adapter is not None and "delete" in adapter.capabilities

    def can_edit(self, adapter_name: str) -> bool:
        adapter = self.adapters.get(adapter_name)
        return adapter is not None and "edit" in adapter.capabilities

    async def ready(self, adapter_name: str, action: Outbound) -> None:
        adapter = self.adapters.get(adapter_name)
        if adapter is None:
            return  # `send` says why
        try:
            await paced(self.gate, adapter.send_limits(action), PACE_MAX_SECONDS)
        except RateLimited as exc:
            raise DeliveryError(str(exc), retry_after=exc.retry_after) from exc

    async def fetch_photo(self, adapter_name: str, ref: str, max_bytes: int) -> bytes:
        adapter = self.adapters.get(adapter_name)
        if adapter is None:
            raise Unsupported(f"adapter {adapter_name!r} is not running")
        return await adapter.fetch_photo(ref, max_bytes)

    async def send(self, adapter_name: str, action: Outbound) -> str | None:
        adapter = self.adapters.get(adapter_name)
        if adapter is None:
            raise Unsupported(f"adapter {adapter_name!r} is not running")
        if isinstance(action, DeleteMessage) and "delete" not in adapter.capabilities:
            raise Unsupported(f"adapter {adapter_name!r} cannot delete messages")
        if isinstance(action, EditText) and "edit" not in adapter.capabilities:
            raise Unsupported(f"adapter {adapter_name!r} cannot edit messages")
        return await adapter.send(action)


class DryRunDispatcher:
    """Sends nothing anywhere; remembers what it would have sent."""

    def __init__(self, names: list[str]) -> None:
        self.names = set(names)
        self.sent: list[tuple[str, Outbound]] = []
        self._ids = itertools.count(1)

    async def prepare(self) -> None:
        return None

    def has(self, adapter_name: str) -> bool:
        return adapter_name in self.names

    def can_delete(self, adapter_name: str) -> bool:
        return False

    def can_edit(self, adapter_name: str) -> bool:
        return True

    async def ready(self, adapter_name: str, action: Outbound) -> None:
        return None

    async def send(self, adapter_name: str, action: Outbound) -> str | None:
        self.sent.append((adapter_name, action))
        return f"dry-{next(self._ids)}"
