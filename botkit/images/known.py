"""Fingerprints of confirmed hoax pictures: a copy posted again is recognised by them."""

from __future__ import annotations

import threading

from botkit.images.fingerprint import BITS

# Claims of pictures share the store's claims with texts; their ids say which is which, and
# their "text" is the fingerprint.
IMAGE_CLAIM_PREFIX = "image:"


def image_claim_id(fingerprint: str) -> str:
    return f"{IMAGE_CLAIM_PREFIX}{fingerprint}"


def is_image_claim(claim_id: str) -> bool:
    return claim_id.startswith(IMAGE_CLAIM_PREFIX)


class KnownImages:
    """Nearest confirmed picture within `max_distance` bits (a linear scan: a province
    confirms hundreds of hoax pictures, not millions)."""

    def __init__(self, max_distance: int) -> None:
        self.max_distance = max_distance
        self._known: dict[str, int] = {}  # claim id → fingerprint as an int
        # Officers' confirmations add while batches match in a worker thread.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._known)

    def add(self, claim_id: str, fingerprint: str) -> None:
        with self._lock:
            self._known[claim_id] = int(fingerprint, 16)

    def match(self, fingerprint: str) -> tuple[str, float] | None:
        """(claim id, similarity in [0, 1]) of the nearest known picture, if near enough."""
        value = int(fingerprint, 16)
        with self._lock:
            best = (
                min(((v ^ value).bit_count(), claim_id) for claim_id, v in self._known.items())
                if self._known
                else None
            )
        if best is None or best[0] > self.max_distance:
            return None
        return best[1], 1.0 - best[0] / BITS


__all__ = ["IMAGE_CLAIM_PREFIX", "KnownImages", "image_claim_id", "is_image_claim"]
