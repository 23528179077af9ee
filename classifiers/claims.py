"""Known-claim matcher: recognise a confirmed hoax when it is forwarded again.

Each claim is reduced to word shingles of its canonical text (diacritics folded,
teencode expanded, punctuation and emoji removed, forwarding boilerplate such as
"CHIA SẺ GẤP" or "Fw:" stripped). An inverted index from shingle to claims yields
candidates; shingles carried by too many claims are skipped because they say nothing
about which claim this is. Candidates are scored by overlap relative to the smaller
text, so a forwarded first or last half of a claim still matches, while a short
message that merely shares a place name with a long claim does not.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from classifiers.normalize import canonical_text

__all__ = ["ClaimIndex", "ClaimMatch", "claim_words"]


@dataclass(frozen=True)
class ClaimMatch:
    """A known claim that a message repeats, with its similarity in [0, 1]."""

    claim_id: str
    similarity: float


def _phrases(spec: str) -> tuple[tuple[str, ...], ...]:
    """'a b|c' -> (("a", "b"), ("c",)), longest first so "chia se gap" beats "chia se"."""
    phrases = {tuple(p.split()) for p in spec.split("|") if p.strip()}
    return tuple(sorted(phrases, key=lambda p: (-len(p), p)))


# Forwarding noise, in canonical (folded, lower-case) form. Stripped from both ends of
# claims and queries alike, so a claim that itself starts "Cảnh báo" still matches.
_LEADING_NOISE = _phrases(
    """fw|fwd|forward|chuyen tiep|chia se gap|chia se ngay|chia se|share gap|share ngay|
    share|tin khan|tin nong|khan cap|khan|nong|gap|canh bao|thong bao khan|thong bao|
    bao dong|cap bao|luu y|chu y|can than|moi nguoi oi|ca nha oi|ae oi|anh em oi|
    ba con oi|moi nguoi|ca nha|ae|anh em|ba con|rt|tin moi|moi nhat|breaking"""
)
_TRAILING_NOISE = _phrases(
    """chia se cho moi nguoi cung biet|chia se cho moi nguoi|chia se de moi nguoi biet|
    moi nguoi chia se|moi nguoi share|share cho moi nguoi|chia se gap|share gap|
    chia se|share|nhe|nhe moi nguoi"""
)
_WORD = re.compile(r"[0-9a-z]+")


def _strip_noise(words: list[str]) -> list[str]:
    start, end = 0, len(words)
    changed = True
    while changed:
        changed = False
        for phrase in _LEADING_NOISE:
            n = len(phrase)
            if end - start > n and tuple(words[start : start + n]) == phrase:
                start += n
                changed = True
                break
        for phrase in _TRAILING_NOISE:
            n = len(phrase)
            if end - start > n and tuple(words[end - n : end]) == phrase:
                end -= n
                changed = True
                break
    return words[start:end]


def claim_words(text: str, max_words: int = 2000) -> list[str]:
    """Canonical words of a message as the index sees them (exposed for debugging)."""
    canonical = canonical_text(text).lower()
    words = _WORD.findall(canonical)[:max_words]
    return _strip_noise(words)


@dataclass(frozen=True)
class _Claim:
    claim_id: str
    text: str
    shingles: array[int]  # unique shingle hashes, typecode 'q'


class ClaimIndex:
    """Inverted index of known claims over word shingles.

    ``threshold`` is the minimum similarity reported. ``shingle_size`` is the number
    of words per shingle. Texts with fewer than ``min_words`` canonical words never
    match (and cannot be added). Shingles shared by more than ``max_postings`` claims
    are ignored when looking for candidates. ``coverage_floor`` is the minimum
    fraction of a claim a message must cover to be compared on its own length.
    """

    def __init__(
        self,
        threshold: float = 0.6,
        shingle_size: int = 2,
        *,
        min_words: int = 4,
        max_postings: int = 1000,
        coverage_floor: float = 0.4,
        max_candidates: int = 32,
        max_words: int = 2000,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if shingle_size < 1:
            raise ValueError(f"shingle_size must be >= 1, got {shingle_size}")
        if min_words < shingle_size:
            raise ValueError(f"min_words ({min_words}) must be >= shingle_size ({shingle_size})")
        if not 0.0 <= coverage_floor <= 1.0:
            raise ValueError(f"coverage_floor must be in [0, 1], got {coverage_floor}")
        self.threshold = threshold
        self.shingle_size = shingle_size
        self.min_words = min_words
        self.max_postings = max_postings
        self.coverage_floor = coverage_floor
        self.max_candidates = max_candidates
        self.max_words = max_words
        self._claims: dict[int, _Claim] = {}
        self._by_id: dict[str, int] = {}
        self._postings: dict[int, list[int]] = {}
        self._next = 0

    # ----------------------------------------------------------------- shingles

    def _shingles(self, text: str) -> set[int] | None:
        words = claim_words(text, self.max_words)
        if len(words) < self.min_words:
            return None
        k = self.shingle_size
        return {hash(" ".join(words[i : i + k])) for i in range(len(words) - k + 1)}

    # ----------------------------------------------------------------- mutation

    def accepts(self, text: str) -> bool:
        """Whether `text` is long enough to be indexed and matched reliably."""
        return self._shingles(text) is not None

    def add(self, claim_id: str, text: str) -> None:
        """Index a confirmed claim; re-adding an id replaces its text."""
        if not isinstance(claim_id, str) or not claim_id:
            raise ValueError(f"claim_id must be a non-empty string, got {claim_id!r}")
        shingles = self._shingles(text)
        if shingles is None:
            raise ValueError(
                f"claim {claim_id!r} is too short to match reliably: "
                f"needs at least {self.min_words} words, got {text!r:.80}"
            )
        if claim_id in self._by_id:
            self.remove(claim_id)
        internal = self._next
        self._next += 1
        self._claims[internal] = _Claim(claim_id, text, array("q", sorted(shingles)))
        self._by_id[claim_id] = internal
        postings = self._postings
        for h in shingles:
            bucket = postings.get(h)
            if bucket is None:
                postings[h] = [internal]
            else:
                bucket.append(internal)

    def remove(self, claim_id: str) -> None:
        """Forget a claim; unknown ids raise KeyError."""
        try:
            internal = self._by_id.pop(claim_id)
        except KeyError:
            raise KeyError(f"unknown claim id {claim_id!r}") from None
        claim = self._claims.pop(internal)
        for h in claim.shingles:
            bucket = self._postings[h]
            bucket.remove(internal)
            if not bucket:
                del self._postings[h]

    # ----------------------------------------------------------------- queries

    def match(self, text: str, limit: int = 3) -> list[ClaimMatch]:
        """Known claims the text repeats, best first, only those >= threshold."""
        if limit <= 0 or not self._claims:
            return []
        query = self._shingles(text)
        if query is None:
            return []
        counts: Counter[int] = Counter()
        postings = self._postings
        cap = self.max_postings
        for h in query:
            bucket = postings.get(h)
            if bucket is not None and len(bucket) <= cap:
                counts.update(bucket)
        if not counts:
            return []
        q_len = len(query)
        results: list[ClaimMatch] = []
        for internal, _ in counts.most_common(self.max_candidates):
            claim = self._claims[internal]
            c_len = len(claim.shingles)
            shared = len(query.intersection(claim.shingles))
            denominator = max(min(q_len, c_len), self.coverage_floor * c_len)
            similarity = shared / denominator
            if similarity >= self.threshold:
                results.append(ClaimMatch(claim.claim_id, round(min(similarity, 1.0), 4)))
        results.sort(key=lambda m: (-m.similarity, m.claim_id))
        return results[:limit]

    def __len__(self) -> int:
        return len(self._claims)

    def __contains__(self, claim_id: object) -> bool:
        return claim_id in self._by_id

    def text_of(self, claim_id: str) -> str:
        """Text the claim was added with."""
        try:
            return self._claims[self._by_id[claim_id]].text
        except KeyError:
            raise KeyError(f"unknown claim id {claim_id!r}") from None

    # ----------------------------------------------------------------- persistence

    def to_records(self) -> list[dict[str, str]]:
        """Claims as plain JSON-able dicts, in insertion order."""
        return [{"claim_id": c.claim_id, "text": c.text} for c in self._claims.values()]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], **params: Any) -> ClaimIndex:
        """Rebuild an index from :meth:`to_records` output; ``params`` go to the constructor."""
        index = cls(**params)
        for row, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise ValueError(
                    f"claim record {row}: expected a mapping, got {type(record).__name__}"
                )
            for field in ("claim_id", "text"):
                if not isinstance(record.get(field), str):
                    raise ValueError(f"claim record {row}: field {field!r} missing or not a string")
            try:
                index.add(record["claim_id"], record["text"])
            except ValueError as exc:
                raise ValueError(f"claim record {row}: {exc}") from None
        return index
