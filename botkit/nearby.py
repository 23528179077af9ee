"""Reworded forwards of an open hoax join its incident before any officer confirms it.

A hoax is rarely forwarded verbatim: people add "CHIA SẺ GẤP", strip the diacritics,
shorten it, put their own comment around it. The exact content key then differs, and
without this each rewording would page an officer again. Recent hoaxes' canonical texts
are kept in a word index (the matcher of confirmed claims, on single words: re-posts
reorder and reword, so word pairs rarely survive); a new hoax whose words are mostly
those of one seen within the grouping window takes that one's content key, so the engine
finds the open incident. `bench/bench_near_duplicates.py` measures the threshold on
re-posts and on different stories about the same topic or place. Only hoax categories are
folded (`fake_news`, or those with `hoax = true`): two different thefts told in similar
words are two cases, two forwards of one rumour are one.

The index is in memory: after a restart it is warmed from the store's open incidents, and
on a fleet each worker folds what it saw (a rewording handled by another worker is folded
there, or opens a second incident when that worker never saw the first).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from botkit.domain import Flag
from classifiers.claims import ClaimIndex

_EXPIRE_EVERY: Final = timedelta(minutes=1)


class RecentHoaxes:
    def __init__(
        self, threshold: float, window: timedelta, categories: frozenset[str] = frozenset()
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.categories = categories
        self._index = word_index(threshold)
        self._last_seen: dict[str, datetime] = {}
        self._expired_at: datetime | None = None
        self.folded = 0

    def configure(self, threshold: float, window: timedelta, categories: frozenset[str]) -> None:
        """A reload: same texts, new settings."""
        self.categories = categories
        if threshold != self.threshold:
            texts = {k: self._index.text_of(k) for k in self._last_seen}
            self._index = word_index(threshold)
            for key, text in texts.items():
                self._index.add(key, text)
        self.threshold = threshold
        self.window = window

    def __len__(self) -> int:
        return len(self._last_seen)

    def remember(self, content_key: str, text: str, seen_at: datetime) -> None:
        if content_key in self._last_seen or not self._index.accepts(text):
            return
        self._index.add(content_key, text)
        self._last_seen[content_key] = seen_at

    def fold(self, flag: Flag, now: datetime) -> Flag:
        """The flag with the content key of a recent similar hoax, or as it was."""
        if flag.category not in self.categories or flag.verdict.claim_id is not None:
            return flag
        self._expire(now)
        text = flag.canonical_excerpt
        if not self._index.accepts(text):
            return flag
        if flag.content_key not in self._last_seen:
            found = self._index.match(text, limit=1)
            if found:
                self.folded += 1
                flag = replace(flag, content_key=found[0].claim_id)
            else:
                self._index.add(flag.content_key, text)
        self._last_seen[flag.content_key] = now
        return flag

    def _expire(self, now: datetime) -> None:
        if self._expired_at is not None and now - self._expired_at < _EXPIRE_EVERY:
            return
        self._expired_at = now
        cutoff = now - self.window
        for key in [k for k, seen in self._last_seen.items() if seen < cutoff]:
            del self._last_seen[key]
            self._index.remove(key)


def word_index(threshold: float) -> ClaimIndex:
    return ClaimIndex(threshold=threshold, shingle_size=1, min_words=4)
