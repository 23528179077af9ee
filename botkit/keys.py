"""The secret key behind pseudonyms and sealed payloads, and the guard against changing it.

Every keyed hash in the store (message and sender pseudonyms, content keys, intake keys)
depends on this key. Started with another key, botkit would not recognise anything it stored
before: every incident would reopen and every page go out again. So the store records the
key's fingerprint and refuses to start with a different key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KEY_FILE = "hash.key"
MIN_KEY_BYTES = 16
FINGERPRINT_META = "hash_key_fingerprint"


class KeyProblem(Exception):
    """The hash key is missing, too short or not the one the store was written with."""


@dataclass(frozen=True, slots=True)
class HashKey:
    secret: bytes
    source: str  # where it came from, for messages: "$BOTKIT_HASH_KEY" or a file path

    @property
    def fingerprint(self) -> str:
        """Identifies the key without revealing it."""
        return hmac.new(self.secret, b"botkit key fingerprint v1", hashlib.sha256).hexdigest()[:16]


def resolve_hash_key(env_name: str, data_dir: Path, expected: str | None) -> HashKey:
    """The key from the environment, else the key file; made once only for a new store.

    `expected` is the fingerprint the store recorded (None for a new store).
    """
    key_file = data_dir / KEY_FILE
    value = os.environ.get(env_name)
    if value:
        key = HashKey(value.encode(), f"${env_name}")
    elif key_file.exists():
        key = HashKey(key_file.read_bytes().strip(), str(key_file))
    elif expected is not None:
        raise KeyProblem(
            f"the store was written with a hash key (fingerprint {expected}), but {env_name}"
            f" is not set and {key_file} does not exist: set {env_name} to that key or restore"
            f" {key_file}; a new key would reopen every incident and page everyone again"
        )
    else:
        key = HashKey(_create_key_file(key_file), str(key_file))
        log.warning(
            "%s is not set: created a local hash key in %s; set %s in production",
            env_name,
            key_file,
            env_name,
        )
    if len(key.secret) < MIN_KEY_BYTES:
        raise KeyProblem(f"the hash key from {key.source} is shorter than {MIN_KEY_BYTES} bytes")
    if expected is not None and key.fingerprint != expected:
        raise KeyProblem(
            f"the store was written with another hash key (fingerprint {expected}); the key"
            f" from {key.source} has fingerprint {key.fingerprint}: set {env_name} to the"
            f" original key or restore {key_file}"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new key atomically: never half a key, never over a key another process wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            key = path.read_bytes().strip()  # another process won the race: use its key
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return key


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
