"""`[adapters.zalo_bot]`: the token by environment variable, polling or webhook, send rates.

Zalo publishes no rate limits for the Bot Platform, so the send rates are conservative
defaults an operator can change (`rate_per_second` for the bot, `rate_chat_per_second` for one
officer's chat), not Zalo's figures.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from adapters.kit.settings import (
    AdapterConfigError,
    WebhookAddress,
    env_name,
    http_url,
    integer,
    number,
    secret,
    text,
)
from botkit.config import AdapterSettings

DEFAULT_API = "https://bot-api.zaloplatforms.com"
DEFAULT_TOKEN_ENV = "BOTKIT_ZALO_BOT_TOKEN"
# Zalo's rule for setWebhook's secret_token: 8 to 256 characters. It travels in a header, so
# it must be printable ASCII without spaces.
_SECRET = re.compile(r"^[\x21-\x7e]{8,256}$")

DEFAULT_WEBHOOK = WebhookAddress(port=8443, path="/zalo-bot")

Mode = Literal["polling", "webhook"]


@dataclass(frozen=True, slots=True)
class ZaloBotSettings:
    """Validated settings of one Zalo Bot adapter. Secrets stay out of `repr` (and logs)."""

    name: str
    token: str = field(repr=False)
    api_base_url: str = DEFAULT_API
    mode: Mode = "polling"
    webhook: WebhookAddress = field(default_factory=lambda: DEFAULT_WEBHOOK)
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    poll_timeout: int = 30  # Zalo's default long poll, in seconds
    request_timeout: float = 15.0
    rate_per_second: float = 5.0
    rate_chat_per_second: float = 1.0
    max_text_chars: int = 16_384

    @property
    def bot_id(self) -> str:
        """The bot id part of the token (`<bot_id>:<secret>`): safe to log, unlike the token."""
        return self.token.split(":", 1)[0]

    @classmethod
    def from_adapter(
        cls, name: str, settings: AdapterSettings, environ: Mapping[str, str] | None = None
    ) -> ZaloBotSettings:
        env = os.environ if environ is None else environ
        key = f"adapters.{name}"
        token = secret(
            settings, key, "token_env", DEFAULT_TOKEN_ENV, env, what="the Zalo bot token"
        )
        assert token is not None  # required: `secret` raised otherwise
        if not re.fullmatch(r"[^:\s]+:\S+", token):
            variable = env_name(settings.option("token_env", DEFAULT_TOKEN_ENV), key, "token_env")
            raise AdapterConfigError(
                f"{key}.token_env: {variable} does not hold a Zalo bot token "
                "(expected '<bot_id>:<secret>' from Zalo Bot Creator)"
            )
        mode = settings.option("mode", "polling")
        if mode not in ("polling", "webhook"):
            raise AdapterConfigError(f"{key}.mode = {mode!r}: must be 'polling' or 'webhook'")
        webhook_url: str | None = None
        webhook_secret: str | None = None
        if mode == "webhook":
            webhook_url = _webhook_url(settings, key)
            webhook_secret = secret(
                settings,
                key,
                "webhook_secret_env",
                None,
                env,
                what="the webhook's secret token (8-256 characters), so that forged posts "
                "are refused",
            )
            if webhook_secret is None or not _SECRET.match(webhook_secret):
                variable = settings.option("webhook_secret_env")
                raise AdapterConfigError(
                    f"{key}.webhook_secret_env: {variable} must hold 8-256 printable "
                    "characters without spaces (Zalo's rule for secret_token)"
                )
        return cls(
            name=name,
            token=token,
            api_base_url=http_url(settings, key, "api_base_url", DEFAULT_API),
            mode=mode,
            webhook=WebhookAddress.read(
                settings,
                key,
                default_port=DEFAULT_WEBHOOK.port,
                default_path=DEFAULT_WEBHOOK.path,
            ),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            poll_timeout=integer(settings, key, "poll_timeout", 30, 1, 60),
            request_timeout=number(settings, key, "request_timeout", 15.0, 1, 120),
            rate_per_second=number(settings, key, "rate_per_second", 5.0, 0, 1000),
            rate_chat_per_second=number(settings, key, "rate_chat_per_second", 1.0, 0, 100),
            max_text_chars=integer(settings, key, "max_text_chars", 16_384, 256, 1_000_000),
        )


def _webhook_url(settings: AdapterSettings, key: str) -> str:
    if settings.option("webhook_url") is None:
        raise AdapterConfigError(
            f"{key}.webhook_url is required in webhook mode (the public HTTPS address Zalo "
            "posts to)"
        )
    url = text(settings, key, "webhook_url")
    if not url.startswith(("http://", "https://")):
        # Zalo wants HTTPS; plain http is allowed only so that tests can use loopback.
        raise AdapterConfigError(f"{key}.webhook_url = {url!r}: must be an http(s) URL")
    return url
