"""Where a process that seems stuck waits, written to its log on a signal.

`kill -USR1 <pid>`: every thread's stack (faulthandler, in C: it works even when the event
loop is blocked). `kill -USR2 <pid>`: every asyncio task and what it awaits, coroutine by
coroutine down to the future it waits on. A stuck process whose threads are all idle (the
loop in `select`) is a task waiting for something that will not come; only the second says
which.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import signal
import sys
from typing import Any, TextIO


def register_thread_dump() -> None:
    if hasattr(signal, "SIGUSR1"):
        # Not without a file descriptor behind stderr (an embedding host's): nothing to write to.
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            faulthandler.register(signal.SIGUSR1, all_threads=True)


def register_task_dump(loop: asyncio.AbstractEventLoop) -> None:
    if hasattr(signal, "SIGUSR2"):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGUSR2, dump_tasks)


def awaiting(task: asyncio.Task[Any]) -> list[str]:
    """The task's coroutines from the outermost in, then what the innermost awaits.

    `Task.print_stack` shows a suspended task's outermost frame only."""
    lines: list[str] = []
    current: Any = task.get_coro()
    while current is not None:
        frame = getattr(current, "cr_frame", None) or getattr(current, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        nested = getattr(current, "cr_await", None) or getattr(current, "gi_yieldfrom", None)
        if nested is None and frame is None:
            break
        if (
            nested is not None
            and not hasattr(nested, "cr_frame")
            and not hasattr(nested, "gi_frame")
        ):
            # `await future` leaves an iterator here; the task keeps the future itself (in a
            # private attribute of asyncio's Task, the same in every version botkit runs on).
            waited = getattr(task, "_fut_waiter", None)
            lines.append(f"  awaits {waited if waited is not None else nested!r}")
            break
        current = nested
    return lines


def dump_tasks(out: TextIO | None = None) -> None:
    stream = out or sys.stderr
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    print(f"--- {len(tasks)} asyncio task(s), and what each awaits:", file=stream)
    for task in tasks:
        state = "being cancelled" if task.cancelling() else "pending"
        print(f"{task.get_name()} ({state}):", file=stream)
        for line in awaiting(task):
            print(line, file=stream)
    stream.flush()
