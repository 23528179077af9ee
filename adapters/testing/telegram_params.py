"""Request parameter decoding for the fake Bot API: query string, form, multipart and JSON.

The real server types every parameter by name, so the same call arrives as the same typed
values whichever encoding the client picked: form values are strings, JSON-typed ones
(``reply_markup``, ``allowed_updates``…) arrive as JSON text, and multipart uploads may be
referenced from other fields as ``attach://<name>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.testing.telegram_errors import TelegramAPIError

__all__ = ["UploadedFile", "coerce_params", "read_params"]

_INT_PARAMS = frozenset(
    {
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "until_date",
        "max_connections",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "sender_chat_id",
        "from_message_id",
        "width",
        "height",
        "duration",
        "direct_messages_topic_id",
    }
)
_CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "show_alert",
        "revoke_messages",
        "only_if_banned",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "use_independent_chat_permissions",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "return_bots",
        "disable_content_type_detection",
        "is_anonymous",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "reply_parameters",
        "entities",
        "caption_entities",
        "link_preview_options",
        "commands",
        "scope",
        "permissions",
        "media",
        "message_ids",
        "suggested_post_parameters",
    }
)
# Free text is never JSON-decoded, even when it happens to look like JSON.
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "description",
        "short_description",
        "title",
        "query",
        "data",
        "url",
        "secret_token",
        "name",
        "parse_mode",
        "action",
        "custom_title",
        "language_code",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "emoji",
        "question",
    }
)
_INT_RE = re.compile(r"-?\d+")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


def _bad(description: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {description}")


def _coerce(name: str, value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return value
    if name in _CHAT_ID_PARAMS:
        if isinstance(value, bool):
            raise _bad(f"{name} is invalid")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if _INT_RE.fullmatch(text):
            return int(text)
        return text
    if name in _INT_PARAMS:
        if isinstance(value, bool):
            raise _bad(f"wrong parameter {name}: integer expected")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value.strip())
        raise _bad(f"wrong parameter {name}: integer expected, got {value!r}")
    if name in _BOOL_PARAMS:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _bad(f"wrong parameter {name}: boolean expected, got {value!r}")
    if isinstance(value, str) and name not in _TEXT_PARAMS:
        stripped = value.strip()
        looks_json = stripped[:1] in ("{", "[")
        if name in _JSON_PARAMS or looks_json:
            try:
                return json.loads(stripped)
            except ValueError:
                if name in _JSON_PARAMS:
                    raise _bad(f"can't parse {name} JSON object") from None
    return value


def coerce_params(raw: Mapping[str, Any], files: Mapping[str, UploadedFile]) -> dict[str, Any]:
    """Type ``raw`` parameters by name and resolve ``attach://`` references to ``files``."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str) and value.startswith("attach://"):
            attached = files.get(value.removeprefix("attach://"))
            if attached is not None:
                params[name] = attached
                continue
        params[name] = _coerce(name, value)
    for name, upload in files.items():
        # files referenced via attach:// stay out of params under their random part name
        if name not in params and not any(v is upload for v in params.values()):
            params[name] = upload
    return params


async def read_params(request: web.Request) -> tuple[dict[str, Any], str]:
    """Decode all parameters of ``request``; returns (params, content type)."""
    content_type = request.content_type if request.can_read_body else ""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # post() consumes the payload stream itself, so the body must not be read first
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = UploadedFile(
                    field=name,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            elif isinstance(value, bytes | bytearray):
                raw[name] = bytes(value).decode("utf-8")
            else:
                raw[name] = value
        return coerce_params(raw, files), content_type
    body = await request.read()
    if not body:
        pass  # PTB sends parameterless calls as an empty POST without a Content-Type
    elif content_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise _bad("can't parse JSON encoded request body") from None
        if not isinstance(decoded, dict):
            raise _bad("JSON request body must be an object")
        raw.update(decoded)
    else:
        # a body without a usable Content-Type: try JSON before giving up
        try:
            decoded = json.loads(body)
        except ValueError:
            raise _bad(f"unsupported request Content-Type {content_type!r}") from None
        if isinstance(decoded, dict):
            raw.update(decoded)
    return coerce_params(raw, files), content_type
