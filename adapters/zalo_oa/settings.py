"""`[adapters.zalo_oa]`: the OA's ids, its secrets by environment variable, the webhook.

```toml
[adapters.zalo_oa]
app_id = "1234567890123456789"        # the Zalo app linked to the OA
oa_id = "4318234567890123456"
oa_secret_key_env = "ZALO_OA_SECRET_KEY"   # checks the webhook's signature
app_secret_env = "ZALO_APP_SECRET"         # refreshes access tokens
refresh_token_env = "ZALO_OA_REFRESH_TOKEN"  # the first refresh token only
# data_dir = "var"                   # where later refresh tokens go; default: [bot] data_dir
webhook_listen = "127.0.0.1"
webhook_port = 8444
webhook_path = "/zalo-oa"
```

Refresh tokens are single-use: each refresh returns the next one, which is saved in
`<data_dir>/<name>.tokens.json` and wins over the variable from then on (the variable's token
is spent). Only a *different* token in the variable — the operator granted access again —
replaces the saved chain. `data_dir` defaults to the bot's (`botkit run` hands it to every
adapter, resolved against the config's folder); built by other means, to `[bot] data_dir`'s
default relative to the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.kit.settings import WebhookAddress, http_url, integer, number, secret, text
from botkit.config import AdapterSettings
from botkit.config.schema import BotSettings

DEFAULT_API = "https://openapi.zalo.me"
DEFAULT_OAUTH = "https://oauth.zaloapp.com"
DEFAULT_DATA_DIR = str(BotSettings.model_fields["data_dir"].default)
DEFAULT_PORT = 8444  # beside Telegram's 8443, so both can listen on one host
DEFAULT_PATH = "/zalo-oa"
# Zalo gives up on a webhook that has not answered within 2 s (a third-party guide; NOTES
# §3): the events must be stored and answered before that, or answered 503 and redelivered.
DEFAULT_DEADLINE = 1.5
MAX_EVENT_BYTES = 256 * 1024  # Zalo's events are a few hundred bytes; anything huge is junk


@dataclass(frozen=True, slots=True)
class ZaloOASettings:
    """Validated settings of one Zalo OA adapter; secrets never appear in its repr."""

    name: str
    app_id: str
    oa_id: str
    oa_secret_key: str = field(repr=False)
    app_secret: str = field(repr=False)
    refresh_token: str | None = field(repr=False)  # from the variable; None if unset
    refresh_token_env: str
    token_file: Path
    webhook: WebhookAddress
    api_base_url: str = DEFAULT_API
    oauth_base_url: str = DEFAULT_OAUTH
    webhook_deadline: float = DEFAULT_DEADLINE
    request_timeout: float = 10.0
    # Refresh this long before the access token expires (at most half its lifetime).
    refresh_margin: float = 600.0
    # After a failed refresh, sends fail at once for this long instead of asking Zalo again.
    refresh_retry: float = 10.0
    # Zalo's -32 (rate limited) carries no pause; this one is asked of the core.
    rate_limited_pause: float = 30.0
    # Zalo publishes no numeric rate limits (NOTES §5): conservative defaults, configurable.
    rate_per_second: int = 10
    rate_chat_per_second: int = 1
    max_text_chars: int = 16_384

    @classmethod
    def from_adapter(
        cls, name: str, settings: AdapterSettings, environ: Mapping[str, str] | None = None
    ) -> ZaloOASettings:
        env = os.environ if environ is None else environ
        key = f"adapters.{name}"
        data_dir = Path(str(settings.option("data_dir", DEFAULT_DATA_DIR)))
        token_file = data_dir / f"{name}.tokens.json"
        oa_secret_key = secret(
            settings,
            key,
            "oa_secret_key_env",
            "ZALO_OA_SECRET_KEY",
            env,
            what="the OA secret key (it checks the webhook's signatures)",
        )
        app_secret = secret(
            settings,
            key,
            "app_secret_env",
            "ZALO_APP_SECRET",
            env,
            what="the Zalo app's secret key (it refreshes access tokens)",
        )
        refresh_env = str(settings.option("refresh_token_env", "ZALO_OA_REFRESH_TOKEN"))
        # Required only while no token has been saved yet; `tokens.initial_pair` says so.
        refresh_token = secret(
            settings,
            key,
            "refresh_token_env",
            "ZALO_OA_REFRESH_TOKEN",
            env,
            what="the OA's first refresh token",
            required=False,
        )
        assert oa_secret_key is not None and app_secret is not None  # required above
        return cls(
            name=name,
            app_id=text(settings, key, "app_id"),
            oa_id=text(settings, key, "oa_id"),
            oa_secret_key=oa_secret_key,
            app_secret=app_secret,
            refresh_token=refresh_token,
            refresh_token_env=refresh_env,
            token_file=token_file,
            api_base_url=http_url(settings, key, "api_base_url", DEFAULT_API),
            oauth_base_url=http_url(settings, key, "oauth_base_url", DEFAULT_OAUTH),
            webhook=WebhookAddress.read(
                settings, key, default_port=DEFAULT_PORT, default_path=DEFAULT_PATH
            ),
            webhook_deadline=number(
                settings, key, "webhook_deadline_seconds", DEFAULT_DEADLINE, 0.1, 1.9
            ),
            request_timeout=number(settings, key, "request_timeout_seconds", 10.0, 0.1, 120),
            refresh_margin=number(settings, key, "refresh_margin_seconds", 600.0, 0, 86_400),
            refresh_retry=number(settings, key, "refresh_retry_seconds", 10.0, 0, 3600),
            rate_limited_pause=number(settings, key, "rate_limited_pause_seconds", 30.0, 0, 3600),
            rate_per_second=integer(settings, key, "rate_per_second", 10, 1, 1000),
            rate_chat_per_second=integer(settings, key, "rate_chat_per_second", 1, 0, 100),
            max_text_chars=integer(settings, key, "max_text_chars", 16_384, 256, 1_000_000),
        )
