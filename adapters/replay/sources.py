"""Read one or several histories, each file one group, merged in time order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.replay.errors import ReplayError
from adapters.replay.jsonl import read_jsonl
from adapters.replay.telegram_export import read_export
from botkit.domain import Message


def read_sources(paths: Sequence[Path], tz: ZoneInfo) -> tuple[list[Message], list[ReplayError]]:
    messages: list[Message] = []
    errors: list[ReplayError] = []
    for path in paths:
        if not path.exists():
            errors.append(ReplayError(str(path), "file", "no such file"))
            continue
        source = path / "result.json" if path.is_dir() else path
        reader = read_jsonl(source) if source.suffix == ".jsonl" else read_export(source, tz)
        for item in reader:
            (errors if isinstance(item, ReplayError) else messages).append(item)  # type: ignore[arg-type]
    messages.sort(key=lambda m: m.sent_at)
    return messages, errors
