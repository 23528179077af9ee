"""A real `redis-server` on a free loopback port, started by the tests (never a mock).

One server serves the whole test session; each test gets a key prefix of its own, so tests
never see each other's data. Fault tests start servers of their own (`RedisServer`) to stop
and restart them.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """`redis-server` as a child process, with an append-only file so a restart keeps data."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: `apt-get install redis-server` (.ci/run does it)"
            )
        self.binary = binary
        self.folder = folder or Path(tempfile.mkdtemp(prefix="botkit-redis-"))
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = {
            "--port": str(self.port),
            "--bind": "127.0.0.1",
            "--dir": str(self.folder),
            "--appendonly": "yes",
            "--appendfsync": "everysec",
            "--save": "",
            "--protected-mode": "yes",
        }
        self.proc = subprocess.Popen(
            [self.binary, *(x for pair in args.items() for x in pair)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.RedisError as exc:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from exc
                time.sleep(0.02)
        client.close()
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


_shared: RedisServer | None = None


def shared_url() -> str:
    """The session's server, started on first use and stopped when the tests end."""
    global _shared
    if _shared is None:
        _shared = RedisServer().start()
        atexit.register(_shared.stop)
    return _shared.url


def fresh_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"
