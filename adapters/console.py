"""A local console: group messages from stdin, alerts and replies printed to stdout.

Each input line is `Name: text` or plain text, posted in the group. `@Name: text` is Name
writing to the bot in a private chat (a resident's question or report). Lines starting
with `/` are officer commands (`/ack 12`); `Name: /ack 12` acts as the officer whose console
contact is `Name`, a bare command as the configured `operator`. `Name: [ảnh: file.jpg] caption`
posts a picture from a local file, with an optional caption (for demos and tests of the
picture stage).

Message ids are unique across runs (a random run tag and a counter), so a second run's
reports are never taken for the first run's redelivered. Reading is bounded: while botkit
cannot take more, lines stay in the pipe and the writer waits. Lines already read are handed
over before the adapter stops, even when it is stopped by a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, TextIO

from botkit.adapter import (
    Adapter,
    InboundEvent,
    Inbox,
    IntakeUnavailable,
    PhotoUnavailable,
    Unsupported,
)
from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.domain.message import PHOTO
from botkit.outbound import CopyMessage, DeleteMessage, EditText, Outbound, SendText

log = logging.getLogger(__name__)

LINE_BUFFER = 256  # lines read ahead of the intake at most
MAX_LINE = 64 * 1024  # characters of one line kept; a message is never longer
RETRY_SECONDS = 1.0
_NAMED = re.compile(r"^\s*([^:/\n]{1,40}?)\s*:\s*(.*)$")
_COMMAND = re.compile(r"^/(\w+)(?:@\w+)?(?:\s+(.*))?$")
_PICTURE = re.compile(
    r"^\s*\[(?:ảnh|anh|photo)\s*:\s*([^\]]+)\]\s*(.*)$", re.IGNORECASE | re.DOTALL
)


class ConsoleAdapter(Adapter):
    platform: ClassVar[str] = "console"
    capabilities: ClassVar[frozenset[str]] = frozenset({"send", "edit", "photos"})

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
        # The run's start (ms) and a random tag: no two runs share an id prefix.
        self._run = f"{time.time_ns() // 1_000_000:x}{secrets.token_hex(2)}"
        self._ids = itertools.count(1)
        self._sent = itertools.count(1)
        self._closed = False

    async def run(self, inbox: Inbox) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue(maxsize=LINE_BUFFER)

        def read() -> None:
            # A daemon thread: a blocked readline must not keep the process alive on shutdown.
            # Waiting for room in the queue stops reading: the writer's pipe fills and waits.
            for raw in iter(self._read_line, ""):
                put = asyncio.run_coroutine_threadsafe(lines.put(raw), loop)
                try:
                    put.result()
                except Exception:  # the loop is gone: nobody will read on
                    return
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(lines.put(None), loop)

        if self.stdin.isatty():
            self._print("botkit console — gõ tin nhắn của nhóm, hoặc /ack ID, Ctrl-D để thoát")
        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        pending: list[InboundEvent] = []
        try:
            while not self._closed:
                line = await lines.get()
                ended = line is None
                for raw in [line, *_take_waiting(lines)]:
                    if raw is None:
                        ended = True
                    elif (event := self.parse_line(raw.rstrip("\r\n"))) is not None:
                        pending.append(event)
                await self._hand_over(inbox, pending)
                pending = []
                if ended:
                    return  # EOF
        except asyncio.CancelledError:
            # Stopped: what was read must not vanish with the process.
            pending += [
                e
                for raw in _take_waiting(lines)
                if raw is not None
                if (e := self.parse_line(raw.rstrip("\r\n"))) is not None
            ]
            if pending:
                with contextlib.suppress(IntakeUnavailable):
                    await inbox.submit_many(pending, wait=False)
                    pending = []
            if pending:
                log.error("console: %d line(s) read could not be kept", len(pending))
            raise

    async def _hand_over(self, inbox: Inbox, events: Sequence[InboundEvent]) -> None:
        """Until botkit takes them: a full intake or failing storage only makes us wait."""
        while events:
            try:
                await inbox.submit_many(events)
                return
            except IntakeUnavailable as exc:
                log.warning("console: lines wait (%s); retrying", exc)
                await asyncio.sleep(RETRY_SECONDS)

    def parse_line(self, line: str) -> Message | OfficerCommand | None:
        if not line.strip():
            return None
        sender: str | None = None
        text = line
        private = line.lstrip().startswith("@")
        if private:
            line = line.lstrip()[1:]
        named = _NAMED.match(line)
        if named and not line.lstrip().startswith(("http://", "https://")):
            sender, text = named.group(1).strip(), named.group(2)
        elif private:
            text = line  # `@text`: a private message from someone unnamed
        now = datetime.now(UTC)
        extra: tuple[tuple[str, str], ...] = ()
        picture = _PICTURE.match(text)
        if picture:
            text = picture.group(2).strip()  # the caption
            extra = (("media", "photo"), (PHOTO, picture.group(1).strip()))
        if private and not _COMMAND.match(text.strip()):
            resident = sender or "resident"
            return Message(
                platform=self.name,
                chat_id=resident,  # a private chat's id is the person's
                message_id=self._next_id(),
                text=text,
                sent_at=now,
                sender_id=resident,
                sender_name=sender,
                is_caption=bool(extra and text),
                extra=extra,
                private=True,
            )
        command = None if extra else _COMMAND.match(text.strip())
        if command:
            sender_id = sender or str(self.operator or "console")
            return OfficerCommand(
                platform=self.name,
                sender_id=sender_id,
                command=command.group(1).lower(),
                argument=(command.group(2) or "").strip() or None,
                at=now,
                chat_id=sender_id if private else self.chat,
                event_id=self._next_id(),
            )
        return Message(
            platform=self.name,
            chat_id=self.chat,
            message_id=self._next_id(),
            text=text,
            sent_at=now,
            sender_id=sender,
            sender_name=sender,
            is_caption=bool(extra and text),
            extra=extra,
        )

    async def fetch_photo(self, ref: str, max_bytes: int) -> bytes:
        """A picture named on the console is a local file."""

        def read() -> bytes:
            path = Path(ref).expanduser()
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    raise PhotoUnavailable(
                        f"{ref}: {size:,} bytes, over the limit of {max_bytes:,}"
                    )
                with path.open("rb") as f:
                    return f.read(max_bytes + 1)[: max_bytes + 1]
            except OSError as exc:
                raise PhotoUnavailable(f"{ref}: {exc.strerror or exc}") from None

        data = await asyncio.to_thread(read)
        if len(data) > max_bytes:  # grew since stat
            raise PhotoUnavailable(f"{ref}: over the limit of {max_bytes:,} bytes")
        return data

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
        if isinstance(action, CopyMessage):
            ref = f"c{next(self._sent)}"
            self._print(f"── tới {action.chat_id} [{ref}]\n[ảnh: bản sao tin {action.message_id}]")
            return ref
        return None

    def _read_line(self) -> str:
        """One line, at most MAX_LINE characters: the rest of a longer line is skipped, so a
        writer that never ends its line cannot fill the memory."""
        line = self.stdin.readline(MAX_LINE)
        if len(line) == MAX_LINE and not line.endswith("\n"):
            log.warning("console: a line longer than %d characters was cut", MAX_LINE)
            while (rest := self.stdin.readline(MAX_LINE)) and not rest.endswith("\n"):
                pass
            line += "\n"
        return line

    def _next_id(self) -> str:
        return f"{self._run}-{next(self._ids)}"

    async def close(self) -> None:
        self._closed = True

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


def _take_waiting(lines: asyncio.Queue[str | None]) -> list[str | None]:
    taken: list[str | None] = []
    while not lines.empty():
        taken.append(lines.get_nowait())
    return taken
