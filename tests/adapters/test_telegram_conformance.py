"""One conformance suite for both Telegram adapters: the real botkit core, the Bot API emulator.

Each test builds botkit as `botkit run` does (config → `build_adapters` → `App.build` →
`serve`), with the adapter chosen by the parameter, and drives it only through the emulator:
updates in, Bot API calls out. Waits are event-driven and bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from adapters.testing import SECRET_TOKEN_HEADER
from adapters.testing import telegram_updates as tu
from botkit.adapter import PhotoUnavailable
from tests.adapters.system import (
    ADMIN,
    BASIC,
    GROUP,
    HOAX,
    HOAX_EA_TUL,
    MIGRATED_TO,
    RESIDENT,
    TEXTS,
    THANH,
    bind_group,
    buttons,
    post,
)
from tests.adapters.telegram_harness import (
    ADAPTERS,
    BOT,
    REFUSED_STATUS,
    AdapterClass,
    webhook_options,
)
from tests.images.samples import HOAXES, notice, to_bytes

# --------------------------------------------------------------------------- the scenario


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_join_setup_hoax_alert_acknowledge_edit(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls) as s:
        # 1. the bot is added to a group: pending, and it says which rights it needs
        s.api.push_update(tu.bot_added_update(GROUP, BOT, ADMIN))
        welcome = await s.next_send(GROUP["id"])
        assert "quyền quản trị" in welcome.params["text"]
        # 2. the group's admin binds it to the commune
        s.api.push_update(post(GROUP, "/setup Cư M'gar", sender=ADMIN))
        bound = await s.next_send(GROUP["id"], lambda c: c.params["text"].startswith("Đã gắn"))
        assert "Cư M" in bound.params["text"]
        # 3. a hoax is posted
        s.api.push_update(post(GROUP, HOAX))
        # 4. the officer on duty receives a direct alert with the four buttons
        message, incident = await s.alert()
        offered = buttons(message)
        assert offered[0] == f"ack:{incident}"
        assert {b.partition(":") for b in offered} <= {
            (a, ":", str(incident)) for a in ("ack", "confirm", "false", "resolve")
        }
        assert "Tin giả" in message["text"]
        # 5. the officer presses "acknowledge"
        s.api.push_update(tu.callback_query_update(THANH, message, f"ack:{incident}"))
        # 6. the alert is edited in place, the press answered, the officer told
        edit = await s.api.wait_for_call("editMessageText", timeout=15)
        assert (edit.params["chat_id"], edit.params["message_id"]) == (555, message["message_id"])
        assert TEXTS.get("state.acknowledged") in edit.params["text"]
        answer = await s.api.wait_for_call("answerCallbackQuery", timeout=15)
        assert f"#{incident}" in answer.params["text"]
        stored = s.api.sent_messages(555)[0]
        assert TEXTS.get("state.acknowledged") in stored["text"]
        assert f"ack:{incident}" not in buttons(stored)  # acknowledged once, not again
        assert await s.app.store.intake.dead_letters() == []
    assert len(s.sent_to(555)) >= 1


# --------------------------------------------------------------------------- message kinds


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_edited_message_is_reclassified(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        original = tu.text_message(GROUP, RESIDENT, "Chiều nay họp tổ dân phố lúc 5 giờ nhé")
        s.api.push_update(tu.message_update(original))
        await s.api.wait_until(lambda: s.app.pipeline.messages >= 1, 15)
        assert s.sent_to(555) == []
        s.api.push_update(tu.edited_message_update(original, HOAX))
        await s.alert()


@pytest.mark.parametrize("cls", ADAPTERS)
@pytest.mark.parametrize("kind", ["caption", "forward"])
async def test_caption_and_forward_are_classified(
    cls: AdapterClass, kind: str, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        if kind == "caption":
            message = tu.photo_message(GROUP, RESIDENT, HOAX)
        else:
            origin = tu.origin_channel(tu.channel_chat(-1007, "Tin nóng 24h"), 31)
            message = tu.forwarded_message(GROUP, RESIDENT, HOAX, origin)
        s.api.push_update(tu.message_update(message))
        await s.alert()


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_picture_without_caption_is_fetched_read_and_alerted(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        picture = to_bytes(notice(HOAXES["lockdown"], style="screenshot", seed=2), "JPEG")
        s.api.add_file(picture, file_id="PIC-2", file_path="photos/file_9.jpg")
        s.api.push_update(tu.message_update(tu.photo_message(GROUP, RESIDENT, file_id="PIC")))
        message, _ = await s.alert()
        assert "phong tỏa" in message["text"] and "🖼" in message["text"]
        # The largest size was fetched, through the Bot API's getFile.
        assert [c.params["file_id"] for c in s.api.calls_to("getFile")] == ["PIC-2"]
        # Over the limit (by the size getFile tells), unknown to Telegram, or Telegram
        # failing: one line saying why.
        with pytest.raises(PhotoUnavailable, match="over the limit of 1,000"):
            await s.adapter.fetch_photo("PIC-2", 1000)
        with pytest.raises(PhotoUnavailable, match="telegram getFile"):
            await s.adapter.fetch_photo("NO-SUCH-FILE", 10_000_000)
        s.api.fail_next("getFile", 500, "Internal Server Error")
        with pytest.raises(PhotoUnavailable, match="Internal Server Error"):
            await s.adapter.fetch_photo("PIC-2", 10_000_000)
        assert await s.adapter.fetch_photo("PIC-2", 10_000_000) == picture


# --------------------------------------------------------------------------- transport


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_webhook_with_right_and_wrong_secret(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    options = webhook_options()
    async with system_factory(cls, rate_chat_per_second=0, **options) as s:
        await s.api.wait_until(lambda: s.api.webhook is not None, 15)
        await bind_group(s)
        forged = post(GROUP, HOAX)
        forged["update_id"] = 10_000
        async with aiohttp.ClientSession() as http:
            for secret in ("wrong", ""):
                async with http.post(
                    options["webhook_url"], json=forged, headers={SECRET_TOKEN_HEADER: secret}
                ) as response:
                    assert response.status == REFUSED_STATUS[cls]
        assert s.app.pipeline.messages == 0  # nothing of the forged update was processed
        s.api.push_update(post(GROUP, HOAX))  # delivered by the emulator with the secret
        await s.alert()
        assert all(d.ok for d in s.api.webhook_deliveries)


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_429_is_retried_and_no_alert_is_lost(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    # Three 429s in a row, one retry per send: the first delivery fails, the core keeps the
    # alert and its housekeeping resends it until Telegram accepts.
    async with system_factory(cls, max_retries=1, rate_chat_per_second=0) as s:
        await bind_group(s)
        s.api.fail_next(
            "sendMessage",
            429,
            retry_after=1,
            times=3,
            when=lambda c: c.params.get("chat_id") == 555,
        )
        s.api.push_update(post(GROUP, HOAX))
        await s.alert()
        attempts = s.sent_to(555)
        assert len(attempts) == 4  # three refused, the fourth delivered
        assert attempts[1].at - attempts[0].at >= 1.0  # retry_after was honoured


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_migrated_group_keeps_its_commune(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s, BASIC, "Ea Tul")
        s.api.push_update(tu.message_update(tu.migrate_to_chat_message(BASIC, MIGRATED_TO, ADMIN)))
        new_chat = {"id": MIGRATED_TO, "type": "supergroup", "title": BASIC["title"]}
        s.api.push_update(
            tu.message_update(tu.migrate_from_chat_message(new_chat, BASIC["id"], ADMIN))
        )
        s.api.push_update(post(new_chat, HOAX_EA_TUL))
        # Ea Tul's officer is alerted, not the default commune's: the binding moved along
        await s.alert(officer=556)
        assert s.sent_to(555) == []


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_malformed_update_is_skipped_and_the_next_processed(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        bad = s.api.push_update({"update_id": 0, "message": {"message_id": 1, "chat": GROUP}})
        huge = "tin nhắn dài " * 8_000  # ~100 KB
        s.api.push_update(post(GROUP, huge))
        s.api.push_update(post(GROUP, HOAX))
        await s.alert()
        await s.api.wait_for_confirmation(bad)
        assert s.adapter.stats.skipped == 1
        assert await s.app.store.intake.dead_letters() == []


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_button_pressed_by_a_non_officer_is_refused(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0, callback_answer_seconds=1) as s:
        await bind_group(s)
        s.api.push_update(post(GROUP, HOAX))
        _, incident = await s.alert()
        # A group member presses "acknowledge" (here under the bot's welcome message; the
        # emulator, like a forged client, does not check where the button was): no officer.
        shown = s.api.sent_messages(GROUP["id"])[0]
        since = len(s.api.calls)
        s.api.push_update(tu.callback_query_update(RESIDENT, shown, f"ack:{incident}"))
        # Nothing is said in the group: the press only stops spinning.
        answer = await s.api.wait_for_call("answerCallbackQuery", since=since, timeout=15)
        assert "text" not in answer.params
        assert [c for c in s.api.calls[since:] if c.method == "sendMessage"] == []
        assert s.api.calls_to("editMessageText") == []  # the incident did not move
        log = await s.app.store.audit.log()
        assert any(e["action"] == "refused.ack" for e in log)
        detail = await s.app.store.incidents.get(incident)
        assert detail is not None and detail.incident.state.value == "opened"


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_setup_by_a_member_is_refused(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        s.api.push_update(tu.bot_added_update(GROUP, BOT, ADMIN))
        await s.next_send(GROUP["id"])
        s.api.push_update(post(GROUP, "/setup Ea Tul", sender=RESIDENT))
        refusal = await s.next_send(
            GROUP["id"], lambda c: "quản trị" in c.params["text"] and "/setup" in c.params["text"]
        )
        assert not refusal.params["text"].startswith("Đã gắn")
        group = await s.app.store.groups.get(s.name, str(GROUP["id"]))
        assert group is not None and group[1] == "pending"


# --------------------------------------------------------------------------- residents


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_resident_asks_then_tips_with_a_photo_in_private(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    me = tu.private_chat(RESIDENT)
    mine = RESIDENT["id"]

    def says(text: str) -> Callable[[Any], bool]:
        return lambda c: text in c.params["text"]

    async with system_factory(cls) as s:
        s.api.push_update(post(me, "cho hỏi đăng ký tạm trú cần giấy tờ gì ạ"))
        answer = await s.next_send(mine, says("📘"))
        assert "tạm trú" in answer.params["text"].lower()
        steps = [
            ("/togiac", "Bước 1/5"),
            ("Có người lạ bẻ khoá lấy trộm xe máy trước nhà văn hoá thôn", "Bước 2/5"),
            ("thôn 3 xã Cư M'gar", "Bước 3/5"),
            ("tối qua khoảng 22 giờ", "Bước 4/5"),
        ]
        for text, expected in steps:
            s.api.push_update(post(me, text))
            await s.next_send(mine, says(expected))
        s.api.push_update(tu.message_update(tu.photo_message(me, RESIDENT)))
        await s.next_send(mine, says("Bước 5/5"))
        s.api.push_update(post(me, "có"))
        done = await s.next_send(mine, says("ẩn danh đã được chuyển"))
        [[status_button]] = done.params["reply_markup"]["inline_keyboard"]
        # The officer on duty gets the alert, and the photo copied without its sender.
        message, incident = await s.alert()
        assert "tin báo của người dân" in message["text"] and "Ảnh: có" in message["text"]
        copied = await s.api.wait_for_call("copyMessage", timeout=15)
        assert int(copied.params["chat_id"]) == 555
        photo = next(m for m in s.api.sent_messages(555) if "photo" in m)
        assert "forward_origin" not in photo and "forward_from" not in photo
        assert str(mine) not in message["text"]
        # The resident presses "how is my case".
        stored = next(m for m in s.api.sent_messages(mine) if "reply_markup" in m)
        s.api.push_update(
            tu.callback_query_update(RESIDENT, stored, status_button["callback_data"])
        )
        status = await s.next_send(mine, says("Hồ sơ #"))
        assert "chờ tiếp nhận" in status.params["text"]
        assert incident > 0 and await s.app.store.intake.dead_letters() == []
