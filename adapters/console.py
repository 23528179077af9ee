"""A local console: group messages from stdin, alerts and replies printed to stdout.

Each input line is `Name: text` or plain text. Lines starting with `/` are officer
commands (`/ack 12`); `Name: /ack 12` acts as the officer whose console contact is
`Name`, a bare command as the configured `operator`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import threading
from datetime import UTC, datetime
from typing import ClassVar, TextIO

from botkit.adapter import Adapter, Inbox, Unsupported
from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import DeleteMessage, EditText, Outbound, SendText

_NAMED = re.compile(r"^\s*([^:/\n]{1,40}?)\s*:\s*(.*)$")
_COMMAND = re.compile(r"^/(\w+)(?:@\w+)?(?:\s+(.*))?$")


class ConsoleAdapter(Adapter):
    platform: ClassVar[str] = "console"
    capabilities: ClassVar[frozenset[str]] = frozenset({"send", "edit"})

    def __init__(
        self,
        name: str,
        settings: AdapterSettings,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        super().__init__(name, settings)
        self.chat = str(settings.option("chat", "console"))
        self.operator = settings.option("operator")
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._ids = itertools.count(1)
        self._sent = itertools.count(1)
        self._closed = False

    async def run(self, inbox: Inbox) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            # A daemon thread: a blocked readline must not keep the process alive on shutdown.
            for raw in iter(self.stdin.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, raw)
            loop.call_soon_threadsafe(lines.put_nowait, "")

        if self.stdin.isatty():
            self._print("botkit console — gõ tin nhắn của nhóm, hoặc /ack ID, Ctrl-D để thoát")
        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        while not self._closed:
            line = await lines.get()
            if line == "":
                return  # EOF
            event = self.parse_line(line.rstrip("\r\n"))
            if event is not None:
                await inbox.submit(event)

    def parse_line(self, line: str) -> Message | OfficerCommand | None:
        if not line.strip():
            return None
        sender: str | None = None
        text = line
        named = _NAMED.match(line)
        if named and not line.lstrip().startswith(("http://", "https://")):
            sender, text = named.group(1).strip(), named.group(2)
        now = datetime.now(UTC)
        command = _COMMAND.match(text.strip())
        if command:
            return OfficerCommand(
                platform=self.name,
                sender_id=sender or str(self.operator or "console"),
                command=command.group(1).lower(),
                argument=(command.group(2) or "").strip() or None,
                at=now,
                chat_id=self.chat,
            )
        return Message(
            platform=self.name,
            chat_id=self.chat,
            message_id=str(next(self._ids)),
            text=text,
            sent_at=now,
            sender_id=sender,
            sender_name=sender,
        )

    async def send(self, action: Outbound) -> str | None:
        if isinstance(action, SendText):
            ref = f"c{next(self._sent)}"
            header = f"── tới {action.chat_id} [{ref}]"
            if action.reply_to:
                header += f" (trả lời tin {action.reply_to})"
            self._print(f"{header}\n{action.text}")
            if action.buttons:
                self._print(
                    "   "
                    + "  ".join(
                        f"[{b.label} → /{b.action.replace(':', ' ')}]" for b in action.buttons
                    )
                )
            return ref
        if isinstance(action, EditText):
            self._print(f"── cập nhật [{action.ref}] tới {action.chat_id}\n{action.text}")
            return action.ref
        if isinstance(action, DeleteMessage):
            raise Unsupported("the console cannot delete messages")
        return None

    async def close(self) -> None:
        self._closed = True

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)
