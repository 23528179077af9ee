"""Adapters are wired in by name: entry points in group `botkit.adapters`, or `module:Class`."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from botkit.adapter import Adapter
from botkit.domain import Message

GROUP = "botkit.adapters"


class UnknownAdapter(LookupError):
    pass


REPLAY_GROUP = "botkit.replay_readers"


class HistoryReader(Protocol):
    """Reads chat histories (files) into core messages and per-position errors."""

    def __call__(self, paths: Sequence[Path], tz: ZoneInfo) -> tuple[list[Message], list[Any]]: ...


def replay_reader(name: str = "files") -> HistoryReader:
    """The history reader registered under `name` (the replay adapter ships `files`)."""
    found = [ep for ep in entry_points(group=REPLAY_GROUP) if ep.name == name]
    if not found:
        raise UnknownAdapter(
            f"no replay reader {name!r} is installed (entry point group {REPLAY_GROUP})"
        )
    reader: HistoryReader = found[0].load()
    return reader


def available() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def adapter_class(name: str, target: str | None = None) -> type[Adapter]:
    """Find the adapter class for a config name (or an explicit `module:Class`)."""
    if target is None:
        found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
        if not found:
            raise UnknownAdapter(
                f"adapters.{name}: no adapter of that name; available: {', '.join(available())}"
            )
        cls = found[0].load()
    else:
        module_name, _, attr = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownAdapter(f"adapters.{name}.class = {target!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UnknownAdapter(f"adapters.{name}: {cls!r} is not a botkit Adapter")
    return cls
