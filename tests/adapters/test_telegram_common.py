"""Library-free parts of the Telegram adapters: settings, commands, buttons, text limits."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.kit.callbacks import PendingCallbacks
from adapters.kit.commands import Command, parse_button, parse_command
from adapters.kit.text import utf16_len
from adapters.telegram_common.common import (
    MAX_CALLBACK_DATA_BYTES,
    TelegramConfigError,
    TelegramSettings,
    callback_ref,
    keyboard_rows,
    membership_change,
    parse_callback_ref,
    split_text,
    truncate_utf16,
)
from botkit.config import AdapterSettings
from botkit.outbound import Button

ENV = {"TG_TOKEN": "123456:TEST-token", "TG_SECRET": "s3cr3t-TOKEN_1"}


def settings(**options: object) -> AdapterSettings:
    return AdapterSettings(token_env="TG_TOKEN", **options)


# --------------------------------------------------------------------------- settings


def test_settings_defaults() -> None:
    s = TelegramSettings.from_adapter("telegram", settings(), ENV)
    assert s.token == ENV["TG_TOKEN"]
    assert s.api_base_url == "https://api.telegram.org"
    assert s.mode == "polling"
    assert (s.overall_per_second, s.group_per_minute, s.chat_per_second) == (30, 20, 1)
    assert s.token_id == "123456"


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(TelegramConfigError, match=r"adapters\.tg\.token_env.*TG_TOKEN.*not set"):
        TelegramSettings.from_adapter("tg", settings(), {})


def test_a_token_in_token_env_is_refused() -> None:
    bad = AdapterSettings(token_env="123456:TEST-token")
    with pytest.raises(TelegramConfigError, match="must name an environment variable"):
        TelegramSettings.from_adapter("tg", bad, ENV)


def test_embedded_adapter_needs_no_token() -> None:
    s = TelegramSettings.from_adapter("tg", settings(), {}, require_token=False)
    assert s.mode == "polling"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "push"}, r"mode = 'push': must be 'polling' or 'webhook'"),
        ({"api_base_url": "api.telegram.org"}, "must be an http"),
        ({"mode": "webhook", "webhook_secret_env": "TG_SECRET"}, "webhook_url is required"),
        ({"mode": "webhook", "webhook_url": "https://x/h"}, "webhook_secret_env is required"),
        (
            {"mode": "webhook", "webhook_url": "https://x/h", "webhook_secret_env": "NOPE"},
            "NOPE is not set",
        ),
        ({"webhook_port": 70000}, r"webhook_port = 70000: must be between"),
        ({"rate_group_per_minute": "many"}, "not a number"),
        ({"max_retries": 1.5}, "whole number"),
        ({"poll_timeout": True}, "not a number"),
    ],
)
def test_bad_settings_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(TelegramConfigError, match=message):
        TelegramSettings.from_adapter("tg", settings(**options), ENV)


def test_webhook_secret_must_follow_telegram_rules() -> None:
    env = {**ENV, "TG_SECRET": "has spaces!"}
    options = {"mode": "webhook", "webhook_url": "https://x/h", "webhook_secret_env": "TG_SECRET"}
    with pytest.raises(TelegramConfigError, match="1-256 characters"):
        TelegramSettings.from_adapter("tg", settings(**options), env)


def test_webhook_settings() -> None:
    options = {
        "mode": "webhook",
        "webhook_url": "https://bot.example.vn/tg",
        "webhook_secret_env": "TG_SECRET",
        "webhook_path": "tg",
        "webhook_port": 8443,
    }
    s = TelegramSettings.from_adapter("tg", settings(**options), ENV)
    assert (s.webhook_path, s.webhook_secret, s.webhook_port) == ("/tg", "s3cr3t-TOKEN_1", 8443)


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ack 12", Command("ack", "12")),
        ("/ACK   12  ", Command("ack", "12")),
        ("/incidents", Command("incidents", None)),
        ("/ack@botkit_test_bot 12", Command("ack", "12", addressed=True)),
        ("/ack@BotKit_Test_Bot 12", Command("ack", "12", addressed=True)),
        ("/start@other_bot", Command("", None)),
        ("/setup Cư M'gar", Command("setup", "Cư M'gar")),
        ("/setup\nXã Cư M'gar", Command("setup", "Xã Cư M'gar")),
        ("hello /ack 12", None),
        ("", None),
        (None, None),
        ("/", None),
        ("/ắc 12", None),
    ],
)
def test_parse_command(text: str | None, expected: Command | None) -> None:
    assert parse_command(text, "botkit_test_bot") == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ack:12", Command("ack", "12")),
        ("resolve:7", Command("resolve", "7")),
        ("false:3", Command("false", "3")),
        ("setup:24280", Command("setup", "24280")),
        ("ban:42", None),  # another bot's (or the host's) button
        ("incidents:1", None),  # not a button action
        ("ack", None),
        (None, None),
    ],
)
def test_parse_button(data: str | None, expected: Command | None) -> None:
    assert parse_button(data) == expected


@given(
    query_id=st.text(min_size=1, max_size=64).filter(lambda s: s.strip() == s and s != ""),
    message_id=st.one_of(st.none(), st.integers(1, 2**40)),
)
def test_callback_ref_round_trip(query_id: str, message_id: int | None) -> None:
    assert parse_callback_ref(callback_ref(query_id, message_id)) == (query_id, message_id)


@pytest.mark.parametrize("ref", [None, "", "12", "cb:", "cb:x:y", "cb:12:"])
def test_ordinary_reply_refs_are_not_button_presses(ref: str | None) -> None:
    assert parse_callback_ref(ref) is None


@pytest.mark.parametrize(
    ("old", "new", "old_member", "new_member", "expected"),
    [
        ("left", "administrator", None, None, "joined"),
        ("left", "member", None, None, "joined"),
        ("kicked", "member", None, None, "joined"),
        ("member", "kicked", None, None, "left"),
        ("administrator", "left", None, None, "left"),
        ("member", "administrator", None, None, None),  # promoted: not a join
        ("restricted", "member", True, None, None),
        ("restricted", "member", False, None, "joined"),
        ("member", "restricted", None, False, "left"),
    ],
)
def test_membership_change(
    old: str, new: str, old_member: bool | None, new_member: bool | None, expected: str | None
) -> None:
    change = membership_change(old, new, old_is_member=old_member, new_is_member=new_member)
    assert change == expected


# --------------------------------------------------------------------------- text limits

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=0, max_size=3000)


@given(text=texts, limit=st.integers(2, 200))
def test_split_text_keeps_everything_within_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(utf16_len(p) <= limit for p in pieces)
    assert all(pieces) or text == ""


def test_split_text_prefers_line_ends() -> None:
    text = "a" * 60 + "\n" + "b" * 60 + "\n"
    assert split_text(text, 100) == ["a" * 60 + "\n", "b" * 60 + "\n"]


def test_split_text_counts_utf16_units() -> None:
    text = "🚨" * 3000  # 6000 UTF-16 units, 3000 code points
    pieces = split_text(text, 4096)
    assert len(pieces) == 2
    assert [utf16_len(p) for p in pieces] == [4096, 6000 - 4096]


@given(text=texts, limit=st.integers(2, 300))
def test_truncate_utf16(text: str, limit: int) -> None:
    cut = truncate_utf16(text, limit)
    assert utf16_len(cut) <= limit
    if utf16_len(text) <= limit:
        assert cut == text
    else:
        assert cut.endswith("…") and text.startswith(cut[:-1])


def test_keyboard_rows_two_per_row_and_checks_callback_data() -> None:
    buttons = tuple(Button(f"b{i}", f"ack:{i}") for i in range(5))
    assert [len(row) for row in keyboard_rows(buttons)] == [2, 2, 1]
    too_long = Button("x", "ack:" + "9" * MAX_CALLBACK_DATA_BYTES)
    with pytest.raises(ValueError, match="64-byte callback data"):
        keyboard_rows((too_long,))


# --------------------------------------------------------------------------- button answers


async def test_unanswered_press_gets_an_empty_answer_once() -> None:
    answered: list[tuple[str, str | None]] = []
    done = asyncio.Event()

    async def answer(query_id: str, text: str | None) -> None:
        answered.append((query_id, text))
        done.set()

    pending = PendingCallbacks(answer, timeout=0.01)
    pending.add("q1")
    pending.add("q2")
    assert pending.take("q2") is True
    assert pending.take("q2") is False  # one answer per press
    await asyncio.wait_for(done.wait(), 2)
    assert answered == [("q1", None)]
    assert pending.take("q1") is False
    await pending.close()
