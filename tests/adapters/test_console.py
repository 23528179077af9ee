"""The console adapter: lines in, core events out; alerts printed as delivered."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest

from adapters.console import MAX_LINE, ConsoleAdapter
from botkit.adapter import InboundEvent, IntakeUnavailable, Unsupported
from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, DeleteMessage, SendText


@pytest.fixture
def console() -> ConsoleAdapter:
    settings = AdapterSettings(enabled=True, chat="g1", operator="thanh")  # type: ignore[call-arg]
    return ConsoleAdapter("console", settings, stdin=io.StringIO(), stdout=io.StringIO())


@pytest.mark.parametrize(
    ("line", "sender", "text"),
    [
        ("Lan: có trộm xe ở thôn 5", "Lan", "có trộm xe ở thôn 5"),
        ("co trom xe may o thon 5", None, "co trom xe may o thon 5"),
        ("https://example.vn/a: xem link", None, "https://example.vn/a: xem link"),
        ("😀😀😀", None, "😀😀😀"),
    ],
)
def test_lines_become_messages(
    console: ConsoleAdapter, line: str, sender: str | None, text: str
) -> None:
    event = console.parse_line(line)
    assert isinstance(event, Message)
    assert (event.sender_id, event.text, event.chat_id, event.platform) == (
        sender,
        text,
        "g1",
        "console",
    )


@pytest.mark.parametrize(
    ("line", "sender", "command", "argument"),
    [
        ("/ack 12", "thanh", "ack", "12"),
        ("binh: /confirm 3", "binh", "confirm", "3"),
        ("/incidents", "thanh", "incidents", None),
    ],
)
def test_commands(
    console: ConsoleAdapter, line: str, sender: str, command: str, argument: str | None
) -> None:
    event = console.parse_line(line)
    assert isinstance(event, OfficerCommand)
    assert (event.sender_id, event.command, event.argument) == (sender, command, argument)


def test_at_lines_are_private_messages_and_commands(console: ConsoleAdapter) -> None:
    event = console.parse_line("@Lan: đăng ký tạm trú ở đâu")
    assert isinstance(event, Message) and event.private
    assert (event.chat_id, event.sender_id, event.text) == ("Lan", "Lan", "đăng ký tạm trú ở đâu")
    unnamed = console.parse_line("@mất căn cước làm lại ở đâu")
    assert isinstance(unnamed, Message) and unnamed.private and unnamed.chat_id == "resident"
    command = console.parse_line("@Lan: /tinhtrang 3-ABCDE")
    assert isinstance(command, OfficerCommand) and command.in_private
    assert (command.sender_id, command.command, command.argument) == ("Lan", "tinhtrang", "3-ABCDE")
    group = console.parse_line("Lan: xin chào")
    assert isinstance(group, Message) and not group.private


def test_blank_lines_are_skipped(console: ConsoleAdapter) -> None:
    assert console.parse_line("   ") is None


async def test_alerts_print_with_their_buttons(console: ConsoleAdapter) -> None:
    ref = await console.send(SendText("thanh", "🚨 Vụ #1", (Button("✋ Tiếp nhận", "ack:1"),)))
    printed = console.stdout.getvalue()  # type: ignore[attr-defined]
    assert ref and "tới thanh" in printed and "/ack 1" in printed
    with pytest.raises(Unsupported):
        await console.send(DeleteMessage("g1", "1"))


class ListInbox:
    def __init__(self, refusals: int = 0) -> None:
        self.seen: list[InboundEvent] = []
        self.refusals = refusals

    async def submit(self, event: InboundEvent) -> None:
        await self.submit_many([event])

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        if self.refusals:
            self.refusals -= 1
            raise IntakeUnavailable("database or disk is full")
        self.seen += events


async def test_run_reads_until_eof(console: ConsoleAdapter) -> None:
    console.stdin = io.StringIO("Lan: một\n\nhai\n/ack 1\n")
    inbox = ListInbox()
    await console.run(inbox)
    assert [type(e).__name__ for e in inbox.seen] == ["Message", "Message", "OfficerCommand"]


async def test_ids_are_unique_across_runs() -> None:
    ids = set()
    for _ in range(2):  # two runs, as two `make run` in a row
        settings = AdapterSettings(enabled=True, chat="g1")  # type: ignore[call-arg]
        stdin = io.StringIO("một\nhai\n/ack 1\n")
        adapter = ConsoleAdapter("console", settings, stdin=stdin, stdout=io.StringIO())
        inbox = ListInbox()
        await adapter.run(inbox)
        ids |= {e.message_id if isinstance(e, Message) else e.event_id for e in inbox.seen}
    assert len(ids) == 6


async def test_lines_wait_while_botkit_cannot_take_them(
    console: ConsoleAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("adapters.console.RETRY_SECONDS", 0.01)
    console.stdin = io.StringIO("một\nhai\n")
    inbox = ListInbox(refusals=3)
    await console.run(inbox)
    assert [e.text for e in inbox.seen if isinstance(e, Message)] == ["một", "hai"]


async def test_a_line_that_never_ends_is_cut_not_held_whole(console: ConsoleAdapter) -> None:
    console.stdin = io.StringIO("x" * (MAX_LINE * 3 + 5) + "\nhai\n")
    inbox = ListInbox()
    await console.run(inbox)
    texts = [e.text for e in inbox.seen if isinstance(e, Message)]
    assert [len(texts[0]), texts[1]] == [MAX_LINE, "hai"]
