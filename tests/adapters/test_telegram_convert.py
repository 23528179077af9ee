"""Update → core event conversion, for python-telegram-bot and aiogram alike.

Every case parses the same update JSON with each library and converts it; a final test
checks that both libraries yield identical events for every fixture.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import telegram
from aiogram.types import Update as AioUpdate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.telegram import convert as ptb_convert
from adapters.telegram_aiogram import convert as aio_convert
from adapters.telegram_common.common import SETUP_ADMIN_ONLY
from adapters.telegram_common.events import ConvertContext, Converted
from adapters.testing import telegram_updates as tu
from botkit.adapter import GroupJoined, GroupLeft, GroupMigrated, GroupSetup
from botkit.domain import Message, OfficerCommand

GROUP = tu.supergroup_chat(-1001000000001, "Thôn 3 Cư M'gar")
BASIC = tu.group_chat(-4000000001, "Tổ 5")
ADMIN = tu.user(7, "Trần Thị Bình")
RESIDENT = tu.user(42, "Nguyễn Văn An")
OFFICER = tu.user(555, "Y Thành")
BOT = tu.bot_user(123456, "botkit_test_bot")
T0 = 1_760_000_000
HOAX = "CHIA SẺ GẤP: thôn 3 xã Cư M'gar có 15 ca covid, bà con đóng cửa ngay"

Convert = Callable[[dict[str, Any], ConvertContext], Awaitable[Converted]]


async def _ptb(data: dict[str, Any], ctx: ConvertContext) -> Converted:
    update = telegram.Update.de_json(data, None)
    return await ptb_convert.convert(update, ctx)


async def _aiogram(data: dict[str, Any], ctx: ConvertContext) -> Converted:
    return await aio_convert.convert(AioUpdate.model_validate(data), ctx)


LIBRARIES = [pytest.param(_ptb, id="ptb"), pytest.param(_aiogram, id="aiogram")]


class Admins:
    """The is_admin check, recording who was asked about."""

    def __init__(self, *admins: int) -> None:
        self.admins = set(admins)
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, chat_id: int, user_id: int) -> bool:
        self.asked.append((chat_id, user_id))
        return user_id in self.admins


def context(admins: Admins | None = None, max_chars: int = 16_384) -> ConvertContext:
    return ConvertContext("tg-main", "botkit_test_bot", admins or Admins(7), max_chars)


def text_update(
    text: str, chat: dict[str, Any] = GROUP, sender: dict[str, Any] = RESIDENT, **kw: Any
) -> dict[str, Any]:
    return tu.message_update(tu.text_message(chat, sender, text, message_id=11, date=T0, **kw))


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_group_text_becomes_a_message(convert: Convert) -> None:
    out = await convert(text_update(HOAX), context())
    assert out.owned is False and out.notice is None
    (msg,) = out.events
    assert msg == Message(
        platform="tg-main",
        chat_id="-1001000000001",
        message_id="11",
        text=HOAX,
        sent_at=datetime.fromtimestamp(T0, UTC),
        sender_id="42",
        sender_name="Nguyễn Văn An",
        chat_title="Thôn 3 Cư M'gar",
    )


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_caption_is_marked(convert: Convert) -> None:
    photo = tu.photo_message(GROUP, RESIDENT, HOAX, message_id=12, date=T0)
    (msg,) = (await convert(tu.message_update(photo), context())).events
    assert isinstance(msg, Message)
    # The largest size is the one read for text.
    largest = ("photo", "AgACAgUAAxkBAAIBZ2Vphoto-2")
    assert (msg.text, msg.is_caption, msg.extra) == (HOAX, True, (("media", "photo"), largest))


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_a_picture_without_caption_reaches_the_core_to_be_read(convert: Convert) -> None:
    photo = tu.photo_message(GROUP, RESIDENT, None, message_id=13, date=T0, file_id="F")
    (msg,) = (await convert(tu.message_update(photo), context())).events
    assert isinstance(msg, Message) and not msg.private
    assert (msg.text, msg.photo_ref) == ("", "F-2")
    # A picture sent as a file keeps its resolution; other documents are not pictures.
    for mime, expected in (("image/png", "DOC"), ("application/pdf", None)):
        doc = tu.text_message(GROUP, RESIDENT, "x", message_id=14, date=T0)
        del doc["text"]
        doc["document"] = {"file_id": "DOC", "file_unique_id": "U", "mime_type": mime}
        events = (await convert(tu.message_update(doc), context())).events
        assert [e.photo_ref for e in events if isinstance(e, Message)] == (
            [expected] if expected else []
        )


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_service_messages_and_edited_pictures_yield_nothing(convert: Convert) -> None:
    photo = tu.photo_message(GROUP, RESIDENT, None, message_id=13, date=T0)
    joined = tu.new_chat_members_message(GROUP, ADMIN, [RESIDENT], date=T0)
    edited = tu.edited_message_update(photo, None, edit_date=T0 + 60)
    for update in (tu.message_update(joined), edited):
        assert (await convert(update, context())).events == ()


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_edited_message_is_reclassified(convert: Convert) -> None:
    original = tu.text_message(GROUP, RESIDENT, "thôn 3 có vài ca cảm cúm", message_id=14, date=T0)
    edited = tu.edited_message_update(original, HOAX, edit_date=T0 + 60)
    (msg,) = (await convert(edited, context())).events
    assert isinstance(msg, Message)
    assert (msg.text, msg.edited, msg.message_id) == (HOAX, True, "14")
    assert msg.sent_at == datetime.fromtimestamp(T0 + 60, UTC)


@pytest.mark.parametrize("convert", LIBRARIES)
@pytest.mark.parametrize(
    ("origin", "label"),
    [
        (tu.origin_user(ADMIN, date=T0), "user"),
        (tu.origin_hidden_user("Người giấu tên", date=T0), "hidden_user"),
        (tu.origin_chat(tu.supergroup_chat(-1002, "Nhóm khác"), date=T0), "chat:Nhóm khác"),
        (
            tu.origin_channel(tu.channel_chat(-1003, "Tin nóng", username="tinnong"), 9, date=T0),
            "channel:@tinnong",
        ),
        (
            tu.origin_channel(tu.channel_chat(-1004, "Tin Đắk Lắk"), 9, date=T0),
            "channel:Tin Đắk Lắk",
        ),
    ],
)
async def test_forward_origin(convert: Convert, origin: dict[str, Any], label: str) -> None:
    fwd = tu.forwarded_message(GROUP, RESIDENT, HOAX, origin, message_id=15, date=T0)
    (msg,) = (await convert(tu.message_update(fwd), context())).events
    assert isinstance(msg, Message)
    assert msg.forwarded_from == label


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_reply_to(convert: Convert) -> None:
    first = tu.text_message(GROUP, ADMIN, "Ai biết tin này?", message_id=16, date=T0)
    reply = tu.reply_message(GROUP, RESIDENT, HOAX, first, message_id=17, date=T0)
    (msg,) = (await convert(tu.message_update(reply), context())).events
    assert isinstance(msg, Message)
    assert msg.reply_to == "16"


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_a_100_kb_text_is_clipped(convert: Convert) -> None:
    text = ("tin giả " * 13_000)[:100_000]
    (msg,) = (await convert(text_update(text), context(max_chars=16_384))).events
    assert isinstance(msg, Message)
    assert msg.text == text[:16_384]
    assert ("truncated", "1") in msg.extra


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_sender_chat_is_the_sender(convert: Convert) -> None:
    data = text_update(HOAX)
    data["message"]["sender_chat"] = tu.channel_chat(-1005, "Kênh X")
    (msg,) = (await convert(data, context())).events
    assert isinstance(msg, Message)
    assert (msg.sender_id, msg.sender_name) == ("-1005", "Kênh X")


# --------------------------------------------------------------------------- groups


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_bot_added_and_removed(convert: Convert) -> None:
    added = tu.bot_added_update(GROUP, BOT, ADMIN, date=T0)
    assert (await convert(added, context())).events == (
        GroupJoined("tg-main", "-1001000000001", "Thôn 3 Cư M'gar", "7"),
    )
    removed = tu.bot_removed_update(GROUP, BOT, ADMIN, was_admin=True, date=T0)
    assert (await convert(removed, context())).events == (GroupLeft("tg-main", "-1001000000001"),)


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_bot_promoted_is_no_join(convert: Convert) -> None:
    promoted = tu.my_chat_member_update(
        GROUP, ADMIN, tu.member_member(BOT), tu.member_administrator(BOT), date=T0
    )
    assert (await convert(promoted, context())).events == ()


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_blocking_the_bot_in_private_is_no_group_event(convert: Convert) -> None:
    blocked = tu.my_chat_member_update(
        tu.private_chat(RESIDENT), RESIDENT, tu.member_member(BOT), tu.member_kicked(BOT), date=T0
    )
    assert (await convert(blocked, context())).events == ()


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_setup_by_an_admin(convert: Convert) -> None:
    admins = Admins(7)
    out = await convert(text_update("/setup Cư M'gar", sender=ADMIN), context(admins))
    assert out.events == (GroupSetup("tg-main", "-1001000000001", "Cư M'gar", "7"),)
    assert out.owned is True
    assert admins.asked == [(-1001000000001, 7)]


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_setup_by_a_member_is_politely_refused(convert: Convert) -> None:
    out = await convert(text_update("/setup Cư M'gar", sender=RESIDENT), context())
    assert out.events == ()
    assert out.owned is True
    assert out.notice is not None
    assert (out.notice.chat_id, out.notice.text, out.notice.reply_to) == (
        "-1001000000001",
        SETUP_ADMIN_ONLY,
        "11",
    )


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_setup_by_an_anonymous_admin(convert: Convert) -> None:
    data = text_update("/setup Cư M'gar", sender=tu.user(1087968824, "Group", is_bot=True))
    data["message"]["sender_chat"] = GROUP
    admins = Admins()
    out = await convert(data, context(admins))
    assert [type(e) for e in out.events] == [GroupSetup]
    assert admins.asked == []  # posting as the group proves admin rights


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_rights_check_failure_refuses(convert: Convert) -> None:
    async def broken(chat_id: int, user_id: int) -> bool:
        raise ConnectionError("network down")

    ctx = replace(context(), is_admin=broken)
    out = await convert(text_update("/setup Cư M'gar", sender=ADMIN), ctx)
    assert out.events == () and out.notice is not None


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_migration(convert: Convert) -> None:
    data = tu.message_update(tu.migrate_to_chat_message(BASIC, -1009, ADMIN, date=T0))
    assert (await convert(data, context())).events == (
        GroupMigrated("tg-main", "-4000000001", "-1009"),
    )


# --------------------------------------------------------------------------- officers


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_officer_command_in_private(convert: Convert) -> None:
    out = await convert(
        text_update("/ack 12", chat=tu.private_chat(OFFICER), sender=OFFICER), context()
    )
    assert out.owned is True
    assert out.events == (
        OfficerCommand(
            platform="tg-main",
            sender_id="555",
            command="ack",
            argument="12",
            at=datetime.fromtimestamp(T0, UTC),
            chat_id="555",
            reply_ref="11",
        ),
    )


@pytest.mark.parametrize("convert", LIBRARIES)
@pytest.mark.parametrize(
    ("text", "chat"),
    [
        ("/ack 12", GROUP),  # in groups only when addressed to the bot
        ("/ack@other_bot 12", GROUP),
        ("/start@other_bot", tu.private_chat(OFFICER)),
    ],
)
async def test_not_for_botkit(convert: Convert, text: str, chat: dict[str, Any]) -> None:
    out = await convert(text_update(text, chat=chat, sender=OFFICER), context())
    assert out.events == () and out.owned is False


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_a_residents_private_message_is_a_private_message_for_the_core(
    convert: Convert,
) -> None:
    out = await convert(
        text_update("đăng ký tạm trú ở đâu ạ", chat=tu.private_chat(RESIDENT), sender=RESIDENT),
        context(),
    )
    (message,) = out.events
    assert isinstance(message, Message)
    assert message.private and message.chat_id == message.sender_id == str(RESIDENT["id"])
    assert message.text == "đăng ký tạm trú ở đâu ạ"
    assert out.owned is False  # an embedding host may read it too
    edited = tu.text_message(tu.private_chat(RESIDENT), RESIDENT, "hỏi lại", message_id=9, date=T0)
    out = await convert(tu.edited_message_update(edited, "hỏi lại lần nữa"), context())
    assert out.events == ()  # answered once, as first sent


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_addressed_officer_command_in_a_group(convert: Convert) -> None:
    out = await convert(text_update("/ack@botkit_test_bot 12", sender=OFFICER), context())
    (cmd,) = out.events
    assert isinstance(cmd, OfficerCommand)
    assert (cmd.command, cmd.argument, cmd.chat_id) == ("ack", "12", "-1001000000001")


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_edited_commands_do_not_act_again(convert: Convert) -> None:
    sent = tu.text_message(GROUP, ADMIN, "/setup Cư M'gar", message_id=20, date=T0)
    out = await convert(tu.edited_message_update(sent, "/setup Ea Tul"), context())
    assert out.events == () and out.notice is None


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_button_press(convert: Convert) -> None:
    alert = tu.text_message(tu.private_chat(OFFICER), BOT, "🚨 Vụ #12", message_id=30, date=T0)
    press = tu.callback_query_update(OFFICER, alert, "ack:12", query_id="cbq-9")
    out = await convert(press, context())
    (cmd,) = out.events
    assert isinstance(cmd, OfficerCommand)
    assert (cmd.platform, cmd.sender_id, cmd.command, cmd.argument, cmd.chat_id, cmd.reply_ref) == (
        "tg-main",
        "555",
        "ack",
        "12",
        "555",
        "cb:30:cbq-9",
    )
    assert out.owned is True and out.callback_id == "cbq-9"


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_foreign_button(convert: Convert) -> None:
    msg = tu.text_message(GROUP, BOT, "Vote", message_id=31, date=T0)
    out = await convert(tu.callback_query_update(RESIDENT, msg, "ban:42", query_id="q"), context())
    assert out == Converted(foreign_callback_id="q")


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_commune_picked_from_buttons_by_an_admin(convert: Convert) -> None:
    welcome = tu.text_message(GROUP, BOT, "Chọn xã/phường", message_id=32, date=T0)
    press = tu.callback_query_update(ADMIN, welcome, "setup:24280", query_id="s1")
    out = await convert(press, context())
    assert out.events == (GroupSetup("tg-main", "-1001000000001", "24280", "7"),)
    assert (out.owned, out.foreign_callback_id, out.answer) == (True, "s1", None)


@pytest.mark.parametrize("convert", LIBRARIES)
async def test_commune_picked_by_a_member_is_refused(convert: Convert) -> None:
    welcome = tu.text_message(GROUP, BOT, "Chọn xã/phường", message_id=32, date=T0)
    press = tu.callback_query_update(RESIDENT, welcome, "setup:24280", query_id="s2")
    out = await convert(press, context())
    assert out.events == ()
    assert (out.owned, out.foreign_callback_id, out.answer) == (True, "s2", SETUP_ADMIN_ONLY)


# --------------------------------------------------------------------------- both libraries agree

FIXTURES: list[dict[str, Any]] = [
    text_update(HOAX),
    text_update("/setup Cư M'gar", sender=ADMIN),
    text_update("/setup Cư M'gar"),
    text_update("/ack 3", chat=tu.private_chat(OFFICER), sender=OFFICER),
    tu.message_update(tu.photo_message(GROUP, RESIDENT, HOAX, message_id=40, date=T0)),
    tu.edited_message_update(tu.text_message(GROUP, RESIDENT, "a", message_id=41, date=T0), HOAX),
    tu.message_update(
        tu.forwarded_message(GROUP, RESIDENT, HOAX, tu.origin_hidden_user("X", date=T0), date=T0)
    ),
    tu.bot_added_update(GROUP, BOT, ADMIN, date=T0),
    tu.bot_removed_update(GROUP, BOT, ADMIN, date=T0),
    tu.message_update(tu.migrate_to_chat_message(BASIC, -1009, ADMIN, date=T0)),
]


@pytest.mark.parametrize("data", FIXTURES)
async def test_both_libraries_convert_alike(data: dict[str, Any]) -> None:
    assert await _ptb(data, context()) == await _aiogram(data, context())


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=500).filter(lambda t: t.strip() != ""))
async def test_any_group_text_converts_alike(text: str) -> None:
    data = text_update(text)
    ptb, aio = await _ptb(data, context()), await _aiogram(data, context())
    assert ptb == aio
    if not text.startswith("/"):
        (msg,) = ptb.events
        assert isinstance(msg, Message) and msg.text == text
