"""A bounded hyper-parameter search for a new dataset (`botkit train --search`).

A small grid of the settings that mattered across datasets (regularisation, the
naive-Bayes scaling, the character n-gram range), each scored by stratified k-fold
macro-F1 on the training data only. The default settings are scored first, so a search
cut short by its time budget still returns the best of what it tried, never worse than
the default as measured.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from classifiers.model import TextClassifier, shared_views

GRID: Final[dict[str, tuple[Any, ...]]] = {
    "C": (3.0, 10.0, 30.0),
    "nb_scaling": (False, True),
    "char_ngram_range": ((1, 4), (2, 5)),
}
FOLDS: Final = 3


@dataclass(frozen=True)
class Trial:
    params: dict[str, Any]
    macro_f1: float
    seconds: float


@dataclass(frozen=True)
class SearchResult:
    best: Trial
    trials: tuple[Trial, ...]
    complete: bool  # False: the budget ran out before the grid did


def _candidates(base: dict[str, Any]) -> list[dict[str, Any]]:
    first = {k: base[k] for k in GRID}
    grid = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    return [first] + [g for g in grid if g != first]


def search(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    base: dict[str, Any] | None = None,
    budget_seconds: float = 600.0,
    folds: int = FOLDS,
    progress: Callable[[int, int], None] | None = None,
) -> SearchResult:
    base_params = dict(TextClassifier().get_params())
    base_params.update(base or {})
    y = np.asarray(labels)
    smallest = min(np.unique(y, return_counts=True)[1])
    k = max(2, min(folds, int(smallest)))
    splits = list(StratifiedKFold(k, shuffle=True, random_state=0).split(texts, y))
    candidates = _candidates(base_params)
    with shared_views():
        return _run(texts, y, base_params, candidates, splits, budget_seconds, progress)


def _run(
    texts: Sequence[str],
    y: np.ndarray,
    base_params: dict[str, Any],
    candidates: list[dict[str, Any]],
    splits: list[tuple[np.ndarray, np.ndarray]],
    budget_seconds: float,
    progress: Callable[[int, int], None] | None,
) -> SearchResult:
    trials: list[Trial] = []
    started = time.perf_counter()
    for n, change in enumerate(candidates):
        if trials and time.perf_counter() - started > budget_seconds:
            break
        params = {**base_params, **change}
        t0 = time.perf_counter()
        scores = []
        for train_idx, test_idx in splits:
            model = TextClassifier(**params).fit(
                [texts[i] for i in train_idx], y[train_idx].tolist()
            )
            pred = model.predict([texts[i] for i in test_idx])
            scores.append(f1_score(y[test_idx], pred, average="macro"))
        trials.append(Trial(change, float(np.mean(scores)), time.perf_counter() - t0))
        if progress is not None:
            progress(n + 1, len(candidates))
    best = max(trials, key=lambda t: t.macro_f1)
    return SearchResult(best, tuple(trials), len(trials) == len(candidates))
