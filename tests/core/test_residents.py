"""Residents in a private chat with the bot, through the assembled core (real model, real
knowledge file, SQLite): answers, questions handed to officers and answered back, guided
tips routed like alerts, following a case, flooding, and what is (not) kept of them."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from botkit.app import App
from botkit.clock import VirtualClock
from botkit.domain import Message, OfficerCommand
from botkit.outbound import CopyMessage, SendText
from botkit.pipeline import Inbound
from tests.conftest import CU_MGAR, EA_TUL, RecordingDispatcher
from tests.core.assembled import T0, assembled

RESIDENT = "r-77"
_ids = itertools.count(1)


class Chat:
    """The assembled core, and what a resident and the officers see of it."""

    def __init__(self, app: App, dispatcher: RecordingDispatcher, clock: VirtualClock) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.clock = clock

    async def say(self, text: str, who: str = RESIDENT, private: bool = True) -> list[str]:
        """A message; returns what the bot sent to its author's chat."""
        chat = who if private else "g-cu-mgar"
        n = str(next(_ids))
        message = Message("test", chat, n, text, self.clock.now(), sender_id=who, private=private)
        return await self._handle(message, chat)

    async def photo(self, who: str = RESIDENT) -> str:
        """A photo without caption in the resident's private chat; returns its id."""
        n = str(next(_ids))
        message = Message(
            "test", who, n, "", self.clock.now(), sender_id=who, private=True,
            extra=(("media", "photo"),),
        )  # fmt: skip
        await self._handle(message, who)
        return n

    async def command(self, who: str, command: str, arg: str | None = None) -> list[str]:
        n = next(_ids)
        cmd = OfficerCommand(
            "test", who, command, arg, self.clock.now(), chat_id=who, event_id=f"c{n}"
        )
        return await self._handle(cmd, who)

    async def _handle(self, event: Any, chat: str) -> list[str]:
        before = len(self.dispatcher.sent)
        failures = await self.app.pipeline.process([Inbound(event)])
        assert not failures, failures
        await self.app.sender.run_once()
        return [
            a.text
            for name, a in self.dispatcher.sent[before:]
            if isinstance(a, SendText) and a.chat_id == chat
        ]

    def to(self, chat: str) -> list[str]:
        return [
            a.text for _, a in self.dispatcher.sent if isinstance(a, SendText) and a.chat_id == chat
        ]


@pytest.fixture
async def chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Chat]:
    residents = {"max_messages": 10, "per_minutes": 10}
    async with assembled(tmp_path, monkeypatch, residents=residents) as app:
        assert isinstance(app.dispatcher, RecordingDispatcher)
        assert isinstance(app.clock, VirtualClock)
        yield Chat(app, app.dispatcher, app.clock)


def code_in(text: str) -> str:
    import re

    found = re.search(r"/tinhtrang (\d+-[A-Z0-9]{5})", text)
    assert found, text
    return found.group(1)


async def test_a_question_on_a_procedure_gets_its_answer_and_nobody_is_paged(chat: Chat) -> None:
    [reply] = await chat.say("cho tôi hỏi đăng ký tạm trú cho người thuê trọ cần giấy tờ gì ạ")
    assert "tạm trú" in reply.lower() and "Trả lời tự động" in reply
    [reply] = await chat.say("mat can cuoc thi lam lai o dau vay")  # no diacritics
    assert "căn cước" in reply.lower()
    assert chat.to("u-thanh") == [] and chat.to("u-hoa") == []
    counts = await chat.app.store.stats.counts("2026-03-01", "2026-03-31")
    assert [(c.name, c.value) for c in counts] == [("questions_answered", 2)]


async def test_a_question_without_answer_goes_to_the_officer_who_answers_back(chat: Chat) -> None:
    [told] = await chat.say("Cho hỏi xin giấy phép xây dựng nhà cấp 4 trên đất vườn thì làm sao")
    assert "chuyển tới cán bộ trực của Công an xã Cư M'gar" in told
    code = code_in(told)
    case_id = code.split("-")[0]
    [question] = chat.to("u-thanh")
    assert "giấy phép xây dựng" in question and f"/answer {case_id}" in question
    # The officer answers from their private chat; the resident gets it, and the status says so.
    [ok] = await chat.command("u-thanh", "answer", f"{case_id} Anh liên hệ UBND xã nhé.")
    assert "Đã gửi trả lời" in ok
    [relayed] = chat.to(RESIDENT)[-1:]
    assert "Anh liên hệ UBND xã nhé." in relayed and f"#{case_id}" in relayed
    [status] = await chat.command(RESIDENT, "tinhtrang", code)
    assert "đã trả lời" in status
    # Nothing of the resident in clear: the case keeps a sealed contact.
    row = await chat.app.store.cases.get(int(case_id))
    assert row is not None and row.contact is not None and RESIDENT.encode() not in row.contact


async def test_only_an_officer_of_the_unit_answers_in_private(chat: Chat) -> None:
    told = (await chat.say("Cho hỏi thủ tục xin giấy phép xây dựng nhà ở nông thôn"))[0]
    case_id = code_in(told).split("-")[0]
    [refused] = await chat.command("stranger", "answer", f"{case_id} xin chào")
    assert "chỉ cán bộ đã đăng ký" in refused
    [other_unit] = await chat.command("u-hoa", "answer", f"{case_id} xin chào")
    assert "thuộc Công an xã Cư M'gar" in other_unit
    cmd = OfficerCommand("test", "u-thanh", "answer", f"{case_id} hi", T0, chat_id="g-cu-mgar")
    await chat.app.pipeline.process([Inbound(cmd)])
    await chat.app.sender.run_once()
    assert "trong tin nhắn riêng" in chat.to("u-thanh")[-1]
    [usage] = await chat.command("u-thanh", "answer", "abc")
    assert "Cách dùng" in usage
    [missing] = await chat.command("u-thanh", "answer", "999 hi")
    assert "Không tìm thấy hồ sơ #999" in missing
    assert len([t for t in chat.to(RESIDENT) if "xin chào" in t or " hi" in t]) == 0


async def test_a_guided_tip_reaches_the_commune_named_and_hides_an_anonymous_tipster(
    chat: Chat,
) -> None:
    [ask] = await chat.command(RESIDENT, "togiac")
    assert "Bước 1/5" in ask
    [ask] = await chat.say("Có nhóm thanh niên lạ mặt đêm nào cũng chở bò đi bán, nghi trộm")
    assert "Bước 2/5" in ask
    [ask] = await chat.say("buôn Ko Sier xã Ea Tul")
    assert "Bước 3/5" in ask
    [ask] = await chat.say("khoảng 1 giờ sáng, mấy đêm nay")
    assert "Bước 4/5" in ask and "ảnh" in ask
    [ask] = await chat.say("ko có")
    assert "Bước 5/5" in ask
    [ask] = await chat.say("hmm")
    assert "có" in ask and "không" in ask  # asked again
    [done] = await chat.say("có")
    assert "ẩn danh" in done
    code = code_in(done)
    case = await chat.app.store.cases.get(int(code.split("-")[0]))
    assert case is not None and case.contact is None and case.jurisdiction == EA_TUL
    # Ea Tul is Quảng Phú's unit: its officer is paged, as for any crime report there.
    [alert] = chat.to("u-hoa")
    assert "trộm" in alert and f"hồ sơ #{case.id}" in alert and RESIDENT not in alert
    assert case.incident_id is not None
    [occurrence] = await chat.app.store.incidents.occurrences(case.incident_id)
    assert occurrence.chat_id == f"case:{case.id}"  # not the tipster's chat
    [status] = await chat.command(RESIDENT, "tinhtrang", code)
    assert "chờ tiếp nhận" in status
    await chat.command("u-hoa", "ack", str(case.incident_id))
    [status] = await chat.command(RESIDENT, "tinhtrang", code)
    assert "đã tiếp nhận" in status
    [refused] = await chat.command("u-hoa", "answer", f"{case.id} cảm ơn")
    assert "ẩn danh" in refused


async def test_a_case_code_is_needed_to_follow_a_case(chat: Chat) -> None:
    await chat.command(RESIDENT, "togiac")
    for text in (
        "Ông hàng xóm đánh vợ con liên tục, chảy máu",
        "thôn 5 xã Cư M'gar",
        "đêm qua",
        "không",
    ):
        await chat.say(text)
    [done] = await chat.say("không")
    code = code_in(done)
    number, secret = code.split("-")
    wrong = "B" * 5 if secret != "B" * 5 else "C" * 5
    [unknown] = await chat.command("someone", "tinhtrang", f"{number}-{wrong}")
    assert "Không tìm thấy hồ sơ" in unknown and "tiếp nhận" not in unknown
    [usage] = await chat.command("someone", "tinhtrang")
    assert "mã hồ sơ" in usage
    # A named tipster can be written back to.
    case = await chat.app.store.cases.get(int(number))
    assert case is not None and case.contact is not None and case.jurisdiction == CU_MGAR
    [ok] = await chat.command("u-thanh", "answer", f"{number} Cán bộ sẽ tới xác minh.")
    assert "Đã gửi" in ok and "Cán bộ sẽ tới xác minh." in chat.to(RESIDENT)[-1]


async def test_a_tip_can_be_cancelled_and_an_abandoned_one_is_forgotten(chat: Chat) -> None:
    await chat.command(RESIDENT, "togiac")
    [cancelled] = await chat.command(RESIDENT, "huy")
    assert "Đã huỷ" in cancelled
    [nothing] = await chat.command(RESIDENT, "huy")
    assert "Không có tin báo" in nothing
    await chat.command(RESIDENT, "togiac")
    await chat.say("Có người lạ hay đứng trước cổng trường nhìn bọn trẻ")
    chat.clock.advance_to(T0 + timedelta(hours=7))  # beyond draft_hours (6)
    [answer] = await chat.say("đăng ký tạm trú cần giấy tờ gì")
    assert "Bước" not in answer and "tạm trú" in answer.lower()
    assert await chat.app.store.cases.opened_between(T0, T0 + timedelta(days=1)) == []


async def test_a_resident_flooding_the_bot_is_told_once_then_ignored(chat: Chat) -> None:
    replies = [await chat.say(f"đăng ký tạm trú cần giấy tờ gì {i}") for i in range(13)]
    assert [len(r) for r in replies[:10]] == [1] * 10
    assert "nhiều tin liên tiếp" in replies[10][0]
    assert replies[11:] == [[], []]
    chat.clock.advance_to(T0 + timedelta(minutes=11))
    assert len(await chat.say("đăng ký tạm trú cần giấy tờ gì")) == 1
    assert chat.to("u-thanh") == []


async def test_a_flagged_private_message_opens_a_case_and_pages(chat: Chat) -> None:
    [reply] = await chat.say(
        "Alo công an xã ơi, em nhận được tin nhắn trúng thưởng iPhone yêu cầu nộp phí 2 triệu"
        " vào số tài khoản 0123456789, có phải lừa đảo không ạ"
    )
    assert "Mã hồ sơ" in reply
    [alert] = chat.to("u-thanh")
    assert "0123456789" not in alert  # redacted, as for any flag


async def test_a_question_in_a_group_gets_no_private_answer(chat: Chat) -> None:
    assert await chat.say("đăng ký tạm trú cần giấy tờ gì", private=False) == []
    assert await chat.app.store.cases.opened_between(T0, T0 + timedelta(days=1)) == []


async def test_a_tips_photo_is_copied_to_the_paged_officer_and_not_kept(chat: Chat) -> None:
    await chat.command(RESIDENT, "togiac")
    for text in (
        "Có kẻ lạ cạy cửa kho cà phê nhà tôi lấy mất 5 bao",
        "thôn 2 xã Cư M'gar",
        "sáng nay",
    ):
        await chat.say(text)
    photo = await chat.photo()
    await chat.say("không")  # not anonymous
    copies = [a for _, a in chat.dispatcher.sent if isinstance(a, CopyMessage)]
    assert copies == [CopyMessage("u-thanh", RESIDENT, photo)]
    [alert] = [t for t in chat.to("u-thanh") if "🚨" in t]
    assert "Ảnh: có" in alert
    rows = await chat.app.store.outbox.messages()
    left = [r for r in rows if RESIDENT in str(r["action"]) or r["chat_id"] == RESIDENT]
    assert left == [], left


async def test_an_officer_trying_the_bot_opens_no_case(chat: Chat) -> None:
    [reply] = await chat.say("Cho hỏi thủ tục cấp sổ đỏ lần đầu làm ở đâu", who="u-thanh")
    assert "không được chuyển thành hồ sơ" in reply
    assert await chat.app.store.cases.opened_between(T0, T0 + timedelta(days=1)) == []
