"""Zalo OA without the network: event conversion, the webhook signature, settings, buttons,
outgoing requests, error mapping and the saved tokens."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.kit.settings import AdapterConfigError
from adapters.kit.webhook import Malformed
from adapters.testing import zalo_oa_events as ev
from adapters.zalo_oa.api import Refreshed, ZaloOAError, ZaloOAUnreachable
from adapters.zalo_oa.buttons import parse_payload, payload
from adapters.zalo_oa.convert import ConvertContext, convert_event
from adapters.zalo_oa.errors import delivery_error
from adapters.zalo_oa.outbound import MAX_TEXT, requests_for
from adapters.zalo_oa.settings import ZaloOASettings
from adapters.zalo_oa.signature import SIGNATURE_HEADER, signature, verifier
from adapters.zalo_oa.tokens import (
    TokenKeeper,
    TokenPair,
    TokenUnavailable,
    digest,
    initial_pair,
    lifetime,
)
from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, SendText
from tests.adapters.zalo_oa_harness import (
    APP_ID,
    APP_SECRET,
    ENV_NAMES,
    GROUP_ID,
    OA_ID,
    OA_SECRET_KEY,
    RESIDENT,
    THANH,
)

CTX = ConvertContext("zalo_oa", OA_ID)
TS = "1764483000123"
WHEN = datetime(2025, 11, 30, 6, 10, 0, 123000, tzinfo=UTC)


def direct(text: str | None, name: str = "user_send_text", msg_id: str = "m1") -> dict[str, Any]:
    message = ev.text_message(msg_id, text) if text is not None else {"msg_id": msg_id}
    return ev.user_event(APP_ID, OA_ID, name, RESIDENT, message, TS)


def in_group(text: str, field: ev.GroupIdField = "recipient.group_id") -> dict[str, Any]:
    return ev.group_event(
        APP_ID,
        OA_ID,
        "user_send_group_text",
        GROUP_ID,
        RESIDENT,
        ev.text_message("g1", text),
        TS,
        field,
    )


# --------------------------------------------------------------------------- conversion


def test_a_residents_text_to_the_oa_is_a_message_in_their_chat() -> None:
    (event,) = convert_event(direct("Có lừa đảo ở chợ"), CTX)
    assert event == Message(
        platform="zalo_oa",
        chat_id=RESIDENT,
        message_id="m1",
        text="Có lừa đảo ở chợ",
        sent_at=WHEN,
        sender_id=RESIDENT,
        private=True,
    )


@pytest.mark.parametrize("field", ev.GROUP_ID_FIELDS)
def test_a_group_text_is_a_message_in_the_group_wherever_the_group_id_is(
    field: ev.GroupIdField,
) -> None:
    (event,) = convert_event(in_group("Tin đồn thất thiệt", field), CTX)
    assert isinstance(event, Message) and not event.private
    assert (event.chat_id, event.message_id, event.sender_id) == (
        f"group:{GROUP_ID}",
        "g1",
        RESIDENT,
    )


def test_an_image_is_its_picture_and_its_caption() -> None:
    message = ev.image_message(
        "i1", "Ảnh tai nạn ở ngã tư", "https://photo.example/1.jpg", "https://photo.example/t1"
    )
    (event,) = convert_event(
        ev.user_event(APP_ID, OA_ID, "user_send_image", RESIDENT, message, TS), CTX
    )
    assert isinstance(event, Message) and event.private and event.chat_id == RESIDENT
    assert event.is_caption and event.text == "Ảnh tai nạn ở ngã tư"
    assert ("media", "photo") in event.extra
    assert event.photo_ref == "https://photo.example/1.jpg"  # the picture, not its thumbnail


@pytest.mark.parametrize("field", ev.GROUP_ID_FIELDS)
def test_an_image_without_caption_reaches_the_core_from_a_group_or_a_user(
    field: ev.GroupIdField,
) -> None:
    bare = ev.image_message("i2", None, "https://photo.example/2.jpg")
    group_image = ev.group_event(
        APP_ID, OA_ID, "user_send_group_image", GROUP_ID, RESIDENT, bare, TS, field
    )
    (event,) = convert_event(group_image, CTX)
    assert isinstance(event, Message) and not event.private
    assert (event.chat_id, event.message_id, event.text, event.is_caption) == (
        f"group:{GROUP_ID}",
        "i2",
        "",
        False,
    )
    assert event.photo_ref == "https://photo.example/2.jpg"
    private = ev.user_event(APP_ID, OA_ID, "user_send_image", RESIDENT, bare, TS)
    (event,) = convert_event(private, CTX)
    assert isinstance(event, Message) and event.private and event.photo_ref is not None


def test_an_image_without_a_usable_picture_is_its_caption_or_nothing() -> None:
    def image(attachments: Any, caption: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"msg_id": "i3", "attachments": attachments}
        if caption is not None:
            message["text"] = caption
        return ev.user_event(APP_ID, OA_ID, "user_send_image", RESIDENT, message, TS)

    thumbnail_only = [{"type": "image", "payload": {"thumbnail": "https://photo.example/t"}}]
    (event,) = convert_event(image(thumbnail_only), CTX)
    assert isinstance(event, Message) and event.photo_ref == "https://photo.example/t"
    for unusable in (
        [{"type": "image", "payload": {"url": "file:///etc/passwd"}}],
        [{"type": "sticker", "payload": {"url": "https://photo.example/s"}}],
        [{"type": "image", "payload": "https://photo.example/x"}],
        "not a list",
        [],
    ):
        assert convert_event(image(unusable), CTX) == ()
        (event,) = convert_event(image(unusable, "Chú thích"), CTX)
        assert isinstance(event, Message) and event.photo_ref is None
        assert (event.text, event.is_caption) == ("Chú thích", True)


@pytest.mark.parametrize("text", ["/ack 12", "#ack 12", "  #ack   12 "])
def test_a_typed_command_or_a_pressed_button_is_an_officer_command(text: str) -> None:
    (event,) = convert_event(direct(text, msg_id="m9"), CTX)
    assert event == OfficerCommand(
        platform="zalo_oa",
        sender_id=RESIDENT,
        command="ack",
        argument="12",
        at=WHEN,
        chat_id=RESIDENT,
        reply_ref="m9",
        event_id="m9",
    )


def test_hashtags_are_messages_and_commands_in_groups_are_not_acted_on() -> None:
    (event,) = convert_event(direct("#covid tin giả"), CTX)
    assert isinstance(event, Message)
    assert convert_event(in_group("/ack 12"), CTX) == ()
    assert convert_event(in_group("#ack 12"), CTX) == ()


@pytest.mark.parametrize(
    "name", ["follow", "unfollow", "user_seen_message", "oa_send_text", "user_received_message"]
)
def test_other_events_are_ignored(name: str) -> None:
    assert convert_event(ev.other_event(APP_ID, OA_ID, name, RESIDENT, TS), CTX) == ()


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ([1, 2], "JSON object"),
        ({"timestamp": TS}, "event_name"),
        ({**direct("x"), "message": "x"}, "message object"),
        ({**direct("x"), "message": {"text": "x"}}, "msg_id"),
        ({**direct("x"), "sender": {}}, "sender.id"),
        ({**direct("x"), "timestamp": "yesterday"}, "timestamp"),
        ({**direct("x"), "message": {"msg_id": "m", "text": 5}}, "not a string"),
        ({**in_group("x", "recipient.id"), "recipient": {"id": OA_ID}}, "names no group"),
    ],
)
def test_malformed_events_are_refused_with_the_reason(event: Any, problem: str) -> None:
    with pytest.raises(Malformed, match=problem):
        convert_event(event, CTX)


def test_a_long_text_is_clipped_and_marked() -> None:
    (event,) = convert_event(direct("a" * 500), ConvertContext("zalo_oa", OA_ID, 256))
    assert isinstance(event, Message)
    assert len(event.text) == 256 and ("truncated", "1") in event.extra


# --------------------------------------------------------------------------- signature


def headers_for(value: str) -> dict[str, str]:
    return {SIGNATURE_HEADER: value}


def test_the_signature_is_a_plain_sha256_of_app_id_body_timestamp_and_oa_key() -> None:
    body = b'{"event_name": "user_send_text", "timestamp": "1700000000000"}'
    # Worked out independently: sha256 over the four parts concatenated.
    expected = hashlib.sha256(
        f"{APP_ID}{body.decode()}1700000000000{OA_SECRET_KEY}".encode()
    ).hexdigest()
    assert signature(APP_ID, body, "1700000000000", OA_SECRET_KEY) == expected
    assert ev.sign(APP_ID, body, "1700000000000", OA_SECRET_KEY) == expected


@pytest.mark.parametrize("mac_prefix", [False, True])
def test_a_signed_event_passes_with_or_without_the_mac_prefix(mac_prefix: bool) -> None:
    event = direct("Xin chào")
    body = ev.encode(event)
    mac = ev.sign(APP_ID, body, TS, OA_SECRET_KEY)
    verify = verifier(APP_ID, OA_SECRET_KEY)
    assert verify(headers_for(f"mac={mac}" if mac_prefix else mac), body)
    assert verify(headers_for(mac.upper()), body)


def test_a_wrong_missing_or_misplaced_signature_fails() -> None:
    verify = verifier(APP_ID, OA_SECRET_KEY)
    body = ev.encode(direct("Xin chào"))
    good = ev.sign(APP_ID, body, TS, OA_SECRET_KEY)
    assert not verify({}, body)
    assert not verify(headers_for(""), body)
    assert not verify(headers_for("mac="), body)
    assert not verify(headers_for(ev.sign(APP_ID, body, TS, APP_SECRET)), body)  # app secret
    assert not verify(headers_for(good), body.replace(b"Xin", b"Xyn"))  # body changed
    # Python's re-encoding is not what Zalo signed: the raw bytes count.
    assert not verify(headers_for(good), json.dumps(json.loads(body)).encode())


def test_a_body_that_is_no_event_passes_on_to_be_refused_as_malformed() -> None:
    # Nothing can be processed from it either way; the server answers it 400.
    assert verifier(APP_ID, OA_SECRET_KEY)(headers_for("abc"), b"not json")


# --------------------------------------------------------------------------- settings


def settings(**overrides: Any) -> AdapterSettings:
    base: dict[str, Any] = {"app_id": APP_ID, "oa_id": OA_ID, **ENV_NAMES, "data_dir": "var"}
    return AdapterSettings(**{k: v for k, v in (base | overrides).items() if v is not None})


ENV = {
    "ZALO_TEST_OA_SECRET_KEY": OA_SECRET_KEY,
    "ZALO_TEST_APP_SECRET": APP_SECRET,
    "ZALO_TEST_REFRESH_TOKEN": "rt-1",
}


def test_settings_are_read_with_defaults_and_keep_secrets_out_of_their_repr() -> None:
    config = ZaloOASettings.from_adapter("zalo_oa", settings(), ENV)
    assert config.api_base_url == "https://openapi.zalo.me"
    assert config.oauth_base_url == "https://oauth.zaloapp.com"
    assert config.token_file == Path("var/zalo_oa.tokens.json")
    assert (config.webhook.port, config.webhook.path) == (8444, "/zalo-oa")
    assert config.webhook_deadline < 2
    assert OA_SECRET_KEY not in repr(config) and APP_SECRET not in repr(config)
    assert "rt-1" not in repr(config)


@pytest.mark.parametrize(
    ("overrides", "env", "message"),
    [
        ({"app_id": None}, ENV, r"adapters\.zalo_oa\.app_id is required"),
        ({"oa_id": " "}, ENV, r"adapters\.zalo_oa\.oa_id is required"),
        (
            {"oa_secret_key_env": "the-secret"},
            ENV,
            r"oa_secret_key_env.*: must name an environment variable",
        ),
        (
            {},
            {k: v for k, v in ENV.items() if k != "ZALO_TEST_APP_SECRET"},
            r"app_secret_env: environment variable ZALO_TEST_APP_SECRET is not set",
        ),
        ({"api_base_url": "openapi.zalo.me"}, ENV, r"api_base_url = .*: must be an http\(s\)"),
        ({"webhook_deadline_seconds": 5}, ENV, r"webhook_deadline_seconds = 5: must be between"),
        ({"webhook_port": "x"}, ENV, r"webhook_port = 'x': not a number"),
    ],
)
def test_a_wrong_setting_gives_one_clear_message(
    overrides: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        ZaloOASettings.from_adapter("zalo_oa", settings(**overrides), env)


def test_without_a_saved_token_the_variable_is_required(tmp_path: Path) -> None:
    with pytest.raises(AdapterConfigError, match="ZALO_TEST_REFRESH_TOKEN is not set and no"):
        initial_pair("zalo_oa", tmp_path / "t.json", None, "ZALO_TEST_REFRESH_TOKEN")


def test_the_saved_token_wins_unless_the_variable_holds_a_new_grant(tmp_path: Path) -> None:
    path = tmp_path / "zalo_oa.tokens.json"
    saved = TokenPair("at-2", "rt-2", 1e12, 90_000, digest("rt-1"))
    path.write_bytes(saved.to_json())
    assert initial_pair("zalo_oa", path, "rt-1", "V") == saved  # rt-1 is spent
    assert initial_pair("zalo_oa", path, None, "V") == saved
    fresh = initial_pair("zalo_oa", path, "rt-new", "V")  # access granted again
    assert (fresh.refresh_token, fresh.access_token) == ("rt-new", None)


def test_an_unreadable_saved_token_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "zalo_oa.tokens.json"
    path.write_text("{")
    with pytest.raises(AdapterConfigError, match="cannot be read"):
        initial_pair("zalo_oa", path, "rt-1", "V")


@pytest.mark.parametrize(
    ("value", "seconds"), [("90000", 90000.0), (3600, 3600.0), (" 25 ", 25.0), ("", None)]
)
def test_expires_in_is_read_as_text_or_number(value: object, seconds: float | None) -> None:
    assert lifetime(value) == seconds
    assert lifetime(True) is None and lifetime("-5") is None


# --------------------------------------------------------------------------- outbound


BUTTONS = (Button("✋ Tiếp nhận", "ack:12"), Button("✅ Xác nhận", "confirm:12"))


def test_buttons_go_as_query_buttons_whose_payload_comes_back_as_the_command() -> None:
    (request,) = requests_for(SendText(THANH, "Cảnh báo #12", BUTTONS))
    assert request.path == "/v3.0/oa/message/cs"
    assert request.body["recipient"] == {"user_id": THANH}
    buttons = request.body["message"]["attachment"]["payload"]["buttons"]
    assert buttons == [
        {"title": "✋ Tiếp nhận", "type": "oa.query.show", "payload": "#ack 12"},
        {"title": "✅ Xác nhận", "type": "oa.query.show", "payload": "#confirm 12"},
    ]
    command = parse_payload(buttons[1]["payload"])
    assert command is not None and (command.name, command.argument) == ("confirm", "12")


def test_a_group_gets_the_buttons_as_lines_to_type() -> None:
    (request,) = requests_for(SendText(f"group:{GROUP_ID}", "Cảnh báo", BUTTONS))
    assert request.path == "/v3.0/oa/group/message"
    assert request.body["recipient"] == {"group_id": GROUP_ID}
    assert request.body["message"] == {
        "text": "Cảnh báo\n✋ Tiếp nhận → /ack 12\n✅ Xác nhận → /confirm 12"
    }


def test_a_long_text_is_split_at_2000_characters_and_the_last_piece_has_the_buttons() -> None:
    text = "\n".join(f"dòng {i} " + "x" * 90 for i in range(60))
    requests = requests_for(SendText(THANH, text, BUTTONS))
    texts = [r.body["message"]["text"] for r in requests]
    assert len(requests) > 2 and all(len(t) <= MAX_TEXT for t in texts)
    assert "".join(texts) == text
    assert [("attachment" in r.body["message"]) for r in requests] == [False] * (
        len(requests) - 1
    ) + [True]


def test_more_buttons_than_zalo_shows_are_listed_as_lines() -> None:
    many = tuple(Button(f"Nút {i}", f"ack:{i}") for i in range(7))
    (request,) = requests_for(SendText(THANH, "x", many))
    assert len(request.body["message"]["attachment"]["payload"]["buttons"]) == 5
    assert request.body["message"]["text"].endswith("Nút 5 → /ack 5\nNút 6 → /ack 6")


def test_an_action_zalo_cannot_carry_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="cannot be a Zalo OA payload"):
        payload("launch:missiles")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("code", [-230, -305, -311, -211])
def test_out_of_window_and_quota_errors_are_permanent(code: int) -> None:
    error = delivery_error(ZaloOAError(code, "x"), partly_sent=False, rate_limited_pause=30)
    assert error.permanent and not error.ambiguous and error.retry_after is None


def test_rate_limits_unknown_codes_and_missing_tokens_are_retried() -> None:
    limited = delivery_error(ZaloOAError(-32, "x"), partly_sent=False, rate_limited_pause=30)
    assert (limited.permanent, limited.retry_after) == (False, 30)
    other = delivery_error(ZaloOAError(-999, "x"), partly_sent=False, rate_limited_pause=30)
    assert not other.permanent and other.retry_after is None
    no_token = delivery_error(TokenUnavailable("refused"), partly_sent=False, rate_limited_pause=1)
    assert not no_token.permanent and not no_token.ambiguous


def test_lost_answers_and_half_sent_texts_are_ambiguous() -> None:
    lost = ZaloOAUnreachable("connection lost", may_have_arrived=True)
    assert delivery_error(lost, partly_sent=False, rate_limited_pause=1).ambiguous
    refused = ZaloOAUnreachable("cannot connect", may_have_arrived=False)
    assert not delivery_error(refused, partly_sent=False, rate_limited_pause=1).ambiguous
    assert delivery_error(ZaloOAError(-32, ""), partly_sent=True, rate_limited_pause=1).ambiguous


# --------------------------------------------------------------------------- the token keeper


class Refresher:
    """Zalo's refresh endpoint as a function: numbered tokens, or the error it is told."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls: list[str] = []
        self.error: Exception | None = None

    async def __call__(self, refresh_token: str) -> Refreshed:
        if self.path.exists():  # what was handed out last is on disk before it is used
            assert TokenPair.from_json(self.path.read_bytes()).refresh_token == refresh_token
        self.calls.append(refresh_token)
        if self.error is not None:
            raise self.error
        n = len(self.calls)
        return Refreshed(f"at-{n}", f"rt-{n}", "90000")


def keeper(tmp_path: Path, clock: list[float]) -> tuple[TokenKeeper, Refresher]:
    path = tmp_path / "zalo_oa.tokens.json"
    refresher = Refresher(path)
    return TokenKeeper(
        "zalo_oa",
        TokenPair(None, "rt-0", 0.0, 0.0, digest("rt-0")),
        path,
        refresher,
        hint="grant access again",
        margin=600,
        retry_after_failure=10,
        clock=lambda: clock[0],
    ), refresher


async def test_the_token_is_refreshed_within_the_margin_before_it_expires(tmp_path: Path) -> None:
    now = [1_000.0]
    tokens, refresher = keeper(tmp_path, now)
    assert await tokens.access_token() == "at-1"
    now[0] += 90_000 - 601
    assert await tokens.access_token() == "at-1"
    now[0] += 2  # 599 s left: inside the margin
    assert await tokens.access_token() == "at-2"
    assert refresher.calls == ["rt-0", "rt-1"]
    saved = TokenPair.from_json((tmp_path / "zalo_oa.tokens.json").read_bytes())
    assert (saved.access_token, saved.refresh_token, saved.expires_at) == (
        "at-2",
        "rt-2",
        now[0] + 90_000,
    )


async def test_after_a_failed_refresh_zalo_is_asked_again_only_after_a_pause(
    tmp_path: Path,
) -> None:
    now = [1_000.0]
    tokens, refresher = keeper(tmp_path, now)
    refresher.error = ZaloOAError(-14014, "Invalid refresh token")
    for _ in range(3):
        with pytest.raises(TokenUnavailable, match="-14014"):
            await tokens.access_token()
    assert len(refresher.calls) == 1
    now[0] += 11
    refresher.error = None
    assert await tokens.access_token() == "at-2"
    assert tokens.failure is None


async def test_a_token_near_its_end_is_used_while_refreshing_fails_but_never_once_refused(
    tmp_path: Path,
) -> None:
    now = [1_000.0]
    tokens, refresher = keeper(tmp_path, now)
    assert await tokens.access_token() == "at-1"
    now[0] += 90_000 - 100
    refresher.error = ZaloOAUnreachable("cannot connect", may_have_arrived=False)
    assert await tokens.access_token() == "at-1"  # still valid for 100 s
    with pytest.raises(TokenUnavailable):
        await tokens.refused("at-1")  # Zalo says it is dead after all
    with pytest.raises(TokenUnavailable, match="cannot reach Zalo"):
        await tokens.access_token()


async def test_a_new_pair_that_cannot_be_saved_is_kept_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1_000.0]
    (tmp_path / "zalo_oa.tokens.json").mkdir()  # a directory where the file should be
    tokens, _ = keeper(tmp_path, now)
    tokens._refresher = Refresher(tmp_path / "elsewhere.json")
    with caplog.at_level(logging.ERROR):
        assert await tokens.access_token() == "at-1"
    assert "could not be saved" in caplog.text and "rt-1" not in caplog.text
