"""Facebook Messenger for a Page: residents' private messages and officers' alerts.

No group moderation: Facebook removed the Groups API in April 2024, so no bot can read a
Facebook group. A resident's message to the Page is a report; officers receive alerts with
postback buttons and answer with them or with typed commands (`/ack 12`)::

    [adapters.messenger]
    page_id = "1000000000001"                        # Page settings → About → Page ID
    page_token_env = "BOTKIT_MESSENGER_PAGE_TOKEN"   # a Page access token (pages_messaging)
    app_secret_env = "BOTKIT_MESSENGER_APP_SECRET"   # the Meta app's secret: signs posts
    verify_token_env = "BOTKIT_MESSENGER_VERIFY_TOKEN"  # typed into the app's webhook form
    webhook_listen = "127.0.0.1"                     # behind the HTTPS proxy Meta posts to
    webhook_port = 8443
    webhook_path = "/messenger"
    # api_base_url = "https://graph.facebook.com", api_version = "v25.0",
    # webhook_deadline_seconds = 10, request_timeout_seconds = 15, calls_per_second = 300

Officers list their page-scoped id (PSID) as `contacts = { messenger = "…" }`. Messenger
lets a Page write to someone only within 24 hours of their last message to it: an officer
who has not written for a day is skipped for their next contact.
"""

from __future__ import annotations

from adapters.messenger.adapter import MessengerAdapter

__all__ = ["MessengerAdapter"]
