"""The console adapter: lines in, core events out; alerts printed as delivered."""

from __future__ import annotations

import io

import pytest

from adapters.console import ConsoleAdapter
from botkit.adapter import Unsupported
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


def test_blank_lines_are_skipped(console: ConsoleAdapter) -> None:
    assert console.parse_line("   ") is None


async def test_alerts_print_with_their_buttons(console: ConsoleAdapter) -> None:
    ref = await console.send(SendText("thanh", "🚨 Vụ #1", (Button("✋ Tiếp nhận", "ack:1"),)))
    printed = console.stdout.getvalue()  # type: ignore[attr-defined]
    assert ref and "tới thanh" in printed and "/ack 1" in printed
    with pytest.raises(Unsupported):
        await console.send(DeleteMessage("g1", "1"))


async def test_run_reads_until_eof(console: ConsoleAdapter) -> None:
    console.stdin = io.StringIO("Lan: một\n\nhai\n/ack 1\n")
    seen: list[object] = []

    class Inbox:
        async def submit(self, event: object) -> None:
            seen.append(event)

    await console.run(Inbox())
    assert [type(e).__name__ for e in seen] == ["Message", "Message", "OfficerCommand"]
