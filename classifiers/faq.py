"""Which known question a resident's question is, or none.

Each entry brings a title, keywords and example questions. A logistic regression over word
and character n-grams of the canonical text (diacritics folded, teencode expanded) learns
the entries from their examples; a question gets the most probable entry when that
probability reaches the threshold, or half of it when the question also contains one of
the entry's keywords. Otherwise none: a question nobody wrote an answer for goes to a
person instead of getting a wrong answer.

Chosen by measurement (`bench/bench_answers.py`) on residents' questions written by an
author blind to the knowledge file: nearest-example cosine similarity answered half of the
questions no entry covers at the accuracy this reaches; the regression halves that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from classifiers.normalize import canonical_text

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# Chosen on the development set (tests/data/procedures/dev.csv); the held-out set only
# measures it. An admin can override it in the config.
DEFAULT_THRESHOLD = 0.4
_C = 10.0


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    title: str
    keywords: tuple[str, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FaqMatch:
    id: str
    score: float  # the entry's probability
    keyword: bool = False  # the question names one of the entry's keywords


class FaqMatcher:
    """Fit at construction (under a second for a few hundred examples); then read-only, so
    one instance may serve several threads."""

    def __init__(self, entries: Sequence[FaqEntry], threshold: float = DEFAULT_THRESHOLD) -> None:
        if len({e.id for e in entries}) < 2:
            raise ValueError("at least two entries are needed to tell questions apart")
        self.threshold = threshold
        texts: list[str] = []
        labels: list[str] = []
        for entry in entries:
            for example in (entry.title, *entry.keywords, *entry.questions):
                texts.append(canonical_text(example))
                labels.append(entry.id)
        self._keywords = {
            e.id: tuple(f" {canonical_text(k)} " for k in e.keywords if k.strip()) for e in entries
        }
        # Imported here: reading a knowledge file (check-config, every start) must not wait
        # a second and a half for scikit-learn.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        self._model: Pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
            LogisticRegression(C=_C, max_iter=3000),
        )
        self._model.fit(texts, labels)
        self._classes = [str(c) for c in self._model.classes_]

    def best(self, texts: Sequence[str]) -> list[FaqMatch]:
        """Each text's most probable entry, whatever the threshold."""
        if not texts:
            return []
        canonical = [canonical_text(t) for t in texts]
        probs = self._model.predict_proba(canonical)
        found = []
        for text, row in zip(canonical, probs, strict=True):
            top = int(np.argmax(row))
            entry = self._classes[top]
            padded = f" {text} "
            keyword = any(k in padded for k in self._keywords.get(entry, ()))
            found.append(FaqMatch(entry, float(row[top]), keyword))
        return found

    def accepts(self, match: FaqMatch) -> bool:
        return match.score >= self.threshold or (
            match.keyword and match.score >= self.threshold / 2
        )

    def match(self, texts: Sequence[str]) -> list[FaqMatch | None]:
        """Each text's entry, or None when no entry is likely enough."""
        return [m if self.accepts(m) else None for m in self.best(texts)]
