"""Cutting texts to a platform's limits: at line ends where possible, never mid-character.

Platforms count differently (Telegram in UTF-16 code units, Zalo and Messenger in
characters), so the measure is a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Measure = Callable[[str], int]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _width_utf16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _width_chars(ch: str) -> int:
    return 1


def clip(text: str, limit: int) -> tuple[str, bool]:
    """Text cut to `limit` characters; True when it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Pieces of at most `limit` units (characters, or UTF-16 units), cut at line ends
    where possible."""
    measure: Measure = utf16_len if utf16 else len
    if measure(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        for chunk in _hard_split(line, limit, utf16=utf16):
            if current and measure(current) + measure(chunk) > limit:
                pieces.append(current)
                current = ""
            current += chunk
    if current:
        pieces.append(current)
    return pieces


def _hard_split(text: str, limit: int, *, utf16: bool) -> Iterator[str]:
    width = _width_utf16 if utf16 else _width_chars
    start = 0
    units = 0
    for i, ch in enumerate(text):
        w = width(ch)
        if units + w > limit:
            yield text[start:i]
            start, units = i, 0
        units += w
    if start < len(text):
        yield text[start:]


def truncate(text: str, limit: int, *, utf16: bool = False) -> str:
    """Text cut to `limit` units, with an ellipsis when cut."""
    measure: Measure = utf16_len if utf16 else len
    if measure(text) <= limit:
        return text
    return next(_hard_split(text, limit - 1, utf16=utf16)) + "…"
