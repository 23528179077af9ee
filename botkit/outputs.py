"""Files the commands write for the user: checked before the work starts, and put in place
only when the work is done, so a failed or interrupted run leaves the previous file intact."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class OutputError(Exception):
    """An `--output` that cannot be written as asked (the user's to fix)."""


def check_output(path: Path, *, force: bool | None = None) -> None:
    """Refuse before any work: a missing folder, a folder given as a file, or (when `force`
    is False) an existing file or directory. `force=None`: replacing is the command's job
    (`replay` rewrites its results)."""
    if not path.parent.is_dir():
        raise OutputError(f"--output {path}: the folder {path.parent} does not exist")
    if force is False and path.exists():
        raise OutputError(f"--output {path}: exists already; add --force to replace it")
    if path.is_dir() and force is None:
        raise OutputError(f"--output {path}: is a folder, not a file")


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[IO[str]]:
    """A text file written beside `path` and renamed over it when the block ends without an
    error; on an error (or Ctrl-C) the half-written file is removed and `path` is untouched."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fh = tmp.open("w", encoding="utf-8", newline="")
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, path)
    finally:
        fh.close()
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def replacing_path(path: Path) -> Iterator[Path]:
    """Like `replacing`, for a writer that wants a path (an image): a temporary path beside
    `path`, renamed over it when the block ends without an error."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
