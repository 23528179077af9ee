"""Unit tests of the Zalo Bot adapter's pieces: settings, conversion, outbound text, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.kit.settings import AdapterConfigError
from adapters.kit.webhook import Malformed
from adapters.testing import zalo_bot_updates as zu
from adapters.zalo_bot import ZaloBotAdapter
from adapters.zalo_bot.api import ZaloBotError, ZaloBotUnreachable
from adapters.zalo_bot.convert import parse_update, to_events
from adapters.zalo_bot.errors import delivery_error
from adapters.zalo_bot.outbound import MAX_MESSAGE_CHARS, command_line, message_pieces
from adapters.zalo_bot.settings import ZaloBotSettings
from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, DeleteMessage, EditText, SendText
from tests.adapters.zalo_bot_harness import ENV, HOA, RESIDENT, SECRET, THANH, TOKEN

BUTTONS = (
    Button("✋ Tiếp nhận", "ack:12"),
    Button("✅ Xác nhận", "confirm:12"),
    Button("❌ Báo nhầm", "false:12"),
    Button("🏁 Xong", "resolve:12"),
)
WHEN_MS = 1766619597466


def events(body: dict[str, Any], **options: Any) -> tuple[Any, ...]:
    return to_events(parse_update(body), "zalo_bot", **options)


# --------------------------------------------------------------------------- conversion


def test_an_officers_typed_command_carries_zalos_event_identity() -> None:
    body = zu.text_update(THANH, "/ack 12", message_id="16f6366b3f02645a3d15", date_ms=WHEN_MS)
    (command,) = events(body)
    assert command == OfficerCommand(
        platform="zalo_bot",
        sender_id=THANH["id"],
        command="ack",
        argument="12",
        at=datetime.fromtimestamp(WHEN_MS / 1000, UTC),
        chat_id=THANH["id"],
        reply_ref="16f6366b3f02645a3d15",
        event_id="message.text.received:16f6366b3f02645a3d15",
    )
    assert command.at.year == 2025  # milliseconds, not seconds


@pytest.mark.parametrize("sender", [RESIDENT, HOA], ids=["display_name", "first_name"])
@pytest.mark.parametrize("with_event_name", [True, False], ids=["event_name", "docs-sample"])
def test_a_residents_direct_message_is_a_message_of_the_private_chat(
    sender: dict[str, Any], with_event_name: bool
) -> None:
    body = zu.text_update(sender, "nghe nói mai cắt điện cả xã", with_event_name=with_event_name)
    (message,) = events(body)
    assert isinstance(message, Message)
    assert message.chat_id == sender["id"]  # the private chat: the core decides
    assert message.private
    assert message.message_id == body["message"]["message_id"]
    assert message.text == "nghe nói mai cắt điện cả xã"
    assert message.sender_name == sender.get("display_name", sender.get("first_name"))
    assert parse_update(body).event_name == "message.text.received"  # inferred when missing


def test_an_image_is_its_picture_and_caption_and_media_without_either_is_nothing() -> None:
    body = zu.image_update(RESIDENT, "CHIA SẺ GẤP: đập thủy điện sắp vỡ")
    (message,) = events(body)
    assert isinstance(message, Message)
    assert message.is_caption and message.text == "CHIA SẺ GẤP: đập thủy điện sắp vỡ"
    assert ("media", "photo") in message.extra
    assert message.photo_ref == body["message"]["photo_url"]
    for bare in (zu.image_update(RESIDENT), zu.image_update(RESIDENT, with_event_name=False)):
        (message,) = events(bare)
        assert isinstance(message, Message) and message.private
        assert (message.text, message.is_caption) == ("", False)
        assert message.photo_ref == bare["message"]["photo_url"]
    for body in (
        zu.image_update(RESIDENT, photo_url="file:///etc/passwd"),  # not a picture to fetch
        zu.sticker_update(RESIDENT),
        zu.unsupported_update(RESIDENT),
        zu.text_update(RESIDENT, "   "),
    ):
        assert events(body) == ()


def test_an_image_in_a_group_is_a_group_message() -> None:
    body = zu.image_update(RESIDENT, chat_id="g-1", chat_type="GROUP")
    (message,) = events(body)
    assert isinstance(message, Message) and not message.private
    assert (message.chat_id, message.text, message.photo_ref) == (
        "g-1",
        "",
        body["message"]["photo_url"],
    )


def test_commands_in_a_group_and_other_bots_commands() -> None:
    group = {"chat_id": "g-1", "chat_type": "GROUP"}
    assert events(zu.text_update(RESIDENT, "/start", **group)) == ()
    (command,) = events(zu.text_update(THANH, "/ack 3", **group))
    assert isinstance(command, OfficerCommand) and command.chat_id == "g-1"
    (post,) = events(zu.text_update(RESIDENT, "có ai bị lừa chưa", **group))
    assert isinstance(post, Message) and post.chat_id == "g-1"
    addressed = zu.text_update(THANH, "/ack@bot.other 3")
    assert events(addressed, bot_name="bot.botkit_test") == ()
    # In a private chat any command goes to the core, which answers unknown ones.
    (start,) = events(zu.text_update(RESIDENT, "/start"))
    assert isinstance(start, OfficerCommand) and start.command == "start"


def test_a_long_message_is_clipped_and_marked() -> None:
    (message,) = events(zu.text_update(RESIDENT, "a" * 1000), max_text_chars=300)
    assert isinstance(message, Message)
    assert len(message.text) == 300 and ("truncated", "1") in message.extra


def test_tolerated_shapes() -> None:
    body = zu.text_update(RESIDENT, "xin chào", date_ms=1766619597)
    body["message"]["chat"].pop("chat_type")
    wrapped = {"ok": True, "result": body}  # a webhook body shaped like a getUpdates answer
    update = parse_update(wrapped)
    assert update.chat_type == "PRIVATE"
    assert update.date == datetime.fromtimestamp(1766619597, UTC)  # seconds, recognised


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"event_name": "message.text.received"},
        {"message": {"chat": {"id": "c"}, "text": "x"}},
        {"message": {"message_id": "m", "chat": {}, "text": "x"}},
        {"message": {"message_id": True, "chat": {"id": "c"}}},
    ],
)
def test_malformed_updates(body: Any) -> None:
    with pytest.raises(Malformed):
        parse_update(body)


# --------------------------------------------------------------------------- outbound


def test_buttons_become_command_lines() -> None:
    (text,) = message_pieces("🚨 Vụ #12", BUTTONS)
    assert text.splitlines() == [
        "🚨 Vụ #12",
        "",
        "✋ Tiếp nhận → /ack 12",
        "✅ Xác nhận → /confirm 12",
        "❌ Báo nhầm → /false 12",
        "🏁 Xong → /resolve 12",
    ]
    assert command_line(Button("Cư M'gar", "setup:Cư M'gar")) == "Cư M'gar → /setup Cư M'gar"
    assert command_line(Button("Tiếp nhận", "ack:")) == "Tiếp nhận → /ack"
    with pytest.raises(ValueError, match="no botkit command"):
        command_line(Button("Mở", "https://example.org"))
    with pytest.raises(ValueError):
        message_pieces(" \n", ())


def test_a_long_text_is_split_at_line_ends_with_the_commands_last() -> None:
    text = "\n".join(f"#{i} dòng thông tin về vụ việc" for i in range(200))  # ~6 000 chars
    pieces = message_pieces(text, BUTTONS)
    assert len(pieces) == 4
    assert all(1 <= len(p) <= MAX_MESSAGE_CHARS for p in pieces)
    assert "\n".join(pieces).startswith(text)
    assert pieces[-1].endswith("🏁 Xong → /resolve 12")
    assert all(not p.endswith("\n") for p in pieces)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "permanent", "ambiguous", "retry_after"),
    [
        (400, True, False, None),
        (401, True, False, None),
        (403, True, False, None),
        (404, True, False, None),
        (429, False, False, 5.0),
        (408, False, True, None),
        (500, False, False, None),
        (502, False, True, None),
        (504, False, True, None),
    ],
)
def test_api_errors_map_to_delivery_errors(
    code: int, permanent: bool, ambiguous: bool, retry_after: float | None
) -> None:
    error = delivery_error(ZaloBotError("sendMessage", code, "x"), partly_sent=False)
    assert (error.permanent, error.ambiguous, error.retry_after) == (
        permanent,
        ambiguous,
        retry_after,
    )


def test_transport_failures_and_partly_sent_texts() -> None:
    refused = ZaloBotUnreachable("sendMessage", "refused", may_have_arrived=False)
    dropped = ZaloBotUnreachable("sendMessage", "dropped", may_have_arrived=True)
    assert not delivery_error(refused, partly_sent=False).ambiguous
    assert delivery_error(dropped, partly_sent=False).ambiguous
    assert delivery_error(refused, partly_sent=True).ambiguous  # earlier pieces arrived
    hinted = ZaloBotError("sendMessage", 429, "slow down", retry_after=12)
    assert delivery_error(hinted, partly_sent=False).retry_after == 12
    garbled = ZaloBotError("sendMessage", 502, "HTML", enveloped=False)
    assert delivery_error(garbled, partly_sent=False).ambiguous
    assert "open a chat with the bot" in str(
        delivery_error(ZaloBotError("sendMessage", 403, "blocked"), partly_sent=False)
    )


# --------------------------------------------------------------------------- settings


def settings(**options: Any) -> AdapterSettings:
    return AdapterSettings(**({"token_env": "ZALO_TOKEN"} | options))


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({}, {}, "adapters.zalo_bot.token_env: environment variable ZALO_TOKEN is not set"),
        ({"token_env": TOKEN}, ENV, "must name an environment variable"),
        ({}, {"ZALO_TOKEN": "no-colon"}, "does not hold a Zalo bot token"),
        ({"mode": "push"}, ENV, "mode = 'push': must be 'polling' or 'webhook'"),
        ({"mode": "webhook"}, ENV, "webhook_url is required in webhook mode"),
        (
            {"mode": "webhook", "webhook_url": "https://bot.example/z"},
            ENV,
            "webhook_secret_env is required",
        ),
        (
            {"mode": "webhook", "webhook_url": "https://x/z", "webhook_secret_env": "S"},
            ENV | {"S": "short"},
            "must hold 8-256 printable characters",
        ),
        ({"mode": "webhook", "webhook_url": "ftp://x"}, ENV, "must be an http(s) URL"),
        ({"api_base_url": "bot-api.zaloplatforms.com"}, ENV, "must be an http(s) URL"),
        ({"poll_timeout": 0}, ENV, "poll_timeout = 0: must be between 1 and 60"),
        ({"rate_per_second": "fast"}, ENV, "rate_per_second = 'fast': not a number"),
    ],
)
def test_settings_errors_name_the_option(
    options: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(AdapterConfigError) as caught:
        ZaloBotSettings.from_adapter("zalo_bot", settings(**options), env)
    assert message in str(caught.value)


def test_settings_defaults_and_the_token_kept_out_of_repr() -> None:
    config = ZaloBotSettings.from_adapter("zalo_bot", settings(), ENV)
    assert config.api_base_url == "https://bot-api.zaloplatforms.com"
    assert (config.mode, config.poll_timeout, config.bot_id) == (
        "polling",
        30,
        "1459232241454765289",
    )
    hooked = ZaloBotSettings.from_adapter(
        "zalo_bot",
        settings(
            mode="webhook", webhook_url="https://b.example/z", webhook_secret_env="ZALO_SECRET"
        ),
        ENV,
    )
    assert (hooked.webhook.path, hooked.webhook_secret) == ("/zalo-bot", SECRET)
    assert TOKEN not in repr(config) and SECRET not in repr(hooked)


def test_rates_exclusive_source_and_capabilities() -> None:
    adapter = ZaloBotAdapter("zalo_bot", settings(), environ=ENV)
    bot = "zalo-bot:1459232241454765289"
    limits = adapter.send_limits(SendText("u1", "x"))
    assert [(r.key, r.count, r.seconds) for r in limits] == [
        (bot, 5, 1.0),
        (f"{bot}:chat:u1", 1, 1.0),
    ]
    slow = ZaloBotAdapter(
        "zalo_bot", settings(rate_per_second=0, rate_chat_per_second=0.5), environ=ENV
    )
    assert [(r.key, r.count, r.seconds) for r in slow.send_limits(SendText("u1", "x"))] == [
        (f"{bot}:chat:u1", 1, 2.0)
    ]
    assert adapter.send_limits(EditText("u1", "m", "x")) == ()
    assert adapter.exclusive_source() == bot  # each update is handed to one poller only
    hooked = ZaloBotAdapter(
        "zalo_bot",
        settings(
            mode="webhook", webhook_url="https://b.example/z", webhook_secret_env="ZALO_SECRET"
        ),
        environ=ENV,
    )
    assert hooked.exclusive_source() is None
    assert adapter.capabilities == frozenset({"send", "photos"})


async def test_edit_and_delete_are_unsupported() -> None:
    from botkit.adapter import Unsupported

    adapter = ZaloBotAdapter("zalo_bot", settings(), environ=ENV)
    for action in (EditText("u1", "m1", "x"), DeleteMessage("u1", "m1")):
        with pytest.raises(Unsupported):
            await adapter.send(action)
    with pytest.raises(Unsupported, match="no botkit command"):
        await adapter.send(SendText("u1", "x", (Button("Mở", "https://example.org"),)))
    await adapter.close()
