"""Why a message got its score: the few words that drove it, for an officer's glance.

A word's weight is how much `label`'s log-odds would drop without it. botkit's linear
`TextClassifier` gives it at once from its feature contributions (`word_contributions`:
the word's own n-grams and those it takes part in, one featurisation per message). Any
other model with `predict_proba` is explained by occlusion: each word of the normalised
message is left out in turn and scored again (one prediction per word). Adjacent strong
words are joined into one phrase. Masked values (phone numbers, money, links, bank
accounts) are named by kind, never by value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from classifiers.normalize import BANK_ACCOUNT, MONEY, PHONE, URL, normalize

MAX_WORDS: Final = 30  # a message's head (a hoax or a lure shows itself early); occlusion's
# cost grows with the square of the words, and explanations run for every flagged message
# Shown instead of the masked value: what kind of thing it is.
TOKEN_NAMES: Final = {
    URL: "đường link",
    PHONE: "số điện thoại",
    MONEY: "số tiền",
    BANK_ACCOUNT: "số tài khoản",
}


@dataclass(frozen=True, slots=True)
class Cue:
    phrase: str
    weight: float  # drop in the label's log-odds without it


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p) - np.log1p(-p))


def explain(model: Any, text: str, label: str, limit: int = 3) -> tuple[Cue, ...]:
    """The `limit` phrases whose removal lowers `label`'s score most (positive drops only)."""
    return explain_many(model, [(text, label)], limit)[0]


def explain_many(
    model: Any, items: Sequence[tuple[str, str]], limit: int = 3
) -> list[tuple[Cue, ...]]:
    """`explain` for several (text, label) pairs (occlusion: one `predict_proba` for all)."""
    classes = [str(c) for c in model.classes_]
    contributions = getattr(model, "word_contributions", None)
    out: list[tuple[Cue, ...] | None] = []
    plans: list[tuple[int, list[str], int, int]] = []
    variants: list[str] = []
    for text, label in items:
        words = [w for w in (_bare(w) for w in normalize(text).text.split()) if w][:MAX_WORDS]
        if label not in classes or len(words) < 2:
            out.append(())
            continue
        drops = contributions(words, label) if contributions is not None else None
        if drops is not None:
            out.append(_phrases(words, drops, limit))
            continue
        plans.append((len(out), words, classes.index(label), len(variants)))
        out.append(None)
        variants.append(" ".join(words))
        variants += [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
    if variants:
        proba = model.predict_proba(variants)
        for at, words, column, start in plans:
            odds = _log_odds(proba[start : start + len(words) + 1, column])
            out[at] = _phrases(words, odds[0] - odds[1:], limit)
    return [cues if cues is not None else () for cues in out]


def _bare(word: str) -> str:
    """A word without the punctuation stuck to it ("gấp:" → "gấp"); tokens stay whole."""
    return word if word in TOKEN_NAMES else word.strip(".,:;!?\"'()[]{}…-–—*#")


def _phrases(words: Sequence[str], drops: np.ndarray, limit: int) -> tuple[Cue, ...]:
    strong = drops > max(0.05, 0.25 * float(drops.max(initial=0.0)))
    cues: list[Cue] = []
    i = 0
    while i < len(words):
        if not strong[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(words) and strong[j + 1] and j - i < 3:
            j += 1
        phrase = " ".join(TOKEN_NAMES.get(w, w) for w in words[i : j + 1])
        cues.append(Cue(phrase, float(drops[i : j + 1].sum())))
        i = j + 1
    cues.sort(key=lambda c: -c.weight)
    unique = {c.phrase: c for c in reversed(cues)}  # the strongest of repeats wins
    return tuple(sorted(unique.values(), key=lambda c: -c.weight)[:limit])
