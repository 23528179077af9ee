"""Sealed payloads: accepted events wait in the intake encrypted, not in clear.

AES-256-GCM (the `cryptography` package) with a key derived from the hash key by HKDF, so
one secret protects both pseudonyms and payloads, and a payload cannot be read or altered
without it.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE = 12


class SealError(ValueError):
    """A sealed payload is corrupt or was sealed with another key."""


class Sealer:
    def __init__(self, secret: bytes, purpose: bytes = b"botkit intake v1") -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, _VERSION)

    def open(self, blob: bytes) -> bytes:
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise SealError("not a sealed payload of this botkit version")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], _VERSION)
        except InvalidTag:
            raise SealError("sealed payload is corrupt or was sealed with another key") from None
