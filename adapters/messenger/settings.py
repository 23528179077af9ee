"""`[adapters.<name>]` of a Messenger Page: who the Page is, its secrets (by variable name
only), the Graph API's address and version, and where botkit listens for Meta's posts."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

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

DEFAULT_API = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"
DEFAULT_PAGE_TOKEN_ENV = "BOTKIT_MESSENGER_PAGE_TOKEN"
DEFAULT_APP_SECRET_ENV = "BOTKIT_MESSENGER_APP_SECRET"
DEFAULT_VERIFY_TOKEN_ENV = "BOTKIT_MESSENGER_VERIFY_TOKEN"
PATH = "/messenger"
# The Send API allows 300 calls/s per Page for text (Meta's docs, March 2026).
SEND_CALLS_PER_SECOND = 300

_PAGE_ID = re.compile(r"^[0-9]{1,32}$")
_VERSION = re.compile(r"^v[0-9]{1,3}\.[0-9]{1,2}$")


@dataclass(frozen=True, slots=True)
class MessengerSettings:
    """Validated settings of one Messenger Page adapter. Secrets stay out of `repr`."""

    name: str
    page_id: str
    page_token_env: str  # named in errors about the token, never its value
    page_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    webhook: WebhookAddress
    api_base_url: str
    api_version: str
    # Meta's deadline for answering a post is not documented (NOTES §5.3); past this botkit
    # answers 503 and Meta delivers again, which the core recognises by the event ids.
    webhook_deadline_seconds: float
    request_timeout_seconds: float  # one Graph API call, connecting included
    calls_per_second: int
    max_text_chars: int  # of a resident's message kept for the classifier

    @property
    def key(self) -> str:
        return f"adapters.{self.name}"

    @property
    def messages_url(self) -> str:
        return f"{self.api_base_url}/{self.api_version}/{self.page_id}/messages"

    @property
    def page_url(self) -> str:
        return f"{self.api_base_url}/{self.api_version}/me"

    @classmethod
    def from_adapter(
        cls, name: str, settings: AdapterSettings, environ: Mapping[str, str] | None = None
    ) -> MessengerSettings:
        env = os.environ if environ is None else environ
        key = f"adapters.{name}"
        page_id = text(settings, key, "page_id")
        if not _PAGE_ID.match(page_id):
            raise AdapterConfigError(
                f"{key}.page_id = {page_id!r}: must be the Page's numeric id (Page settings → "
                "About → Page ID)"
            )
        version = text(settings, key, "api_version", DEFAULT_VERSION)
        if not _VERSION.match(version):
            raise AdapterConfigError(
                f"{key}.api_version = {version!r}: must look like {DEFAULT_VERSION!r}"
            )
        token_env = env_name(
            settings.option("page_token_env", DEFAULT_PAGE_TOKEN_ENV), key, "page_token_env"
        )

        def required(option: str, default_env: str, what: str) -> str:
            value = secret(settings, key, option, default_env, env, what=what)
            assert value is not None  # a required secret raises instead
            return value

        return cls(
            name=name,
            page_id=page_id,
            page_token_env=token_env,
            page_token=required("page_token_env", DEFAULT_PAGE_TOKEN_ENV, "the Page access token"),
            app_secret=required(
                "app_secret_env", DEFAULT_APP_SECRET_ENV, "the Meta app's secret (it signs posts)"
            ),
            verify_token=required(
                "verify_token_env", DEFAULT_VERIFY_TOKEN_ENV, "the webhook's verify token"
            ),
            webhook=WebhookAddress.read(settings, key, default_port=8443, default_path=PATH),
            api_base_url=http_url(settings, key, "api_base_url", DEFAULT_API),
            api_version=version,
            webhook_deadline_seconds=number(
                settings, key, "webhook_deadline_seconds", 10.0, 0.5, 60
            ),
            request_timeout_seconds=number(
                settings, key, "request_timeout_seconds", 15.0, 0.5, 120
            ),
            calls_per_second=integer(
                settings, key, "calls_per_second", SEND_CALLS_PER_SECOND, 1, SEND_CALLS_PER_SECOND
            ),
            max_text_chars=integer(settings, key, "max_text_chars", 16_384, 256, 1_000_000),
        )
