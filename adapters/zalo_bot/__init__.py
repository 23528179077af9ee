"""Zalo Bot Platform (bot-api.zaloplatforms.com): alerts to officers, their typed commands
and residents' direct messages, by long polling or webhook, on aiohttp.

```toml
[adapters.zalo_bot]
token_env = "BOTKIT_ZALO_BOT_TOKEN"                 # '<bot_id>:<secret>' from Zalo Bot Creator
api_base_url = "https://bot-api.zaloplatforms.com"  # or a test emulator
mode = "polling"                 # or "webhook" with webhook_url, webhook_secret_env
                                 # (8-256 characters), webhook_listen, webhook_port, webhook_path
poll_timeout = 30
rate_per_second = 5              # Zalo publishes no limits: conservative defaults
rate_chat_per_second = 1
```

Officers add `contacts = { zalo_bot = "<their user id as this bot sees it>" }` and must have
written to the bot once. The bot cannot join groups: residents' groups stay on another
adapter.
"""

from __future__ import annotations

from adapters.zalo_bot.adapter import ZaloBotAdapter

__all__ = ["ZaloBotAdapter"]
