"""The Redis backend: one shared state for many botkit processes on many machines."""

from botkit.storage.redis.store import RedisStore, RedisTransaction

__all__ = ["RedisStore", "RedisTransaction"]
