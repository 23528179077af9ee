"""The adapter contract: every platform adapter, against its loopback emulator, keeps the
port of `botkit.adapter` the same way.

Nothing is skipped: what a platform cannot do is declared in the adapter's `capabilities`
("edit", "delete", as the dispatcher reads them) and `send` must then raise `Unsupported`.
Drivers (`contract_drivers.py`) play each platform's side.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import pytest

from botkit.adapter import DeliveryError, Unsupported
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, DeleteMessage, EditText, SendText
from tests.adapters.contract_drivers import (
    PLATFORMS,
    PlatformDriver,
    Posted,
    Received,
    open_driver,
)

BUTTONS = (
    Button("✋ Tiếp nhận", "ack:12"),
    Button("✅ Xác nhận", "confirm:12"),
    Button("❌ Báo nhầm", "false:12"),
)
E = TypeVar("E")

ALERT = "🚨 Vụ #12 · tin giả · điểm 0.91\nNhóm: Thôn 3 - xã Cư M'gar"


def read_back(buttons: tuple[Button, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((b.label, b.action) for b in buttons)


@pytest.fixture(params=PLATFORMS)
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PlatformDriver]:
    """The platform's adapter receiving the way it does by default."""
    async with open_driver(request.param, tmp_path) as running:
        yield running


@pytest.fixture(params=PLATFORMS)
async def hooked(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PlatformDriver]:
    """The platform's adapter receiving by webhook (Telegram and Zalo Bot can also poll)."""
    async with open_driver(request.param, tmp_path, webhook=True) as running:
        yield running


# --------------------------------------------------------------------------- capabilities


async def test_send_is_a_capability_and_returns_the_platforms_message_id(
    driver: PlatformDriver,
) -> None:
    assert "send" in driver.adapter.capabilities
    ref = await driver.adapter.send(SendText(driver.officer, "Ca trực tối nay: Y Thành"))
    assert driver.received(driver.officer) == [Received(str(ref), "Ca trực tối nay: Y Thành")]


async def test_edit_shows_in_the_chat_or_is_unsupported(driver: PlatformDriver) -> None:
    ref = await driver.adapter.send(SendText(driver.officer, "Vụ #12: Mới", BUTTONS))
    assert ref is not None
    edit = EditText(driver.officer, ref, "Vụ #12: Đã tiếp nhận", BUTTONS[1:])
    if "edit" in driver.adapter.capabilities:
        await driver.adapter.send(edit)
        now = Received(ref, "Vụ #12: Đã tiếp nhận", read_back(BUTTONS[1:]))
    else:
        with pytest.raises(Unsupported):
            await driver.adapter.send(edit)
        now = Received(ref, "Vụ #12: Mới", read_back(BUTTONS))
    assert driver.received(driver.officer) == [now]


async def test_delete_removes_the_message_or_is_unsupported(driver: PlatformDriver) -> None:
    await driver.resident_posts("Tin giả: đập thủy điện sắp vỡ, sơ tán ngay!")
    message = await driver.inbox.wait_for(Message)
    delete = DeleteMessage(message.chat_id, message.message_id)
    if "delete" in driver.adapter.capabilities:
        await driver.adapter.send(delete)
    else:
        with pytest.raises(Unsupported):
            await driver.adapter.send(delete)
    supported = "delete" in driver.adapter.capabilities
    assert driver.deleted(message.chat_id, message.message_id) is supported


# --------------------------------------------------------------------------- receiving


async def test_a_residents_message_reaches_the_inbox(driver: PlatformDriver) -> None:
    posted = await driver.resident_posts("Nghe nói mai cắt điện cả xã, ai biết không?")
    message = await driver.inbox.wait_for(Message)
    assert (
        message.platform,
        message.chat_id,
        message.message_id,
        message.text,
        message.sender_id,
    ) == (driver.adapter.name, posted.chat_id, posted.message_id, posted.text, posted.sender_id)
    # In a group where the platform has groups, else in the resident's own chat with the bot.
    assert (message.chat_id != message.sender_id) is driver.has_groups


async def delivered_twice(driver: PlatformDriver, posted: Posted, kind: type[E]) -> list[E]:
    """The events of `posted` once the platform has delivered it a second time."""
    await driver.inbox.wait_for(kind)
    await driver.deliver_again(posted)
    await driver.inbox.wait_for(kind, lambda e: len(driver.inbox.of(kind)) == 2)
    return driver.inbox.of(kind)


async def test_a_message_delivered_twice_has_one_identity(hooked: PlatformDriver) -> None:
    posted = await hooked.resident_posts("Có người lạ hỏi mua chó ở thôn 5")
    first, again = await delivered_twice(hooked, posted, Message)
    assert again.key == first.key  # the core keeps the event once
    assert again.message_id == posted.message_id


async def test_a_command_delivered_twice_has_one_identity(hooked: PlatformDriver) -> None:
    posted = await hooked.officer_types("/ack 12")
    first, again = await delivered_twice(hooked, posted, OfficerCommand)
    assert first.event_id is not None and again.event_id == first.event_id


def the_officers_ack(driver: PlatformDriver) -> tuple[str, str | None, str, str, str | None]:
    return (driver.adapter.name, driver.officer, driver.officer, "ack", "12")


def as_seen(command: OfficerCommand) -> tuple[str, str | None, str, str, str | None]:
    return (command.platform, command.chat_id, command.sender_id, command.command, command.argument)


async def test_an_officers_typed_command(driver: PlatformDriver) -> None:
    await driver.officer_types("/ack 12")
    command = await driver.inbox.wait_for(OfficerCommand)
    assert as_seen(command) == the_officers_ack(driver)


async def test_an_officers_button_press_is_the_same_command(driver: PlatformDriver) -> None:
    await driver.adapter.send(SendText(driver.officer, ALERT, BUTTONS))
    await driver.officer_presses("✋ Tiếp nhận")
    command = await driver.inbox.wait_for(OfficerCommand)
    assert as_seen(command) == the_officers_ack(driver)


# --------------------------------------------------------------------------- sending


async def test_buttons_reach_the_recipient_in_the_platforms_form(driver: PlatformDriver) -> None:
    ref = await driver.adapter.send(SendText(driver.officer, ALERT, BUTTONS))
    assert driver.received(driver.officer) == [Received(str(ref), ALERT, read_back(BUTTONS))]


def squeezed(text: str) -> str:
    """The text without white space: pieces may be cut at a line end the platform trims."""
    return re.sub(r"\s+", "", text)


async def test_a_text_over_the_limit_arrives_split_in_order(driver: PlatformDriver) -> None:
    line = "Dòng {:04}: người dân báo tin về vụ việc ở thôn 3, xã Cư M'gar"
    lines = [line.format(i) for i in range(5 * driver.text_limit // (2 * len(line)))]
    text = "\n".join(lines)  # two and a half messages' worth
    ref = await driver.adapter.send(SendText(driver.officer, text, BUTTONS))
    pieces = driver.received(driver.officer)
    assert len(pieces) >= 3 and all(len(p.text) <= driver.text_limit for p in pieces)
    assert squeezed("".join(p.text for p in pieces)) == squeezed(text)
    # The buttons come with the end of the text, and the alert is that last message.
    assert [p.buttons for p in pieces] == [()] * (len(pieces) - 1) + [read_back(BUTTONS)]
    assert ref == pieces[-1].ref


async def test_a_rate_limit_is_a_delivery_error_with_retry_after(driver: PlatformDriver) -> None:
    pause = driver.rate_limit_next_send()
    with pytest.raises(DeliveryError) as caught:
        await driver.adapter.send(SendText(driver.officer, ALERT, BUTTONS))
    assert (caught.value.retry_after, caught.value.permanent) == (pause, False)
    assert driver.received(driver.officer) == []


async def test_an_unreachable_recipient_is_a_permanent_delivery_error(
    driver: PlatformDriver,
) -> None:
    driver.make_unreachable(driver.officer)
    with pytest.raises(DeliveryError) as caught:
        await driver.adapter.send(SendText(driver.officer, ALERT, BUTTONS))
    assert caught.value.permanent
    assert driver.received(driver.officer) == []


# --------------------------------------------------------------------------- webhooks


async def test_a_webhook_post_with_a_wrong_signature_is_refused(hooked: PlatformDriver) -> None:
    assert await hooked.post_forged("Giả mạo: công an xã yêu cầu chuyển tiền") in (401, 403)
    posted = await hooked.resident_posts("Tin thật từ thôn 3")
    message = await hooked.inbox.wait_for(Message)
    # The forged post came first and was refused at once: the genuine one is all there is.
    assert hooked.inbox.events == [message] and message.message_id == posted.message_id
