"""The inbound queue port and its backends (memory now; Redis Streams later)."""

from botkit.queue.base import InboundQueue
from botkit.queue.memory import MemoryQueue

__all__ = ["InboundQueue", "MemoryQueue"]
