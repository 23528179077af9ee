"""Text formatting the way the Bot API server does it: parse modes, entities, UTF-16 offsets.

Telegram measures entity offsets and lengths in UTF-16 code units, rejects malformed markup
with ``400 Bad Request: can't parse entities: …`` and auto-detects commands, mentions,
hashtags, URLs and e-mail addresses in plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "EntityParseError",
    "auto_entities",
    "parse_text",
    "strip_text",
    "utf16_len",
]

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """Markup that the server would refuse; the message follows Telegram's wording."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (emoji outside the BMP count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


# --------------------------------------------------------------------------- auto entities

_AUTO_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")),
    ("bot_command", re.compile(r"(?<![\w/@])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{5,32})?(?!\w)")),
    ("mention", re.compile(r"(?<![\w@])@[a-zA-Z0-9_]{5,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
)


def auto_entities(text: str, taken: list[Entity] | None = None) -> list[Entity]:
    """Entities Telegram detects on its own, skipping spans that overlap ``taken``."""
    found: list[tuple[int, int, str]] = []
    occupied = [(e["offset"], e["offset"] + e["length"]) for e in taken or []]
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < o_end and o_start < end for o_start, o_end in occupied):
                continue
            occupied.append((start, end))
            found.append((start, end - start, kind))
    found.sort()
    return [{"type": kind, "offset": off, "length": length} for off, length, kind in found]


# --------------------------------------------------------------------------- HTML

_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9-]*"
    r"(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*/?>"
)
_ATTR_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_HTML_ENTITY_RE = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")

_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


def _html_entity(tag: str, attrs: dict[str, str]) -> Entity | None:
    """Entity for an opening tag, or None when the tag is not one Telegram supports."""
    if tag in _HTML_SIMPLE:
        return {"type": _HTML_SIMPLE[tag]}
    if tag == "span":
        return {"type": "spoiler"} if attrs.get("class") == "tg-spoiler" else None
    if tag == "a":
        href = attrs.get("href", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            return {"type": "text_mention", "user": {"id": int(user.group(1))}}
        return {"type": "text_link", "url": href}
    if tag == "blockquote":
        kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
        return {"type": kind}
    if tag == "tg-emoji":
        return {"type": "custom_emoji", "custom_emoji_id": attrs.get("emoji-id", "")}
    return None


def _parse_html(source: str) -> tuple[str, list[Entity]]:
    out: list[str] = []
    out_len = 0  # UTF-16 length of the text produced so far
    stack: list[tuple[str, Entity, int]] = []
    entities: list[Entity] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "<":
            match = _TAG_RE.match(source, pos)
            if match is None:
                raise EntityParseError(
                    f"Unsupported start tag at byte offset {_byte_offset(source, pos)}"
                )
            closing, tag = match.group(1) == "/", match.group(2).lower()
            if closing:
                if not stack:
                    raise EntityParseError(
                        f"Unexpected end tag at byte offset {_byte_offset(source, pos)}"
                    )
                open_tag, entity, start = stack.pop()
                if open_tag != tag:
                    raise EntityParseError(
                        f"Unmatched end tag at byte offset {_byte_offset(source, pos)}, "
                        f'expected "</{open_tag}>", found "</{tag}>"'
                    )
                if out_len > start:
                    entity.update(offset=start, length=out_len - start)
                    entities.append(entity)
            else:
                attrs = {
                    name.lower(): html.unescape(value.strip("\"'")) if value else ""
                    for name, value in _ATTR_RE.findall(match.group(3))
                }
                found = _html_entity(tag, attrs)
                if found is None:
                    raise EntityParseError(
                        f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, pos)}'
                    )
                if tag == "code" and stack and stack[-1][0] == "pre" and "class" in attrs:
                    # <pre><code class="language-x"> sets the language of the enclosing pre
                    stack[-1][1]["language"] = attrs["class"].removeprefix("language-")
                    found = {"type": "_merged"}
                stack.append((tag, found, out_len))
            pos = match.end()
            continue
        if char == "&":
            match = _HTML_ENTITY_RE.match(source, pos)
            if match is not None:
                decoded = html.unescape(match.group(0))
                out.append(decoded)
                out_len += utf16_len(decoded)
                pos = match.end()
                continue
        out.append(char)
        out_len += utf16_len(char)
        pos += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities = [e for e in entities if e["type"] != "_merged"]
    return "".join(out), entities


# --------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
}
_MDV2_MARKERS = (
    ("__", "underline"),
    ("||", "spoiler"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
)


class _Builder:
    """Accumulates output text and tracks its UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _read_until(source: str, pos: int, terminator: str) -> tuple[str, int] | None:
    """Read to an unescaped ``terminator``; return (content, index after it) or None."""
    chunk: list[str] = []
    while pos < len(source):
        # any character 1..126 may be escaped, everywhere
        if source[pos] == "\\" and pos + 1 < len(source) and 0 < ord(source[pos + 1]) < 127:
            chunk.append(source[pos + 1])
            pos += 2
            continue
        if source.startswith(terminator, pos):
            return "".join(chunk), pos + len(terminator)
        chunk.append(source[pos])
        pos += 1
    return None


def _parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (entity type, output offset, source index)
    entities: list[Entity] = []
    quote_start: int | None = None
    pos = 0

    def fail_unclosed(kind: str, index: int) -> EntityParseError:
        return EntityParseError(
            f"Can't find end of {_MDV2_NAMES.get(kind, kind)} entity at byte offset "
            f"{_byte_offset(source, index)}"
        )

    while pos < len(source):
        char = source[pos]
        line_start = pos == 0 or source[pos - 1] == "\n"
        if char == "\\":
            if pos + 1 < len(source) and 0 < ord(source[pos + 1]) < 127:
                out.add(source[pos + 1])
                pos += 2
                continue
            raise EntityParseError(
                "Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if char == "\n" and quote_start is not None and not source.startswith(">", pos + 1):
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": out.length - quote_start}
            )
            quote_start = None
        if char == ">" and line_start:
            if quote_start is None:
                quote_start = out.length
            pos += 1
            continue
        if char == "`":
            is_pre = source.startswith("```", pos)
            read = _read_until(source, pos + (3 if is_pre else 1), "```" if is_pre else "`")
            if read is None:
                raise fail_unclosed("pre" if is_pre else "code", pos)
            content, pos_after = read
            entity: Entity = {"type": "pre" if is_pre else "code"}
            if is_pre:
                first, sep, rest = content.partition("\n")
                if sep and first and re.fullmatch(r"[\w+#.-]+", first):
                    entity["language"] = first
                    content = rest
            if content:
                entity.update(offset=out.length, length=utf16_len(content))
                entities.append(entity)
                out.add(content)
            pos = pos_after
            continue
        if char == "[" or (char == "!" and source.startswith("![", pos)):
            stack.append(("text_link", out.length, pos))
            pos += 2 if char == "!" else 1
            continue
        if char == "]":
            if not stack or stack[-1][0] != "text_link":
                raise EntityParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            _, start, src_index = stack.pop()
            if not source.startswith("(", pos + 1):
                raise EntityParseError(
                    f"Can't find end of TextUrl entity at byte offset "
                    f"{_byte_offset(source, src_index)}"
                )
            read = _read_until(source, pos + 2, ")")
            if read is None:
                raise fail_unclosed("text_link", src_index)
            url, pos = read
            if out.length > start:
                if source[src_index] == "!":
                    emoji_id = url.removeprefix("tg://emoji?id=")
                    entities.append(
                        {
                            "type": "custom_emoji",
                            "offset": start,
                            "length": out.length - start,
                            "custom_emoji_id": emoji_id,
                        }
                    )
                else:
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": start,
                            "length": out.length - start,
                            "url": url,
                        }
                    )
            continue
        marker = next(((m, k) for m, k in _MDV2_MARKERS if source.startswith(m, pos)), None)
        if marker is not None:
            token, kind = marker
            if (
                token == "__"
                and any(k == "italic" for k, _, _ in stack)
                and not any(k == "underline" for k, _, _ in stack)
            ):
                # inside italic, "__" closes italic and reopens it rather than underline
                token, kind = "_", "italic"
            open_kinds = [k for k, _, _ in stack]
            if kind in open_kinds:
                if open_kinds[-1] != kind:
                    top = stack[-1]
                    raise fail_unclosed(top[0], top[2])
                _, start, _ = stack.pop()
                if out.length > start:
                    entities.append({"type": kind, "offset": start, "length": out.length - start})
            else:
                stack.append((kind, out.length, pos))
            pos += len(token)
            continue
        if char in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.add(char)
        pos += 1
    if stack:
        kind, _, src_index = stack[-1]
        raise fail_unclosed(kind, src_index)
    if quote_start is not None and out.length > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": out.length - quote_start}
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


# --------------------------------------------------------------------------- legacy Markdown

_MD_MARKERS = (("```", "pre"), ("*", "bold"), ("_", "italic"), ("`", "code"))


def _parse_markdown(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    entities: list[Entity] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "\\" and pos + 1 < len(source) and source[pos + 1] in "_*`[":
            out.add(source[pos + 1])
            pos += 2
            continue
        marker = next(((m, k) for m, k in _MD_MARKERS if source.startswith(m, pos)), None)
        if marker is not None:
            token, kind = marker
            end = source.find(token, pos + len(token))
            if end < 0:
                raise EntityParseError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(source, pos)}"
                )
            content = source[pos + len(token) : end]
            if content:
                entities.append({"type": kind, "offset": out.length, "length": utf16_len(content)})
                out.add(content)
            pos = end + len(token)
            continue
        if char == "[":
            close = source.find("](", pos)
            end = source.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                raise EntityParseError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(source, pos)}"
                )
            label = source[pos + 1 : close]
            if label:
                entities.append(
                    {
                        "type": "text_link",
                        "offset": out.length,
                        "length": utf16_len(label),
                        "url": source[close + 2 : end],
                    }
                )
                out.add(label)
            pos = end + 1
            continue
        out.add(char)
        pos += 1
    return out.text(), entities


_PARSERS: dict[str, Callable[[str], tuple[str, list[Entity]]]] = {
    "html": _parse_html,
    "markdownv2": _parse_markdown_v2,
    "markdown": _parse_markdown,
}


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (HTML, MarkdownV2, Markdown or None) to ``text``.

    Raises ``EntityParseError`` for markup the server rejects and ``KeyError`` for an
    unknown parse mode.
    """
    if not parse_mode:
        return text, []
    return _PARSERS[parse_mode.lower()](text)


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result
