"""Confirmed hoaxes the bot recognises when they come back: texts by the classifier's claim
index, pictures by their fingerprints. Both are kept in the store's claims; a picture's claim
id says it is one (`botkit.images.known`)."""

from __future__ import annotations

from typing import Protocol

from botkit.images.known import KnownImages, is_image_claim


class TextClaims(Protocol):
    def accepts_claim(self, text: str) -> bool: ...
    def add_claim(self, claim_id: str, text: str) -> None: ...


class KnownClaims:
    def __init__(self, texts: TextClaims, images: KnownImages) -> None:
        self.texts = texts
        self.images = images

    def accepts_claim(self, text: str) -> bool:
        return self.texts.accepts_claim(text)

    def accepts(self, claim_id: str, text: str) -> bool:
        """Whether a stored claim can be recognised (a text long enough to match on)."""
        return is_image_claim(claim_id) or self.texts.accepts_claim(text)

    def add_claim(self, claim_id: str, text: str) -> None:
        """A picture's claim carries its fingerprint as its text."""
        if is_image_claim(claim_id):
            self.images.add(claim_id, text)
        else:
            self.texts.add_claim(claim_id, text)
