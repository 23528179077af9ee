"""Saving a small secret file so that a crash leaves either the old or the new one.

Zalo's refresh tokens are single-use: once a refresh succeeds, the old token is dead, so
the new one must be on disk before anything else happens (write, fsync, rename, fsync dir).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def save_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
