"""The error type behind every ``{"ok": false, …}`` answer of the fake Bot API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TelegramAPIError"]

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class TelegramAPIError(Exception):
    """Raised by method handlers; becomes an error envelope with HTTP status = error_code."""

    def __init__(
        self,
        error_code: int,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.error_code = error_code
        self.description = description or default_description(error_code)
        self.parameters: dict[str, Any] = dict(parameters or {})
        super().__init__(f"{error_code}: {self.description}")

    def envelope(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def default_description(error_code: int, retry_after: int | None = None) -> str:
    """Telegram's usual description for ``error_code``."""
    if error_code == 429 and retry_after is not None:
        return f"Too Many Requests: retry after {retry_after}"
    return _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
