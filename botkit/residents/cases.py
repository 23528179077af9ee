"""Case codes residents keep (`17-K3F9Q`) and residents' contacts sealed at rest.

The number is the case's; the secret part proves the holder is the one who opened it, so
`/tinhtrang` tells nothing to someone guessing numbers. Only a hash of the secret is stored.
"""

from __future__ import annotations

import re
import secrets

from botkit.privacy import Pseudonymizer
from botkit.sealing import Sealer, SealError

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_SECRET_CHARS = 5
_CODE = re.compile(r"^\s*#?(\d{1,12})\s*[-\s]\s*([A-Za-z0-9]{5})\s*$")


class CaseKeys:
    def __init__(self, pseudonymizer: Pseudonymizer, secret: bytes) -> None:
        self.pseudonymizer = pseudonymizer
        self.sealer = Sealer(secret, purpose=b"botkit resident contact v1")

    def new_secret(self) -> tuple[str, str]:
        """A fresh secret and the hash to store."""
        secret = "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_CHARS))
        return secret, self.hash(secret)

    def hash(self, secret: str) -> str:
        return self.pseudonymizer.hash("case-code", secret.upper())

    @staticmethod
    def code(case_id: int, secret: str) -> str:
        return f"{case_id}-{secret}"

    @staticmethod
    def parse(text: str | None) -> tuple[int, str] | None:
        match = _CODE.match(text or "")
        return (int(match.group(1)), match.group(2).upper()) if match else None

    def seal_contact(self, chat_id: str) -> bytes:
        return self.sealer.seal(chat_id.encode())

    def open_contact(self, sealed: bytes) -> str | None:
        """None when it cannot be opened (another hash key): the resident is then unreachable."""
        try:
            return self.sealer.open(sealed).decode()
        except SealError:
            return None
