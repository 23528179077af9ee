"""Reading `[adapters.<name>]`: secrets by environment variable, numbers within bounds,
URLs that a test can point at an emulator, the webhook's address. Every error names the
option."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from botkit.config import AdapterSettings, ConfigError

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class AdapterConfigError(ConfigError):
    """An `[adapters.<name>]` setting is missing or wrong; the message names it."""


def env_name(value: object, key: str, option: str) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        # The value is not repeated: it may be a token pasted where its variable's name goes.
        raise AdapterConfigError(
            f"{key}.{option}: must name an environment variable (A-Z, 0-9, _), not hold a secret"
        )
    return value


def secret(
    settings: AdapterSettings,
    key: str,
    option: str,
    default_env: str | None,
    env: Mapping[str, str],
    *,
    what: str,
    required: bool = True,
) -> str | None:
    """The value of the environment variable named by `option` (or `default_env`)."""
    raw = settings.option(option, default_env)
    if raw is None:
        if required:
            raise AdapterConfigError(
                f"{key}.{option} is required: name the variable holding {what}"
            )
        return None
    name = env_name(raw, key, option)
    value = env.get(name, "").strip()
    if not value and required:
        raise AdapterConfigError(
            f"{key}.{option}: environment variable {name} is not set; put {what} in it"
        )
    return value or None


def number(
    settings: AdapterSettings, key: str, option: str, default: float, low: float, high: float
) -> float:
    raw = settings.option(option, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise AdapterConfigError(f"{key}.{option} = {raw!r}: not a number")
    try:
        value = float(raw)
    except ValueError:
        raise AdapterConfigError(f"{key}.{option} = {raw!r}: not a number") from None
    if not low <= value <= high:
        raise AdapterConfigError(f"{key}.{option} = {raw!r}: must be between {low} and {high}")
    return value


def integer(
    settings: AdapterSettings, key: str, option: str, default: int, low: int, high: int
) -> int:
    value = number(settings, key, option, default, low, high)
    if value != int(value):
        raise AdapterConfigError(f"{key}.{option} = {value!r}: must be a whole number")
    return int(value)


def http_url(settings: AdapterSettings, key: str, option: str, default: str) -> str:
    base = str(settings.option(option, default)).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise AdapterConfigError(f"{key}.{option} = {base!r}: must be an http(s) URL")
    return base


def text(settings: AdapterSettings, key: str, option: str, default: str | None = None) -> str:
    raw = settings.option(option, default)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise AdapterConfigError(f"{key}.{option} is required")
    if not isinstance(raw, str | int):
        raise AdapterConfigError(f"{key}.{option} = {raw!r}: must be a string")
    return str(raw).strip()


@dataclass(frozen=True, slots=True)
class WebhookAddress:
    """Where botkit listens for a platform's posts (`webhook_listen/port/path`)."""

    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "/"

    @classmethod
    def read(
        cls, settings: AdapterSettings, key: str, *, default_port: int, default_path: str
    ) -> WebhookAddress:
        path = str(settings.option("webhook_path", default_path))
        if not path.startswith("/"):
            path = "/" + path
        return cls(
            listen=str(settings.option("webhook_listen", "127.0.0.1")),
            port=integer(settings, key, "webhook_port", default_port, 0, 65535),
            path=path,
        )
