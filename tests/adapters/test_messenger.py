"""The Messenger adapter's pieces alone: converting Meta's posts, checking their signature
and handshake, reading settings, shaping Send API messages, mapping Graph errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.kit.settings import AdapterConfigError
from adapters.kit.webhook import Malformed
from adapters.messenger.errors import GraphError, delivery_error
from adapters.messenger.events import ConvertContext, convert_post
from adapters.messenger.send import MAX_TEMPLATE_TEXT, MAX_TEXT, messages
from adapters.messenger.settings import MessengerSettings
from adapters.messenger.signature import hub_challenge, hub_signature, sign
from adapters.testing import messenger_events as ev
from botkit.adapter import DeliveryError
from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button
from tests.adapters.messenger_harness import ENV, PAGE_ID

CTX = ConvertContext("fb", PAGE_ID, max_text_chars=300)
PSID = "24000000000000042"
MS = 1_767_000_000_123
ALERT_BUTTONS = (
    Button("✋ Tiếp nhận", "ack:12"),
    Button("✅ Xác nhận", "confirm:12"),
    Button("❌ Báo nhầm", "false:12"),
)


def post(*items: dict[str, Any], per_entry: int | None = None) -> dict[str, Any]:
    return ev.page_body(PAGE_ID, items, MS, per_entry)


def text(body: str, mid: str = "m_1", psid: str = PSID, ms: int = MS) -> dict[str, Any]:
    return ev.text_item(PAGE_ID, psid, body, mid, ms)


def only(body: dict[str, Any]) -> Any:
    converted = convert_post(body, CTX)
    assert len(converted.events) == 1, converted
    return converted.events[0]


# --------------------------------------------------------------------------- conversion


def test_a_residents_message_is_a_message_of_their_conversation() -> None:
    event = only(post(text("Có người lạ bán thuốc giả ở chợ thôn 3")))
    assert isinstance(event, Message)
    assert (event.platform, event.chat_id, event.message_id, event.sender_id) == (
        "fb",
        PSID,
        "m_1",
        PSID,
    )
    assert event.text == "Có người lạ bán thuốc giả ở chợ thôn 3"
    assert event.sent_at == datetime.fromtimestamp(MS / 1000, UTC)
    assert event.key == f"fb:{PSID}:m_1"  # the mid is the identity of a redelivery
    assert event.private  # a conversation with the Page: a resident's question or report


def test_residents_commands_and_help_reach_the_core() -> None:
    for typed, command in (
        ("/start", "start"),
        ("/togiac", "togiac"),
        ("/tinhtrang 3-ABCDE", "tinhtrang"),
    ):
        event = only(post(text(typed, mid=f"m_{command}")))
        assert isinstance(event, OfficerCommand) and event.command == command
        assert event.chat_id == PSID


def test_a_typed_command_is_an_officer_command_identified_by_its_mid() -> None:
    event = only(post(text("/ack 12", mid="m_typed")))
    assert isinstance(event, OfficerCommand)
    assert (event.command, event.argument, event.sender_id, event.chat_id, event.event_id) == (
        "ack",
        "12",
        PSID,
        PSID,
        "m_typed",
    )


def test_a_tapped_quick_reply_with_a_botkit_payload_is_an_officer_command() -> None:
    item = ev.quick_reply_item(PAGE_ID, PSID, "✋ Tiếp nhận", "ack:7", "m_qr", MS)
    event = only(post(item))
    assert isinstance(event, OfficerCommand)
    assert (event.command, event.argument, event.event_id) == ("ack", "7", "m_qr")


def test_a_pressed_postback_is_an_officer_command_with_a_stable_identity() -> None:
    def press(ms: int, mid: str | None) -> OfficerCommand:
        event = only(post(ev.postback_item(PAGE_ID, PSID, "Xác nhận", "confirm:3", ms, mid)))
        assert isinstance(event, OfficerCommand)
        return event

    first = press(MS, "m_a")
    assert (first.command, first.argument, first.chat_id) == ("confirm", "3", PSID)
    # Redelivered (with or without the newer `mid` field) it is the same event ...
    assert press(MS, None).event_id == first.event_id
    # ... while a second press a moment later is another one.
    assert press(MS + 1, "m_a").event_id != first.event_id


def test_a_picture_is_a_message_with_its_url_and_any_text_as_its_caption() -> None:
    url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/p.jpg?_nc_cat=1&oh=00_A&oe=6A"
    bare = only(post(ev.attachment_item(PAGE_ID, PSID, "m_p", MS, "image", url)))
    assert isinstance(bare, Message) and bare.private
    assert (bare.chat_id, bare.message_id, bare.text, bare.is_caption) == (PSID, "m_p", "", False)
    assert bare.photo_ref == url and ("media", "photo") in bare.extra
    item = ev.attachment_item(PAGE_ID, PSID, "m_q", MS, "image", url, text="Người lạ ở thôn 3")
    captioned = only(post(item))
    assert isinstance(captioned, Message)
    assert (captioned.text, captioned.is_caption, captioned.photo_ref) == (
        "Người lạ ở thôn 3",
        True,
        url,
    )
    # Several attachments in one message: the first picture is the one read.
    item["message"]["attachments"] = [
        {"type": "video", "payload": {"url": "https://video.example/v.mp4"}},
        {"type": "image", "payload": {"url": "https://cdn.example/1.jpg"}},
        {"type": "image", "payload": {"url": "https://cdn.example/2.jpg"}},
    ]
    assert only(post(item)).photo_ref == "https://cdn.example/1.jpg"


@pytest.mark.parametrize(
    "item",
    [
        ev.echo_item(PAGE_ID, PSID, "m_echo", "/ack 1", MS, "777"),
        ev.delivery_item(PAGE_ID, PSID, ["m_1"], MS),
        ev.read_item(PAGE_ID, PSID, MS),
        ev.sticker_item(PAGE_ID, PSID, "m_sticker", MS),
        ev.attachment_item(PAGE_ID, PSID, "m_video", MS, "video"),
        ev.attachment_item(PAGE_ID, PSID, "m_file", MS, "image", "file:///etc/passwd"),
        ev.postback_item(PAGE_ID, PSID, "Bắt đầu", "GET_STARTED", MS),
        ev.quick_reply_item(PAGE_ID, PSID, "Chọn xã", "setup:24280", "m_s", MS),
        text("/setup Cư M'gar"),
        text("   "),
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "reaction": {"emoji": "👍"}},
    ],
    ids=[
        "echo",
        "delivery",
        "read",
        "sticker",
        "video",
        "not http",
        "foreign postback",
        "setup button",
        "setup",
        "blank",
        "reaction",
    ],
)
def test_what_means_nothing_to_botkit_is_ignored(item: dict[str, Any]) -> None:
    converted = convert_post(post(item), CTX)
    assert converted.events == ()
    assert (converted.ignored, converted.skipped) == (1, 0)


def test_a_batched_post_yields_every_event_in_order() -> None:
    items = [text(f"tin {i}", mid=f"m_{i}", psid=f"2400000000000{i}") for i in range(5)]
    body = post(*items, per_entry=2)
    assert len(body["entry"]) == 3
    converted = convert_post(body, CTX)
    assert [e.message_id for e in converted.events if isinstance(e, Message)] == [
        f"m_{i}" for i in range(5)
    ]
    assert converted.items == 5


def test_unusable_items_are_skipped_one_by_one_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    no_sender = text("xin chào", mid="m_x")
    del no_sender["sender"]
    no_mid = text("xin chào")
    del no_mid["message"]["mid"]
    bad_time = text("xin chào", mid="m_t")
    bad_time["timestamp"] = "hôm qua"
    body = post(no_sender, no_mid, bad_time, "not an object", text("vẫn đọc", mid="m_ok"))  # type: ignore[arg-type]
    body["entry"] += ["not an entry", {"id": PAGE_ID, "messaging": {"not": "a list"}}]
    with caplog.at_level(logging.WARNING):
        converted = convert_post(body, CTX)
    assert [e.message_id for e in converted.events if isinstance(e, Message)] == ["m_ok"]
    assert converted.skipped == 6
    assert len([r for r in caplog.records if "unusable" in r.getMessage()]) == 6


def test_other_pages_entries_and_other_products_are_ignored() -> None:
    body = post(text("của trang này", mid="m_mine"))
    body["entry"].append({"id": "999", "time": MS, "messaging": [text("của trang khác")]})
    body["entry"].append({"id": PAGE_ID, "time": MS, "standby": [text("app khác giữ")]})
    converted = convert_post(body, CTX)
    assert [e.message_id for e in converted.events if isinstance(e, Message)] == ["m_mine"]
    assert convert_post({"object": "instagram", "entry": []}, CTX).events == ()


@pytest.mark.parametrize("body", [[], "page", {"object": "page"}, {"object": "page", "entry": {}}])
def test_a_post_that_is_not_a_page_post_is_malformed(body: Any) -> None:
    with pytest.raises(Malformed):
        convert_post(body, CTX)


def test_tolerated_spellings_and_a_long_text_clipped() -> None:
    item = text("a" * 500, mid="m_long")
    item["sender"]["id"] = int(PSID)  # a number where Meta sends a string
    item["timestamp"] = str(MS)
    event = only(post(item))
    assert isinstance(event, Message)
    assert (event.chat_id, len(event.text), event.extra) == (PSID, 300, (("truncated", "1"),))


# --------------------------------------------------------------------------- signature


def test_the_signature_is_checked_over_the_raw_bytes() -> None:
    body = {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [text("Tin giả à? / ok")]}]}
    raw = ev.encode(body)  # escaped as Meta writes it: \u00e0 and \/
    verify = hub_signature("s3cret")
    header = ev.sign("s3cret", raw)
    assert header[ev.SIGNATURE_HEADER] == sign("s3cret", raw)  # two independent HMACs agree
    assert verify(header, raw)
    assert verify({ev.SIGNATURE_HEADER: header[ev.SIGNATURE_HEADER].upper()}, raw)
    # The same JSON serialised again is other bytes: a parsed-and-redumped check would fail.
    redumped = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert redumped != raw and not verify(header, redumped)
    assert not verify(header, raw + b" ")
    assert not verify(ev.sign("other", raw), raw)
    assert not verify({}, raw)
    assert not verify({ev.LEGACY_SIGNATURE_HEADER: header[ev.LEGACY_SIGNATURE_HEADER]}, raw)
    assert not verify({ev.SIGNATURE_HEADER: "sha256="}, raw)


def test_the_handshake_echoes_the_challenge_only_for_the_verify_token() -> None:
    challenge = hub_challenge("verify-me")
    ok = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "123"}
    assert challenge(ok) == "123"
    assert challenge(ok | {"hub.verify_token": "guess"}) is None
    assert challenge(ok | {"hub.mode": "unsubscribe"}) is None
    assert challenge({k: v for k, v in ok.items() if k != "hub.challenge"}) is None


# --------------------------------------------------------------------------- settings


def read(env: dict[str, str] | None = None, **options: Any) -> MessengerSettings:
    """Settings from the usual options changed by `options` (None: left out)."""
    base = {
        "page_id": PAGE_ID,
        "page_token_env": "FB_PAGE_TOKEN",
        "app_secret_env": "FB_APP_SECRET",
        "verify_token_env": "FB_VERIFY_TOKEN",
    }
    merged = {k: v for k, v in {**base, **options}.items() if v is not None}
    settings = AdapterSettings(**merged)
    return MessengerSettings.from_adapter("fb", settings, ENV if env is None else env)


def test_settings_defaults_and_secrets_kept_out_of_repr() -> None:
    config = read()
    assert config.messages_url == f"https://graph.facebook.com/v25.0/{PAGE_ID}/messages"
    assert (config.webhook.port, config.webhook.path, config.calls_per_second) == (
        8443,
        "/messenger",
        300,
    )
    for value in ENV.values():
        assert value not in repr(config)


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({"page_id": None}, None, "adapters.fb.page_id is required"),
        ({"page_id": "cong-an-xa"}, None, "adapters.fb.page_id = 'cong-an-xa': must be the"),
        (
            {},
            {"FB_APP_SECRET": "x", "FB_VERIFY_TOKEN": "y"},
            "adapters.fb.page_token_env: environment variable FB_PAGE_TOKEN is not set",
        ),
        (
            {"app_secret_env": "4f9c0d1e2b"},
            None,
            "adapters.fb.app_secret_env",  # and no more of a secret pasted in its place
        ),
        ({"api_version": "25"}, None, "adapters.fb.api_version = '25': must look like 'v25.0'"),
        ({"api_base_url": "graph.facebook.com"}, None, "adapters.fb.api_base_url = "),
        ({"webhook_port": 70000}, None, "adapters.fb.webhook_port = 70000: must be between"),
    ],
)
def test_a_wrong_setting_is_one_clear_message(
    options: dict[str, Any], env: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(AdapterConfigError) as caught:
        read(env, **options)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)
    if "app_secret_env" in options:
        assert "must name an environment variable" in str(caught.value)


# --------------------------------------------------------------------------- sending


def test_a_short_text_is_one_message_and_a_long_one_is_cut_at_line_ends() -> None:
    assert messages("Đã tiếp nhận vụ #12", ()) == [{"text": "Đã tiếp nhận vụ #12"}]
    lines = [f"dòng {i}: " + "x" * 90 for i in range(50)]  # ~5000 characters
    pieces = messages("\n".join(lines), ())
    assert len(pieces) == 3
    assert all(len(p["text"]) <= MAX_TEXT for p in pieces)
    assert "\n".join(p["text"] for p in pieces) == "\n".join(lines)


def test_an_alerts_three_actions_are_postback_buttons_of_a_template() -> None:
    (message,) = messages("🚨 Vụ #12 · fake_news", ALERT_BUTTONS)
    payload = message["attachment"]["payload"]
    assert message["attachment"]["type"] == "template"
    assert payload["template_type"] == "button"
    assert payload["text"] == "🚨 Vụ #12 · fake_news"
    assert payload["buttons"] == [
        {"type": "postback", "title": b.label, "payload": b.action} for b in ALERT_BUTTONS
    ]
    long_label = messages("x", (Button("Tiếp nhận và chuyển công an huyện", "ack:1"),))
    assert long_label[0]["attachment"]["payload"]["buttons"][0]["title"] == ("Tiếp nhận và chuyển…")


def test_a_long_alert_keeps_its_buttons_under_its_last_640_characters() -> None:
    text = "\n".join(f"dòng {i} " + "y" * 60 for i in range(40))  # ~2900 characters
    *plain, last = messages(text, ALERT_BUTTONS)
    template = last["attachment"]["payload"]
    assert len(template["text"]) <= MAX_TEMPLATE_TEXT
    assert all(len(p["text"]) <= MAX_TEXT for p in plain)
    assert "\n".join([*(p["text"] for p in plain), template["text"]]) == text


def test_more_buttons_than_a_template_holds_become_quick_replies_then_command_lines() -> None:
    five = tuple(Button(f"Nút {i}", f"ack:{i}") for i in range(5))
    (message,) = messages("Chọn vụ", five)
    assert [q["payload"] for q in message["quick_replies"]] == [f"ack:{i}" for i in range(5)]
    assert {q["content_type"] for q in message["quick_replies"]} == {"text"}
    many = tuple(Button(f"Nút {i}", f"ack:{i}") for i in range(14))
    (plain,) = messages("Chọn vụ", many)
    assert "quick_replies" not in plain
    assert plain["text"].splitlines()[1:3] == ["Nút 0 → /ack 0", "Nút 1 → /ack 1"]
    with pytest.raises(ValueError, match="1000"):
        messages("x", (Button("Quá dài", "ack:" + "9" * 1000),))


# --------------------------------------------------------------------------- errors


def graph(code: int | None, subcode: int | None = None, status: int = 400) -> GraphError:
    error: dict[str, Any] = {"message": "m", "type": "OAuthException", "fbtrace_id": "Ftr"}
    if code is not None:
        error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    return GraphError.parse(status, {"error": error})


def mapped(error: GraphError, headers: dict[str, str] | None = None) -> DeliveryError:
    return delivery_error(
        error,
        setting="adapters.fb.page_token_env",
        token_env="FB_PAGE_TOKEN",
        headers=headers or {},
    )


def test_a_refused_token_is_permanent_and_names_its_variable() -> None:
    error = mapped(graph(190, 460))
    assert error.permanent and not error.ambiguous
    assert "FB_PAGE_TOKEN" in str(error) and "adapters.fb.page_token_env" in str(error)
    assert "fbtrace_id Ftr" in str(error)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (graph(10, 2018278), True),  # outside the 24-hour window
        (graph(2018278), True),  # the same, as older answers spell it
        (graph(551, 1545041), True),  # the person blocked the Page
        (graph(100, 2018001), True),  # no such person
        (graph(10), True),  # permission denied
        (graph(2, status=500), False),  # service temporarily unavailable
        (graph(1), False),  # unknown error
        (graph(None, status=502), False),  # a proxy's error page
        (GraphError.parse(400, {"error": {"code": 368, "is_transient": True}}), False),
    ],
)
def test_graph_errors_are_permanent_or_retried(error: GraphError, permanent: bool) -> None:
    mapped_error = mapped(error)
    assert mapped_error.permanent is permanent
    assert mapped_error.retry_after is None and not mapped_error.ambiguous


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80006])
def test_rate_limits_ask_for_a_pause(code: int) -> None:
    assert mapped(graph(code)).retry_after == 60.0  # Meta said nothing: a minute
    usage = {
        "X-Business-Use-Case-Usage": json.dumps(
            {PAGE_ID: [{"type": "messenger", "estimated_time_to_regain_access": 3}]}
        )
    }
    limited = mapped(graph(code), usage)
    assert (limited.retry_after, limited.permanent) == (180.0, False)
